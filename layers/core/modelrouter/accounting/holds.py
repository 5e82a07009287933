"""Pure pieces of a reservation: the conditional hold update, and reading a refused budget item.

Nothing here talks to DynamoDB; :mod:`modelrouter.accounting.store` sends what these build.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from modelrouter.accounting.errors import BudgetExhaustedError
from modelrouter.accounting.periods import month_expiry, seconds_until_next_day, seconds_until_next_month
from modelrouter.accounting.records import Reservation, dynamo_number, format_usd, usd
from modelrouter.policy.tenants import Tenant

__all__ = [
    "existing_reservation",
    "expired_holds",
    "hold_update",
    "item_key",
    "limits_of",
    "number",
    "refusal",
]


def number(item: dict[str, Any], name: str) -> Decimal:
    """Number attribute ``name`` of a low-level item (0 when absent)."""
    value = item.get(name)
    return Decimal(value["N"]) if isinstance(value, dict) and "N" in value else Decimal(0)


def item_key(tenant_id: str, sort_key: str) -> dict[str, Any]:
    """The low-level key of one of a tenant's items."""
    return {"pk": {"S": f"tenant#{tenant_id}"}, "sk": {"S": sort_key}}


def limits_of(tenant: Tenant) -> dict[str, Decimal]:
    """The tenant's limits that exist, by period (``daily``, ``monthly``)."""
    limits = {"daily": tenant.budget.daily_usd, "monthly": tenant.budget.monthly_usd}
    return {period: usd(limit) for period, limit in limits.items() if limit is not None}


def hold_update(
    table: str, reservation: Reservation, amount: Decimal, limits: dict[str, Decimal], now: datetime
) -> dict[str, Any]:
    """The ``UpdateItem`` arguments that add ``amount`` and record the hold only if every limit has room."""
    conditions = ["attribute_not_exists(#hold)"]
    values: dict[str, Any] = {
        ":amount": dynamo_number(amount),
        ":ttl": dynamo_number(month_expiry(now)),
        ":hold": {
            "M": {
                "amount": dynamo_number(amount),
                "day": {"S": reservation.day_attribute},
                "expires_at": dynamo_number(reservation.expires_at),
            }
        },
    }
    if "daily" in limits:
        conditions.append("(attribute_not_exists(#day) OR #day <= :day_room)")
        values[":day_room"] = dynamo_number(limits["daily"] - amount)
    if "monthly" in limits:
        conditions.append("(attribute_not_exists(month_usd) OR month_usd <= :month_room)")
        values[":month_room"] = dynamo_number(limits["monthly"] - amount)
    return {
        "TableName": table,
        "Key": item_key(reservation.tenant_id, reservation.month_key),
        "UpdateExpression": "ADD month_usd :amount, #day :amount SET #hold = :hold, expires_at = :ttl",
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": {"#day": reservation.day_attribute, "#hold": reservation.hold_attribute},
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def existing_reservation(reservation: Reservation, item: dict[str, Any]) -> Reservation | None:
    """The reservation already recorded in ``item`` for the same request id, if there is one."""
    held = item.get(reservation.hold_attribute, {}).get("M")
    if held is None:
        return None
    return Reservation(
        tenant_id=reservation.tenant_id,
        request_id=reservation.request_id,
        amount_usd=float(number(held, "amount")),
        month_key=reservation.month_key,
        day_attribute=held.get("day", {}).get("S", reservation.day_attribute),
        hold_attribute=reservation.hold_attribute,
        expires_at=int(number(held, "expires_at")),
    )


def expired_holds(item: dict[str, Any], now: datetime) -> dict[str, dict[str, Any]]:
    """The holds of ``item`` whose ``expires_at`` has passed, by attribute name."""
    epoch = int(now.timestamp())
    return {
        name: value
        for name, value in item.items()
        if name.startswith("hold_") and "M" in value and number(value["M"], "expires_at") <= epoch
    }


def refusal(
    tenant: Tenant,
    reservation: Reservation,
    amount: Decimal,
    *,
    item: dict[str, Any] | None,
    limits: dict[str, Decimal],
    now: datetime,
) -> BudgetExhaustedError | None:
    """The error for a hold of ``amount`` that does not fit the budget ``item``, else None.

    ``item`` None means the committed amounts are unknown (counted as 0, not quoted). The monthly
    limit is reported first when both are exceeded: it is the longer wait.
    """
    known = item if item is not None else {}
    committed = {"daily": number(known, reservation.day_attribute), "monthly": number(known, "month_usd")}
    for period in ("monthly", "daily"):
        limit = limits.get(period)
        if limit is None or committed[period] + amount <= limit:
            continue
        wait = seconds_until_next_month(now) if period == "monthly" else seconds_until_next_day(now)
        spent = f"{format_usd(committed[period])} committed, " if item is not None else ""
        message = (
            f"tenant {tenant.id}'s {period} budget of {format_usd(limit)} would be exceeded: "
            f"{spent}this request may cost up to {format_usd(amount)}"
        )
        return BudgetExhaustedError(message, wait, tenant_id=tenant.id, period=period)
    return None
