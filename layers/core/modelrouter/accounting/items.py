"""The items of the budget table and the transaction parts that change them (pure: no AWS calls).

Per tenant (``pk = tenant#<id>``) the table holds:

* one month item, ``sk = budget#YYYY-MM``: ``month_nano_usd`` (everything committed this month,
  charges and open holds) and ``day_DD_nano_usd`` per UTC day, as whole nano-dollars;
* one hold item per open hold, ``sk = hold#<request id>``: ``amount_usd``, the ``month`` item and
  ``day`` attribute it is counted in, ``hold_until`` (when it may be returned as abandoned) and, once
  a settlement could not be written, ``charge_usd`` and the ``ledger`` fields to charge it with;
* one ledger item per settled request, ``sk = ledger#YYYY-MM#<request id>``: ``actual_usd``, the
  settlement's ``ledger`` fields (route, model, outcome) and the ``day`` attribute its charge counts in.

Every item has the table's TTL attribute ``expires_at``, ``RETENTION_DAYS`` after its month ends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from modelrouter.accounting.periods import MONTH_ATTRIBUTE, ledger_prefix, month_expiry
from modelrouter.accounting.records import Reservation, dynamo_number, nano, parse_number

__all__ = [
    "charge_mark",
    "hold_delete",
    "hold_put",
    "item_key",
    "ledger_put",
    "ledger_sort_key",
    "month_ttl",
    "number",
    "reservation_from_item",
    "totals_update",
]


def number(item: dict[str, Any], name: str) -> Decimal:
    """Number attribute ``name`` of a low-level item, in any notation (0 when absent)."""
    value = item.get(name)
    return parse_number(value["N"]) if isinstance(value, dict) and "N" in value else Decimal(0)


def item_key(tenant_id: str, sort_key: str) -> dict[str, Any]:
    """The low-level key of one of a tenant's items."""
    return {"pk": {"S": f"tenant#{tenant_id}"}, "sk": {"S": sort_key}}


def month_ttl(month_key: str) -> int:
    """TTL (epoch seconds) of the items of month item ``budget#YYYY-MM``."""
    year, month = month_key.removeprefix("budget#").split("-")
    return month_expiry(datetime(int(year), int(month), 1, tzinfo=UTC))


def ledger_sort_key(month_key: str, request_id: str) -> str:
    """Sort key of a request's ledger item: ``ledger#YYYY-MM#<request id>``."""
    return f"{ledger_prefix(month_key.removeprefix('budget#'))}{request_id}"


def totals_update(
    table: str, reservation: Reservation, delta: Decimal, *, rooms: dict[str, Decimal] | None = None
) -> dict[str, Any]:
    """Transaction part adding ``delta`` USD to the month and day totals the reservation counts in.

    ``rooms`` (``daily``/``monthly`` → the most that may already be committed) makes the update
    conditional: it fails, returning the month item, when a total is above its room.
    """
    tenant_id, month_key, day = reservation.tenant_id, reservation.month_key, reservation.day_attribute
    update: dict[str, Any] = {
        "TableName": table,
        "Key": item_key(tenant_id, month_key),
        "UpdateExpression": "ADD #month :delta, #day :delta SET expires_at = :ttl",
        "ExpressionAttributeNames": {"#month": MONTH_ATTRIBUTE, "#day": day},
        "ExpressionAttributeValues": {
            ":delta": dynamo_number(nano(delta)),
            ":ttl": dynamo_number(month_ttl(month_key)),
        },
    }
    conditions = []
    for period, name in (("daily", "#day"), ("monthly", "#month")):
        if rooms is not None and period in rooms:
            conditions.append(f"(attribute_not_exists({name}) OR {name} <= :{period}_room)")
            update["ExpressionAttributeValues"][f":{period}_room"] = dynamo_number(nano(rooms[period]))
    if conditions:
        update["ConditionExpression"] = " AND ".join(conditions)
        update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Update": update}


