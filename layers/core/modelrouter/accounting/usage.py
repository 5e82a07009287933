"""A tenant's own spend, holds, budgets and what remains, today and this month: one computation.

The month item's totals (:mod:`modelrouter.accounting.items`) count settled charges *and* open holds,
so what was spent is the total minus the holds counted in it. :func:`usage_from_items` is the pure
computation over the items; :func:`tenant_usage` reads them (one ``GetItem`` and one ``Query``, both
consistent) and calls it. ``GET /v1/usage``, the operators' ``modelrouter usage`` command and the local
console all use this, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from modelrouter.accounting.items import item_key, number
from modelrouter.accounting.periods import (
    MONTH_ATTRIBUTE,
    budget_sort_key,
    day_attribute,
    month_key,
    next_day_start,
    next_month_start,
    to_utc,
)
from modelrouter.accounting.records import from_nano, usd

if TYPE_CHECKING:
    from modelrouter.policy.tenants import Tenant

__all__ = [
    "PERIODS",
    "BudgetReader",
    "Period",
    "PeriodUsage",
    "TenantUsage",
    "period_usage",
    "tenant_usage",
    "usage_from_items",
]

Period = Literal["daily", "monthly"]
"""A budget period, named as the policy's ``budget`` names its limits (``daily_usd``, ``monthly_usd``)."""

PERIODS: tuple[Period, ...] = ("daily", "monthly")
"""Every period usage is reported for, whether or not the tenant's budget limits it."""


@runtime_checkable
class BudgetReader(Protocol):
    """What :func:`tenant_usage` reads the budget table through (a
    :class:`~modelrouter.accounting.store.BudgetStore` is one)."""

    table_name: str
    """The budget table."""

    def call(self, operation: str, passthrough: frozenset[str] = ..., **arguments: Any) -> Any:
        """Run a DynamoDB client operation, store failures mapped to budget store errors."""
        ...

    def hold_items(self, tenant_id: str, *, expired_by: datetime | None = None) -> list[dict[str, Any]]:
        """The tenant's open hold items (low-level)."""
        ...


def _money(amount: Decimal) -> float:
    return float(amount)


def _utc_text(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class PeriodUsage:
    """Spend in one budget period (the current UTC day or month) against its limit."""

    period: Period
    """``daily`` (the current UTC day) or ``monthly`` (the current UTC month)."""
    label: str
    """Which day or month: ``2025-01-10`` or ``2025-01``."""
    spent_usd: Decimal
    """Settled charges in the period."""
    held_usd: Decimal
    """Reserved but not yet settled: the open holds counted in the period (requests in flight, or
    abandoned holds not yet returned)."""
    limit_usd: Decimal | None
    """The tenant's limit for the period; None when its budget sets none."""
    resets_at: datetime
    """When the next period starts (UTC)."""

    @property
    def committed_usd(self) -> Decimal:
        """What counts against the limit: spent plus held."""
        return self.spent_usd + self.held_usd

    @property
    def remaining_usd(self) -> Decimal | None:
        """Room left under the limit (never below 0); None without a limit."""
        if self.limit_usd is None:
            return None
        return max(Decimal(0), self.limit_usd - self.committed_usd)

    def as_json(self) -> dict[str, Any]:
        """The period as a JSON object (money as numbers in USD)."""
        remaining = self.remaining_usd
        return {
            "period": self.label,
            "spent_usd": _money(self.spent_usd),
            "held_usd": _money(self.held_usd),
            "committed_usd": _money(self.committed_usd),
            "limit_usd": None if self.limit_usd is None else _money(self.limit_usd),
            "remaining_usd": None if remaining is None else _money(remaining),
            "resets_at": _utc_text(self.resets_at),
        }


@dataclass(frozen=True)
class TenantUsage:
    """One tenant's usage at a moment: each period's spend, holds, limit and room."""

    tenant_id: str
    """The tenant."""
    as_of: datetime
    """The moment (UTC) the figures are for."""
    periods: dict[Period, PeriodUsage]
    """Usage per period, ``daily`` and ``monthly``."""
    open_holds: int
    """How many holds of this month are open (reserved, not settled)."""

    def as_json(self) -> dict[str, Any]:
        """The usage as a JSON object, as ``GET /v1/usage`` returns it."""
        return {
            "object": "usage",
            "tenant_id": self.tenant_id,
            "as_of": _utc_text(self.as_of),
            "currency": "USD",
            "periods": {period: usage.as_json() for period, usage in self.periods.items()},
            "open_holds": self.open_holds,
        }


def usage_from_items(
    tenant: Tenant, month_item: dict[str, Any] | None, holds: list[dict[str, Any]], now: datetime
) -> TenantUsage:
    """The tenant's usage at ``now`` from its month item and its hold items (low-level DynamoDB items).

    Holds counted in other months or days (a hold opened before midnight) are left out of the
    periods they are not counted in, exactly as the totals count them.
    """
    utc = to_utc(now)
    month = budget_sort_key(utc)
    today = day_attribute(utc)
    item = month_item or {}
    this_month = [hold for hold in holds if hold.get("month", {}).get("S") == month]
    held = {
        "monthly": sum((number(hold, "amount_usd") for hold in this_month), Decimal(0)),
        "daily": sum(
            (number(hold, "amount_usd") for hold in this_month if hold.get("day", {}).get("S") == today),
            Decimal(0),
        ),
    }
    totals = {"monthly": from_nano(number(item, MONTH_ATTRIBUTE)), "daily": from_nano(number(item, today))}
    limits = {"daily": tenant.budget.daily_usd, "monthly": tenant.budget.monthly_usd}
    periods = {
        period: period_usage(period, utc, totals[period], held[period], limits[period]) for period in PERIODS
    }
    return TenantUsage(tenant_id=tenant.id, as_of=utc, periods=periods, open_holds=len(this_month))


def period_usage(
    period: Period, moment: datetime, committed: Decimal, held: Decimal, limit: float | None
) -> PeriodUsage:
    """The figures of the UTC day or month of ``moment``: ``committed`` (charges and holds, as the month
    item counts them) minus what is still ``held`` is the spend; ``limit`` None: no limit."""
    daily = period == "daily"
    return PeriodUsage(
        period=period,
        label=to_utc(moment).strftime("%Y-%m-%d") if daily else month_key(moment),
        spent_usd=max(Decimal(0), committed - held),
        held_usd=usd(held),
        limit_usd=None if limit is None else usd(limit),
        resets_at=next_day_start(moment) if daily else next_month_start(moment),
    )


def tenant_usage(store: BudgetReader, tenant: Tenant, *, now: datetime | None = None) -> TenantUsage:
    """The tenant's usage now (or at ``now``), read from the budget table with consistent reads.

    Raises the store's :class:`~modelrouter.accounting.errors.BudgetStoreError` when the table cannot
    be read.
    """
    moment = to_utc(now) if now is not None else datetime.now(UTC)
    found = store.call(
        "get_item",
        TableName=store.table_name,
        Key=item_key(tenant.id, budget_sort_key(moment)),
        ConsistentRead=True,
    )
    return usage_from_items(tenant, found.get("Item"), store.hold_items(tenant.id), moment)
