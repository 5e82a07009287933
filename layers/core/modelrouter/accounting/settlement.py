"""Settling one reservation: a single ``TransactWriteItems`` charging the actual cost, exactly once.

The transaction (1) adds ``actual - held`` to the month and day totals, (2) deletes the hold item on
condition it exists (and is of the amount held), (3) puts the ledger item on condition it does not
exist yet, (4) puts the provenance record. Cancellation reasons decide what happens next:

* ledger item present: settled before (a retry or redelivery), nothing is charged; a hold left over
  by a repeated reservation of the same request is given back;
* hold gone and no ledger item: the hold expired and was returned, so the actual cost is charged in
  full (still guarded by the ledger item's condition) and all of it is overage;
* only the provenance put failed (too large, invalid, missing table): retried without it;
* conflicts and throttling: retried after a short jittered pause.

The charge is never clamped to the hold: what the provider billed is what the tenant is charged.
When the transaction cannot be written at all, the hold item is marked with ``charge_usd`` (one
``UpdateItem``) before the error is raised, so it is charged, never given back, when it is swept.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from modelrouter.accounting.dynamo import (
    CANCELED,
    CONDITION_FAILED,
    CONFLICT,
    RETRYABLE_REASONS,
    cancellation_codes,
    client_error_code,
    store_error,
)
from modelrouter.accounting.errors import BudgetStoreError, BudgetStoreUnavailableError
from modelrouter.accounting.expiry import give_back
from modelrouter.accounting.items import (
    charge_mark,
    hold_delete,
    item_key,
    ledger_put,
    number,
    totals_update,
)
from modelrouter.accounting.records import Reservation, SettleOutcome, to_dynamo_item, usd

if TYPE_CHECKING:
    from modelrouter.accounting.store import BudgetStore

__all__ = ["Settlement"]

_log = logging.getLogger(__name__)

_PROVENANCE_CODES = frozenset({"ValidationException", "ResourceNotFoundException"})
_PASSTHROUGH = frozenset({CANCELED, CONFLICT, *_PROVENANCE_CODES})
_ATTEMPTS = 6


class Settlement:
    """One settle call of :meth:`BudgetStore.settle <modelrouter.accounting.store.BudgetStore.settle>`."""

    def __init__(self, store: BudgetStore, reservation: Reservation, actual: Decimal, now: datetime) -> None:
        self.store = store
        """The store whose table holds the budget, hold and ledger items."""
        self.reservation = reservation
        """The hold being settled."""
        self.actual = actual
        """The request's actual cost (nano-dollar Decimal), charged in full."""
        self.held: Decimal | None = usd(reservation.amount_usd)
        """The amount of the hold this settlement deletes; None once the hold is known to be gone."""
        self.now = now
        """Settlement time (UTC)."""

    def run(
        self, ledger: dict[str, Any], provenance_item: dict[str, Any] | None, provenance_table: str | None
    ) -> SettleOutcome:
        """Settle, returning what was charged and whether the provenance record was stored."""
        try:
            return self._run(ledger, self._provenance(provenance_item, provenance_table))
        except BudgetStoreError:
            self._mark(ledger)
            raise

    def _run(self, ledger: dict[str, Any], provenance: dict[str, Any] | None) -> SettleOutcome:
        for attempt in range(_ATTEMPTS):
            items = self._items(ledger)
            if provenance is not None:
                items.append(provenance)
            try:
                self.store.call("transact_write_items", _PASSTHROUGH, TransactItems=items)
                held = self.held if self.held is not None else Decimal(0)
                overage = max(Decimal(0), self.actual - held)
                return SettleOutcome(float(self.actual), provenance is not None, False, float(overage))
            except Exception as error:
                code = client_error_code(error)
                if code is None:
                    raise
                failure = error
            codes = cancellation_codes(failure, len(items))
            hold_index, ledger_index = (1, 2) if self.held is not None else (None, 1)
            if code == CANCELED and codes[ledger_index] == CONDITION_FAILED:
                if hold_index is not None and codes[hold_index] != CONDITION_FAILED:
                    # a second hold of an already settled request (reserved again): give it back
                    give_back(self.store, self.reservation, self.held or Decimal(0))
                return SettleOutcome(0.0, provenance_written=False, already_settled=True)
            if code == CANCELED and hold_index is not None and codes[hold_index] == CONDITION_FAILED:
                self.held = self._stored_hold()
                continue
            if provenance is not None and (
                code in _PROVENANCE_CODES
                or (code == CANCELED and codes[-1] not in {"None", *RETRYABLE_REASONS})
            ):
                _log.warning(
                    "provenance put failed (%s); settling request %s without it",
                    code,
                    self.reservation.request_id,
                )
                provenance = None
                continue
            if code == CONFLICT or (code == CANCELED and set(codes) <= {"None", *RETRYABLE_REASONS}):
                self.store.pause(attempt)
                continue
            raise store_error(failure, self.store.table_name) or BudgetStoreError(
                f"could not settle request {self.reservation.request_id}: {code}"
            )
        raise BudgetStoreUnavailableError(
            f"could not settle request {self.reservation.request_id} of tenant {self.reservation.tenant_id}"
        )

    def _items(self, ledger: dict[str, Any]) -> list[dict[str, Any]]:
        reservation, table = self.reservation, self.store.table_name
        held = self.held if self.held is not None else Decimal(0)
        items = [
            totals_update(
                table,
                reservation,
                self.actual - held,
            )
        ]
        if self.held is not None:
            items.append(hold_delete(table, reservation.tenant_id, reservation.hold_key, amount=self.held))
        items.append(ledger_put(table, reservation, ledger, actual=self.actual, held=held, now=self.now))
        return items

    def _stored_hold(self) -> Decimal | None:
        """The amount of the reservation's hold item as stored now, None when it is gone."""
        reservation = self.reservation
        found = self.store.call(
            "get_item",
            TableName=self.store.table_name,
            Key=item_key(reservation.tenant_id, reservation.hold_key),
            ConsistentRead=True,
        ).get("Item")
        return None if found is None else usd(number(found, "amount_usd"))

    def _provenance(self, record: dict[str, Any] | None, table: str | None) -> dict[str, Any] | None:
        if record is None or not table:
            return None
        try:
            return {"Put": {"TableName": table, "Item": to_dynamo_item(record)}}
        except (TypeError, ValueError) as error:
            _log.warning("provenance record of %s is not storable: %s", self.reservation.request_id, error)
            return None

    def _mark(self, ledger: dict[str, Any]) -> None:
        """Record on the hold item that ``actual`` is owed, so a sweep charges it (best effort, once)."""
        reservation = self.reservation
        try:
            self.store.call(
                "update_item",
                **charge_mark(self.store.table_name, reservation, self.actual, ledger, self.now),
            )
        except Exception as error:  # the store is down: the hold stays and is released when it expires
            _log.error(
                "could not mark the hold of request %s of tenant %s with its charge of %s: %s",
                reservation.request_id,
                reservation.tenant_id,
                self.actual,
                error,
            )
        else:
            _log.warning(
                "settlement of request %s failed; its hold is marked to be charged", reservation.request_id
            )