def hold_put(table: str, reservation: Reservation, amount: Decimal) -> dict[str, Any]:
    """Transaction part creating the hold item of ``reservation``, only if the request has none yet."""
    item = {
        **item_key(reservation.tenant_id, reservation.hold_key),
        "tenant_id": {"S": reservation.tenant_id},
        "request_id": {"S": reservation.request_id},
        "amount_usd": dynamo_number(amount),
        "month": {"S": reservation.month_key},
        "day": {"S": reservation.day_attribute},
        "hold_until": dynamo_number(reservation.expires_at),
        "expires_at": dynamo_number(month_ttl(reservation.month_key)),
    }
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(sk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def hold_delete(
    table: str, tenant_id: str, hold_key: str, *, amount: Decimal | None = None, uncharged: bool = False
) -> dict[str, Any]:
    """Transaction part deleting a hold item, on condition it exists.

    ``amount`` also requires the hold to be of that amount; ``uncharged`` requires it to carry no
    ``charge_usd`` (a hold marked for charging must never be given back).
    """
    conditions = ["attribute_exists(sk)"]
    values: dict[str, Any] = {}
    if amount is not None:
        conditions.append("amount_usd = :amount")
        values[":amount"] = dynamo_number(amount)
    if uncharged:
        conditions.append("attribute_not_exists(charge_usd)")
    delete: dict[str, Any] = {
        "TableName": table,
        "Key": item_key(tenant_id, hold_key),
        "ConditionExpression": " AND ".join(conditions),
    }
    if values:
        delete["ExpressionAttributeValues"] = values
    return {"Delete": delete}


def ledger_put(
    table: str,
    reservation: Reservation,
    ledger: dict[str, Any],
    *,
    actual: Decimal,
    held: Decimal,
    now: datetime,
) -> dict[str, Any]:
    """Transaction part creating the request's ledger item, only if it does not exist yet."""
    item: dict[str, Any] = {
        str(name): {"S": str(value)} for name, value in ledger.items() if value is not None
    }
    item.update(
        item_key(reservation.tenant_id, ledger_sort_key(reservation.month_key, reservation.request_id)),
        tenant_id={"S": reservation.tenant_id},
        request_id={"S": reservation.request_id},
        day={"S": reservation.day_attribute},  # the day its charge is counted in (usage by day)
        actual_usd=dynamo_number(actual),
        reserved_usd=dynamo_number(held),
        overage_usd=dynamo_number(max(Decimal(0), actual - held)),
        settled_at={"S": now.isoformat(timespec="milliseconds")},
        expires_at=dynamo_number(month_ttl(reservation.month_key)),
    )
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(sk)"}}


def charge_mark(
    table: str, reservation: Reservation, actual: Decimal, ledger: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """``UpdateItem`` arguments recording on the hold item that ``actual`` must be charged.

    Marks the hold as due now, so the next sweep charges it. When the hold is already gone, this
    creates a hold item of amount 0 carrying the charge (the ledger condition still makes it once).
    """
    fields = {str(name): {"S": str(value)} for name, value in ledger.items() if value is not None}
    return {
        "TableName": table,
        "Key": item_key(reservation.tenant_id, reservation.hold_key),
        "UpdateExpression": (
            "SET charge_usd = :charge, ledger = :ledger, hold_until = :now,"
            " tenant_id = :tenant, request_id = :request,"
            " amount_usd = if_not_exists(amount_usd, :zero), #month = if_not_exists(#month, :month),"
            " #day = if_not_exists(#day, :day), expires_at = if_not_exists(expires_at, :ttl)"
        ),
        "ExpressionAttributeNames": {"#month": "month", "#day": "day"},
        "ExpressionAttributeValues": {
            ":charge": dynamo_number(actual),
            ":ledger": {"M": fields},
            ":now": dynamo_number(int(now.timestamp())),
            ":tenant": {"S": reservation.tenant_id},
            ":request": {"S": reservation.request_id},
            ":zero": dynamo_number(0),
            ":month": {"S": reservation.month_key},
            ":day": {"S": reservation.day_attribute},
            ":ttl": dynamo_number(month_ttl(reservation.month_key)),
        },
    }


def reservation_from_item(item: dict[str, Any]) -> Reservation:
    """The reservation a hold item records."""
    return Reservation(
        tenant_id=item["tenant_id"]["S"],
        request_id=item["request_id"]["S"],
        amount_usd=float(number(item, "amount_usd")),
        month_key=item["month"]["S"],
        day_attribute=item["day"]["S"],
        hold_key=item["sk"]["S"],
        expires_at=int(number(item, "hold_until")),
    )
