"""Returning holds to the budget exactly once: given back uncharged, or charged when marked.

A hold item is deleted by exactly one transaction, whichever path gets there first: settlement,
:meth:`~modelrouter.accounting.store.BudgetStore.release`, or a sweep of expired holds. Each of
these deletes it on condition it still exists, so the others then find it gone. A hold that carries
``charge_usd`` (its settlement could not be written) is never given back: a sweep charges it, with the
ledger item's ``attribute_not_exists`` condition making the charge happen once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from modelrouter.accounting.dynamo import CONDITION_FAILED
from modelrouter.accounting.items import hold_delete, ledger_put, number, reservation_from_item, totals_update
from modelrouter.accounting.records import Reservation, usd

if TYPE_CHECKING:
    from modelrouter.accounting.store import BudgetStore

__all__ = ["give_back", "return_hold"]

_log = logging.getLogger(__name__)


def give_back(
    store: BudgetStore, reservation: Reservation, amount: Decimal, *, uncharged: bool = True
) -> bool:
    """Delete the hold and subtract ``amount`` from its totals in one transaction; False if it was gone.

    ``uncharged`` refuses (returns False) when the hold is marked for charging.
    """
    items = [
        totals_update(store.table_name, reservation, -amount),
        hold_delete(
            store.table_name, reservation.tenant_id, reservation.hold_key, amount=amount, uncharged=uncharged
        ),
    ]
    return store.transact(items) is None


def return_hold(store: BudgetStore, item: dict[str, Any], now: datetime) -> str:
    """Return one expired hold item: ``released``, ``charged``, or ``gone`` (another path got it first)."""
    reservation = reservation_from_item(item)
    amount = usd(number(item, "amount_usd"))
    if "charge_usd" not in item:
        return "released" if give_back(store, reservation, amount) else "gone"
    charge = usd(number(item, "charge_usd"))
    ledger = {name: value.get("S") for name, value in item.get("ledger", {}).get("M", {}).items()}
    ledger["settled_by"] = "sweep"
    table = store.table_name
    items = [
        totals_update(table, reservation, charge - amount),
        hold_delete(table, reservation.tenant_id, reservation.hold_key, amount=amount),
        ledger_put(table, reservation, ledger, actual=charge, held=amount, now=now),
    ]
    reasons = store.transact(items)
    if reasons is None:
        _log.warning("charged %s for request %s from its marked hold", charge, reservation.request_id)
        return "charged"
    codes = [reason.get("Code") for reason in reasons]
    if codes[1] == CONDITION_FAILED:
        return "gone"
    if codes[2] == CONDITION_FAILED:  # charged before (the settlement was written after all): drop the hold
        return "released" if give_back(store, reservation, amount, uncharged=False) else "gone"
    return "gone"
