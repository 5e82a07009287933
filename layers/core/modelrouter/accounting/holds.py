"""Pure pieces of a reservation: the hold it opens, the limits it must fit, and why it was refused.

Nothing here talks to DynamoDB; :mod:`modelrouter.accounting.store` sends what
:mod:`modelrouter.accounting.items` builds from these.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from modelrouter.accounting.errors import BudgetExhaustedError
from modelrouter.accounting.items import number
from modelrouter.accounting.periods import (
    MONTH_ATTRIBUTE,
    budget_sort_key,
    day_attribute,
    hold_sort_key,
    seconds_until_next_day,
    seconds_until_next_month,
    to_utc,
)
from modelrouter.accounting.records import Reservation, format_usd, from_nano, usd
from modelrouter.policy.tenants import Tenant

__all__ = ["HOLD_MARGIN_S", "check_hold_seconds", "limits_of", "new_reservation", "refusal", "rooms"]

HOLD_MARGIN_S = 60
"""A hold must outlast the router function's timeout by at least this many seconds."""


def check_hold_seconds(hold_seconds: int, function_timeout_s: float | None = None) -> int:
    """``hold_seconds`` if a hold that long cannot expire while its request may still run.

    Raises :class:`ValueError` when it is not positive, or shorter than ``function_timeout_s`` (the
    router function's timeout, when known) plus :data:`HOLD_MARGIN_S`.
    """
    if hold_seconds <= 0:
        raise ValueError(f"hold_seconds must be positive, got {hold_seconds}")
    if function_timeout_s is not None and hold_seconds < function_timeout_s + HOLD_MARGIN_S:
        raise ValueError(
            f"hold_seconds ({hold_seconds}) must be at least the function timeout ({function_timeout_s:g} s)"
            f" + {HOLD_MARGIN_S} s, or holds could be returned while their request still runs"
        )
    return hold_seconds


def new_reservation(
    tenant_id: str, request_id: str, amount: Decimal, now: datetime, hold_seconds: int
) -> Reservation:
    """The reservation of ``amount`` for ``request_id`` made at ``now``, expiring ``hold_seconds`` later."""
    utc = to_utc(now)
    return Reservation(
        tenant_id=tenant_id,
        request_id=request_id,
        amount_usd=float(amount),
        month_key=budget_sort_key(utc),
        day_attribute=day_attribute(utc),
        hold_key=hold_sort_key(request_id),
        expires_at=int(utc.timestamp()) + hold_seconds,
    )


def limits_of(tenant: Tenant) -> dict[str, Decimal]:
    """The tenant's limits that exist, by period (``daily``, ``monthly``)."""
    limits = {"daily": tenant.budget.daily_usd, "monthly": tenant.budget.monthly_usd}
    return {period: usd(limit) for period, limit in limits.items() if limit is not None}


def rooms(limits: dict[str, Decimal], amount: Decimal) -> dict[str, Decimal]:
    """The most that may already be committed, per period, for a hold of ``amount`` to fit."""
    return {period: limit - amount for period, limit in limits.items()}


def refusal(
    tenant: Tenant,
    reservation: Reservation,
    amount: Decimal,
    *,
    item: dict[str, Any] | None,
    limits: dict[str, Decimal],
    now: datetime,
) -> BudgetExhaustedError | None:
    """The error for a hold of ``amount`` that does not fit the month ``item``, else None.

    ``item`` None means the committed amounts are unknown (counted as 0, not quoted). The monthly
    limit is reported first when both are exceeded: it is the longer wait. The error's
    ``available_usd`` is the least room left under any limit.
    """
    known = item if item is not None else {}
    committed = {
        "daily": from_nano(number(known, reservation.day_attribute)),
        "monthly": from_nano(number(known, MONTH_ATTRIBUTE)),
    }
    room = {period: max(Decimal(0), limit - committed[period]) for period, limit in limits.items()}
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
        return BudgetExhaustedError(
            message,
            wait,
            tenant_id=tenant.id,
            period=period,
            available_usd=float(min(room.values())),
            limit_usd=float(limit),
        )
    return None
