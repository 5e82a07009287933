"""Settling one reservation: a single ``TransactWriteItems`` charging the actual cost, exactly once.

The transaction (1) adds ``actual - held`` to the month and day totals, (2) deletes the hold item on
condition it exists (and is of the amount held), (3) puts the ledger item on condition it does not
exist yet, (4) puts the provenance record, (5) carries the caller's :class:`ExtraWrite` if any (a bandit
route's learning-state update), so it lands exactly once with the charge. Cancellation reasons decide
what happens next:

* ledger item present: settled before (a retry or redelivery), nothing is charged; a hold left over
  by a repeated reservation of the same request is given back;
* hold gone and no ledger item: the hold expired and was returned, so the actual cost is charged in
  full (still guarded by the ledger item's condition) and all of it is overage;
* only the extra write failed (its table missing, an item it cannot update): retried without it, and
  with the provenance record the caller gave for that case (:attr:`ExtraWrite.record_without`);
* only the provenance put failed (too large, invalid, missing table): retried without it;
* a failure that names no item (``ValidationException``, ``ResourceNotFoundException``): the extra
  write is dropped first, then the provenance put;
* conflicts and throttling: retried after a short jittered pause.

The charge is never clamped to the hold: what the provider billed is what the tenant is charged.
When the transaction cannot be written at all, the hold item is marked with ``charge_usd`` (one
``UpdateItem``) before the error is raised, so it is charged, never given back, when it is swept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from modelrouter import timeouts
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

__all__ = ["ExtraWrite", "Settlement"]

_log = logging.getLogger(__name__)

_OPTIONAL_CODES = frozenset({"ValidationException", "ResourceNotFoundException"})
"""Failures that name no item: an optional part (the extra write, then the provenance put) is dropped."""
_PASSTHROUGH = frozenset({CANCELED, CONFLICT, *_OPTIONAL_CODES})
_HARMLESS = frozenset({"None", *RETRYABLE_REASONS})
_ATTEMPTS = timeouts.SETTLEMENT_ATTEMPTS


@dataclass(frozen=True)
class ExtraWrite:
    """A write that joins the settlement transaction when it can, and is dropped alone when only it fails
    (a bandit route's learning-state update: counted exactly once with the charge, or not at all)."""

    item: dict[str, Any]
    """The ``TransactItems`` entry (an ``Update``)."""
    record_without: dict[str, Any] | None = None
    """The provenance record to store instead when the write is dropped (one that does not claim it was
    written); None keeps the record given to settle."""


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
        self,
        ledger: dict[str, Any],
        provenance_item: dict[str, Any] | None,
        provenance_table: str | None,
        extra: ExtraWrite | None = None,
    ) -> SettleOutcome:
        """Settle, returning what was charged and whether the provenance record and ``extra`` were stored."""
        try:
            return self._run(
                ledger, self._provenance(provenance_item, provenance_table), provenance_table, extra
            )
        except BudgetStoreError:
            self._mark(ledger)
            raise

    def _run(
        self,
        ledger: dict[str, Any],
        provenance: dict[str, Any] | None,
        provenance_table: str | None,
        extra: ExtraWrite | None,
    ) -> SettleOutcome:
        for attempt in range(_ATTEMPTS):
            items = self._items(ledger)
            provenance_at = _append(items, provenance)
            extra_at = _append(items, extra.item if extra is not None else None)
            try:
                self.store.call("transact_write_items", _PASSTHROUGH, TransactItems=items)
                held = self.held if self.held is not None else Decimal(0)
                overage = max(Decimal(0), self.actual - held)
                return SettleOutcome(
                    float(self.actual), provenance is not None, False, float(overage), extra is not None
                )
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
            if extra is not None and _failed(code, codes, extra_at):
                _log.warning(
                    "extra write failed (%s); settling request %s without it",
                    code,
                    self.reservation.request_id,
                )
                if provenance is not None and extra.record_without is not None:
                    provenance = self._provenance(extra.record_without, provenance_table)
                extra = None
                continue
            if provenance is not None and _failed(code, codes, provenance_at):
                _log.warning(
                    "provenance put failed (%s); settling request %s without it",
                    code,
                    self.reservation.request_id,
                )
                provenance = None
                continue
            if code == CONFLICT or (code == CANCELED and set(codes) <= _HARMLESS):
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


def _append(items: list[dict[str, Any]], item: dict[str, Any] | None) -> int | None:
    """Append ``item`` (when there is one) to the transaction; its index, or None."""
    if item is None:
        return None
    items.append(item)
    return len(items) - 1


def _failed(code: str, codes: list[str], index: int | None) -> bool:
    """Whether the optional transaction part at ``index`` is what failed (or may be: a failure that
    names no item)."""
    if index is None:
        return False
    return code in _OPTIONAL_CODES or (code == CANCELED and codes[index] not in _HARMLESS)
