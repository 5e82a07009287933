"""Per-tenant budgets in DynamoDB that hold under concurrency: reserve, settle exactly once, release.

One item per tenant and UTC month (``pk = tenant#<id>``, ``sk = budget#YYYY-MM``) holds
``month_usd`` (everything committed: charges and open holds), ``day_DD_usd`` per UTC day, and one map
attribute per open hold, ``hold_<request id> = {amount, day, expires_at}``. A reservation is one
conditional ``UpdateItem`` that adds the amount and records the hold only if every limit still has
room, so concurrent containers can never overspend together. Settlement is one ``TransactWriteItems``
(adjust to the real cost and drop the hold, put the ledger item, put the provenance record), made
exactly-once by the hold's existence and the ledger item's ``attribute_not_exists`` condition.

A hold whose ``expires_at`` has passed (its container died mid-request) is released lazily by the
next reservation the limit refuses. If such a request settles late anyway, it finds its hold gone and
no ledger item, and is charged its real cost in full.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from modelrouter.accounting.dynamo import client_error_code, dynamodb_client, store_error
from modelrouter.accounting.errors import BudgetStoreError, BudgetStoreUnavailableError
from modelrouter.accounting.holds import (
    existing_reservation,
    expired_holds,
    hold_update,
    item_key,
    limits_of,
    number,
    refusal,
)
from modelrouter.accounting.periods import budget_sort_key, day_attribute, ledger_prefix, to_utc
from modelrouter.accounting.records import Reservation, SettleOutcome, dynamo_number, hold_attribute, usd
from modelrouter.accounting.settlement import Settlement
from modelrouter.policy.tenants import Tenant

__all__ = ["BudgetStore"]

_log = logging.getLogger(__name__)

_CONDITION_FAILED = "ConditionalCheckFailedException"
_CONFLICT = "TransactionConflictException"
_ATTEMPTS = 4


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BudgetStore:
    """The budget ledger of :class:`~modelrouter.service.RouterService`, on the ``BudgetTable``."""

    def __init__(
        self,
        table_name: str,
        client: Any = None,
        *,
        now: Callable[[], datetime] = _utc_now,
        hold_seconds: int = 900,
    ) -> None:
        self.table_name = table_name
        """Name of the DynamoDB budget table (keys ``pk``/``sk``, TTL ``expires_at``)."""
        self.hold_seconds = hold_seconds
        """How long a hold lasts before anyone may release it as abandoned."""
        self._client = client
        self._now = now
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The DynamoDB client (created on first use, once per store)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = dynamodb_client()
        return self._client

    def call(self, operation: str, passthrough: frozenset[str] = frozenset(), **arguments: Any) -> Any:
        """Run a client ``operation``; errors other than ``passthrough`` codes become budget store errors."""
        try:
            return getattr(self.client, operation)(**arguments)
        except Exception as error:
            if client_error_code(error) in passthrough:
                raise
            mapped = store_error(error, self.table_name)
            if mapped is None:
                raise
            raise mapped from error

    def reserve(self, tenant: Tenant, amount_usd: float, request_id: str) -> Reservation:
        """Hold ``amount_usd`` of ``tenant``'s budget for ``request_id`` (idempotent per request id).

        Raises :class:`BudgetExhaustedError` when the hold would take the tenant past a limit, and
        :class:`BudgetStoreUnavailableError` when the table cannot be used.
        """
        now = to_utc(self._now())
        amount = usd(amount_usd, round_up=True)
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount ({amount_usd})")
        reservation = Reservation(
            tenant_id=tenant.id,
            request_id=request_id,
            amount_usd=float(amount),
            month_key=budget_sort_key(now),
            day_attribute=day_attribute(now),
            hold_attribute=hold_attribute(request_id),
            expires_at=int(now.timestamp()) + self.hold_seconds,
        )
        limits = limits_of(tenant)
        too_big = refusal(tenant, reservation, amount, item=None, limits=limits, now=now)
        if too_big is not None:
            raise too_big
        cleaned = False
        for attempt in range(_ATTEMPTS):
            update = hold_update(self.table_name, reservation, amount, limits, now)
            try:
                self.call("update_item", frozenset({_CONDITION_FAILED, _CONFLICT}), **update)
                return reservation
            except Exception as error:
                code = client_error_code(error)
                if code == _CONFLICT:  # a settlement transaction is writing the item right now
                    time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                    continue
                if code != _CONDITION_FAILED:
                    raise
                item = getattr(error, "response", {}).get("Item") or self._item(
                    tenant.id, reservation.month_key
                )
            existing = existing_reservation(reservation, item)
            if existing is not None:
                return existing
            expired = expired_holds(item, now)
            if expired and not cleaned:
                cleaned = True
                for name, hold in expired.items():
                    self.release_hold(tenant.id, reservation.month_key, name, hold)
                    _log.warning("released abandoned budget hold %s of tenant %s", name, tenant.id)
                continue
            refused = refusal(tenant, reservation, amount, item=item, limits=limits, now=now)
            if refused is not None:
                raise refused
        raise BudgetStoreUnavailableError(f"budget of tenant {tenant.id} is under contention; try again")

    def settle(
        self,
        reservation: Reservation,
        actual_usd: float,
        ledger: dict[str, Any],
        provenance_item: dict[str, Any] | None,
        provenance_table: str | None,
    ) -> SettleOutcome:
        """Charge ``actual_usd`` instead of the hold, write the ledger and provenance, exactly once.

        A repeated call for the same reservation returns ``already_settled=True`` and charges nothing.
        If only the provenance record cannot be stored (too large, invalid, missing table), the charge
        and ledger are written without it and ``provenance_written`` is False.
        """
        return Settlement(self, reservation, usd(actual_usd), to_utc(self._now())).run(
            ledger, provenance_item, provenance_table
        )

    def release(self, reservation: Reservation) -> None:
        """Give the hold back uncharged, best effort: it never raises for store failures.

        A hold already settled or released is left alone. When the table cannot be used the failure
        is logged and the hold stays until ``hold_seconds`` pass; a later reservation then releases it.
        """
        hold = {
            "M": {
                "amount": dynamo_number(usd(reservation.amount_usd)),
                "day": {"S": reservation.day_attribute},
            }
        }
        try:
            self.release_hold(reservation.tenant_id, reservation.month_key, reservation.hold_attribute, hold)
        except BudgetStoreError as error:
            _log.warning("could not release the hold of request %s: %s", reservation.request_id, error)

    def release_hold(self, tenant_id: str, month_key: str, name: str, hold: dict[str, Any]) -> bool:
        """Remove hold attribute ``name`` and subtract its amount; False when it was already gone."""
        fields = hold["M"]
        negative = dynamo_number(-number(fields, "amount"))
        try:
            self.call(
                "update_item",
                frozenset({_CONDITION_FAILED}),
                TableName=self.table_name,
                Key=item_key(tenant_id, month_key),
                UpdateExpression="ADD month_usd :neg, #day :neg REMOVE #hold",
                ConditionExpression="attribute_exists(#hold)",
                ExpressionAttributeNames={"#day": fields["day"]["S"], "#hold": name},
                ExpressionAttributeValues={":neg": negative},
            )
        except Exception as error:
            if client_error_code(error) != _CONDITION_FAILED:
                raise
            return False
        return True

    def state(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's current month: committed month and day spend, open holds, ledger total."""
        now = to_utc(self._now())
        month = budget_sort_key(now)
        item = self._item(tenant_id, month)
        holds = [value["M"] for name, value in item.items() if name.startswith("hold_")]
        total, entries = Decimal(0), 0
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"tenant#{tenant_id}"},
                ":prefix": {"S": ledger_prefix(month.removeprefix("budget#"))},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self.call("query", **arguments)
            for entry in page.get("Items", []):
                total += number(entry, "actual_usd")
                entries += 1
            if "LastEvaluatedKey" not in page:
                break
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {
            "tenant_id": tenant_id,
            "month": month.removeprefix("budget#"),
            "month_usd": float(number(item, "month_usd")),
            "day_usd": float(number(item, day_attribute(now))),
            "open_holds": len(holds),
            "held_usd": float(sum((number(hold, "amount") for hold in holds), Decimal(0))),
            "ledger_usd": float(total),
            "ledger_entries": entries,
        }

    def _item(self, tenant_id: str, month_key: str) -> dict[str, Any]:
        found = self.call(
            "get_item", TableName=self.table_name, Key=item_key(tenant_id, month_key), ConsistentRead=True
        )
        item: dict[str, Any] = found.get("Item", {})
        return item
