"""Settling one reservation: a single ``TransactWriteItems``, exactly once, provenance optional.

The transaction (1) adds ``actual - held`` to the month and the hold's day and removes the hold,
on condition the hold exists; (2) puts the ledger item, on condition it does not exist yet; (3) puts
the provenance record. Cancellation reasons decide what happens next:

* hold gone and ledger item present: settled before (a retry or redelivery), nothing is charged;
* hold gone and no ledger item: the hold expired and was released by someone else, so the real cost
  is charged in full (still guarded by the ledger item's condition);
* only the provenance put failed (too large, invalid, missing table): retried without it;
* transaction conflicts: retried after a short jittered pause.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from modelrouter.accounting.dynamo import client_error_code, store_error
from modelrouter.accounting.errors import BudgetStoreUnavailableError
from modelrouter.accounting.holds import item_key
from modelrouter.accounting.periods import ledger_prefix, month_expiry
from modelrouter.accounting.records import Reservation, SettleOutcome, dynamo_number, to_dynamo_item, usd

if TYPE_CHECKING:
    from modelrouter.accounting.store import BudgetStore

__all__ = ["Settlement", "ledger_sort_key"]

_log = logging.getLogger(__name__)

_CANCELED = "TransactionCanceledException"
_FAILED = "ConditionalCheckFailed"
_PROVENANCE_CODES = frozenset({"ValidationException", "ResourceNotFoundException"})
_PASSTHROUGH = frozenset({_CANCELED, "TransactionConflictException", *_PROVENANCE_CODES})
_ATTEMPTS = 5


def ledger_sort_key(reservation: Reservation) -> str:
    """Sort key of the reservation's ledger item: ``ledger#YYYY-MM#<request id>``."""
    return f"{ledger_prefix(reservation.month_key.removeprefix('budget#'))}{reservation.request_id}"


class Settlement:
    """One settle call of :meth:`BudgetStore.settle <modelrouter.accounting.store.BudgetStore.settle>`."""

    def __init__(self, store: BudgetStore, reservation: Reservation, actual: Decimal, now: datetime) -> None:
        self.store = store
        """The store whose table holds the budget and ledger items."""
        self.reservation = reservation
        """The hold being settled."""
        self.actual = actual
        """The request's real cost (nano-dollar Decimal)."""
        self.held = usd(reservation.amount_usd)
        """The amount held."""
        self.now = now
        """Settlement time (UTC)."""

    def run(
        self, ledger: dict[str, Any], provenance_item: dict[str, Any] | None, provenance_table: str | None
    ) -> SettleOutcome:
        """Settle, returning what was charged and whether the provenance record was stored."""
        provenance = self._provenance(provenance_item, provenance_table)
        with_hold = True
        for attempt in range(_ATTEMPTS):
            items = [self._budget_update(with_hold), self._ledger_put(ledger)]
            if provenance is not None:
                items.append(provenance)
            try:
                self.store.call("transact_write_items", _PASSTHROUGH, TransactItems=items)
                return SettleOutcome(float(self.actual), provenance is not None, already_settled=False)
            except Exception as error:
                code = client_error_code(error)
                if code is None:
                    raise
                failure = error
            reasons = [
                str(r.get("Code", "None"))
                for r in getattr(failure, "response", {}).get("CancellationReasons") or []
            ]
            if code == _CANCELED and _FAILED in reasons[:2]:
                if self._ledger_exists():
                    if with_hold and reasons[0] != _FAILED:
                        self._release_quietly()
                    return SettleOutcome(0.0, provenance_written=False, already_settled=True)
                with_hold = with_hold and reasons[0] != _FAILED
                continue
            if provenance is not None and (
                code in _PROVENANCE_CODES
                or (code == _CANCELED and reasons[2:3] not in (["None"], ["TransactionConflict"], []))
            ):
                _log.warning(
                    "provenance put failed (%s); settling request %s without it",
                    code,
                    self.reservation.request_id,
                )
                provenance = None
                continue
            if code in {_CANCELED, "TransactionConflictException"}:
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                continue
            raise store_error(failure, self.store.table_name) or failure
        raise BudgetStoreUnavailableError(
            f"could not settle request {self.reservation.request_id} of tenant {self.reservation.tenant_id}"
        )

    def _budget_update(self, with_hold: bool) -> dict[str, Any]:
        reservation = self.reservation
        update: dict[str, Any] = {
            "TableName": self.store.table_name,
            "Key": item_key(reservation.tenant_id, reservation.month_key),
            "UpdateExpression": "ADD month_usd :delta, #day :delta",
            "ExpressionAttributeNames": {"#day": reservation.day_attribute},
            "ExpressionAttributeValues": {":delta": dynamo_number(self.actual - self.held)},
        }
        if with_hold:
            update["UpdateExpression"] += " REMOVE #hold"
            update["ConditionExpression"] = "attribute_exists(#hold)"
            update["ExpressionAttributeNames"]["#hold"] = reservation.hold_attribute
        else:
            update["ExpressionAttributeValues"][":delta"] = dynamo_number(self.actual)
        return {"Update": update}

    def _ledger_put(self, ledger: dict[str, Any]) -> dict[str, Any]:
        reservation = self.reservation
        year, month = reservation.month_key.removeprefix("budget#").split("-")
        item: dict[str, Any] = {
            str(name): {"S": str(value)} for name, value in ledger.items() if value is not None
        }
        item.update(
            item_key(reservation.tenant_id, ledger_sort_key(reservation)),
            tenant_id={"S": reservation.tenant_id},
            request_id={"S": reservation.request_id},
            actual_usd=dynamo_number(self.actual),
            reserved_usd=dynamo_number(self.held),
            settled_at={"S": self.now.isoformat(timespec="milliseconds")},
            expires_at=dynamo_number(month_expiry(datetime(int(year), int(month), 1, tzinfo=UTC))),
        )
        return {
            "Put": {
                "TableName": self.store.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }

    def _provenance(self, record: dict[str, Any] | None, table: str | None) -> dict[str, Any] | None:
        if record is None or not table:
            return None
        try:
            return {"Put": {"TableName": table, "Item": to_dynamo_item(record)}}
        except (TypeError, ValueError) as error:
            _log.warning("provenance record of %s is not storable: %s", self.reservation.request_id, error)
            return None

    def _ledger_exists(self) -> bool:
        reservation = self.reservation
        found = self.store.call(
            "get_item",
            TableName=self.store.table_name,
            Key=item_key(reservation.tenant_id, ledger_sort_key(reservation)),
            ConsistentRead=True,
            ProjectionExpression="sk",
        )
        return "Item" in found

    def _release_quietly(self) -> None:
        self.store.release(self.reservation)  # best effort: never raises for store failures
