"""A tenant's month by day, route and model against its budget, with cost per successful outcome (pure).

It reads four things, all of one tenant and one UTC month:

* the **month item** (:mod:`modelrouter.accounting.items`): everything committed in the month and in
  each day (settled charges and open holds), in whole nano-dollars;
* the **hold items** still open, each counted in one month and one day;
* the **ledger items**, one per settled request: ``actual_usd``, ``route``, ``model`` (the model that
  answered; none when nothing did), and ``day``, the day attribute its charge was counted in;
* the **provenance records** of the requests that started in the month: ``outcome``, ``feedback``,
  ``route``, ``model``.

Spend by day is the month item's day total minus the holds counted in that day: exactly what the daily
limit is checked against (a request that reserved at 23:59:59.999 counts on that day, however late it
settled). Requests, and spend by route and by model, are the ledger's. A request is a *successful
outcome* by :func:`modelrouter.outcome_cost.is_successful_outcome` (its checks passed and, where it was
rated, it was rated good), counted from the provenance records; cost per successful outcome is spend
divided by those (None when there are none). ``ledger_gap_usd`` is the month's spend minus the sum of its
ledger items: 0 whenever the books balance.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from modelrouter.accounting.items import number
from modelrouter.accounting.periods import MONTH_ATTRIBUTE, budget_sort_key, day_attribute, month_key, to_utc
from modelrouter.accounting.records import NANO, from_nano, usd
from modelrouter.accounting.usage import PeriodUsage, period_usage
from modelrouter.outcome_cost import is_successful_outcome

if TYPE_CHECKING:
    from modelrouter.policy.tenants import Tenant

__all__ = ["DayUsage", "GroupUsage", "MonthUsage", "month_breakdown", "per_success"]

_DAY = re.compile(r"day_([0-9]{2})_nano_usd")


def per_success(spent: Decimal, successes: int) -> Decimal | None:
    """``spent`` per successful outcome, to the nano-dollar; None without any success."""
    return (spent / successes).quantize(NANO, rounding=ROUND_HALF_EVEN) if successes else None


def _money(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


@dataclass(frozen=True)
class DayUsage:
    """One UTC day of the month: its spend, holds, limit and room, and the requests settled in it."""

    figures: PeriodUsage
    """Spend, holds, the daily limit (None when the budget sets none) and what remained of it."""
    requests: int
    """Ledger items counted in the day."""

    def as_json(self) -> dict[str, Any]:
        """The day as a JSON object (the ``periods`` figures of ``GET /v1/usage``, and ``requests``)."""
        return {**self.figures.as_json(), "requests": self.requests}


@dataclass(frozen=True)
class GroupUsage:
    """The month's requests of one route or one model."""

    name: str | None
    """The route or model; None for requests without one (no model answered)."""
    requests: int
    """Settled requests (ledger items)."""
    spent_usd: Decimal
    """Their charges."""
    successful_outcomes: int
    """Provenance records of the month that are successful outcomes."""

    @property
    def cost_per_successful_outcome_usd(self) -> Decimal | None:
        """Spend per successful outcome; None without any."""
        return per_success(self.spent_usd, self.successful_outcomes)

    def as_json(self, kind: str) -> dict[str, Any]:
        """The group as a JSON object keyed ``kind`` (``route`` or ``model``)."""
        return {
            kind: self.name,
            "requests": self.requests,
            "spent_usd": float(self.spent_usd),
            "successful_outcomes": self.successful_outcomes,
            "cost_per_successful_outcome_usd": _money(self.cost_per_successful_outcome_usd),
        }


@dataclass(frozen=True)
class MonthUsage:
    """One tenant's month (see the module's docstring)."""

    tenant_id: str
    """The tenant."""
    figures: PeriodUsage
    """The month's spend, holds, monthly limit and room."""
    requests: int
    """Settled requests (ledger items of the month)."""
    records: int
    """Provenance records of requests started in the month."""
    refused: int
    """Of those, refusals (no ledger item: nothing was charged)."""
    successful_outcomes: int
    """Of those, successful outcomes."""
    ledger_gap_usd: Decimal
    """The month's spend minus the sum of its ledger items (0 when the books balance)."""
    days: tuple[DayUsage, ...]
    """Days with spend, holds or requests, in order."""
    routes: tuple[GroupUsage, ...]
    """Per route, the most spent first."""
    models: tuple[GroupUsage, ...]
    """Per answering model, the most spent first."""

    @property
    def cost_per_successful_outcome_usd(self) -> Decimal | None:
        """The month's spend per successful outcome; None without any."""
        return per_success(self.figures.spent_usd, self.successful_outcomes)

    def as_json(self) -> dict[str, Any]:
        """The month as a JSON object (money as numbers in USD, as ``GET /v1/usage``'s)."""
        return {
            **self.figures.as_json(),
            "requests": self.requests,
            "records": self.records,
            "refused": self.refused,
            "successful_outcomes": self.successful_outcomes,
            "cost_per_successful_outcome_usd": _money(self.cost_per_successful_outcome_usd),
            "ledger_gap_usd": float(self.ledger_gap_usd),
            "days": [day.as_json() for day in self.days],
            "routes": [route.as_json("route") for route in self.routes],
            "models": [model.as_json("model") for model in self.models],
        }


def _name(value: Any) -> str | None:
    """A record's route or model as a group name (whatever a damaged record holds there)."""
    return value if value is None or isinstance(value, str) else str(value)


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _ledger_day(item: Mapping[str, Any], month: datetime) -> int:
    """The day of the month a ledger item's charge was counted in (its ``day``; for items written before
    ledger items had one, the day it settled, or the month's last day when it settled after the month)."""
    found = _DAY.fullmatch(_text(item, "day") or "")
    last = calendar.monthrange(month.year, month.month)[1]
    if found is not None and 1 <= int(found.group(1)) <= last:
        return int(found.group(1))
    try:
        settled = to_utc(datetime.fromisoformat(_text(item, "settled_at") or ""))
    except ValueError:
        return last
    return settled.day if month_key(settled) == month_key(month) else last


def _groups(
    ledger: list[dict[str, Any]], successes: Counter[str | None], field: str
) -> tuple[GroupUsage, ...]:
    requests: Counter[str | None] = Counter()
    spent: defaultdict[str | None, Decimal] = defaultdict(Decimal)
    for item in ledger:
        key = _text(item, field)
        requests[key] += 1
        spent[key] += usd(number(item, "actual_usd"))
    names = set(requests) | set(successes)
    groups = [GroupUsage(name, requests[name], spent[name], successes[name]) for name in names]
    return tuple(sorted(groups, key=lambda group: (-group.spent_usd, group.name is None, group.name or "")))


def month_breakdown(
    tenant: Tenant,
    month: datetime,
    *,
    month_item: dict[str, Any] | None,
    holds: Iterable[dict[str, Any]],
    ledger: Iterable[dict[str, Any]],
    records: Iterable[Mapping[str, Any]],
) -> MonthUsage:
    """The tenant's usage in the UTC month of ``month`` (low-level budget items, plain records)."""
    start = to_utc(month).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    item = month_item or {}
    own = budget_sort_key(start)
    counted = [hold for hold in holds if _text(hold, "month") == own]
    held_by_day: defaultdict[str | None, Decimal] = defaultdict(Decimal)
    for hold in counted:
        held_by_day[_text(hold, "day")] += number(hold, "amount_usd")
    entries = list(ledger)
    requests_by_day = Counter(_ledger_day(entry, start) for entry in entries)
    days = []
    for number_of_day in range(1, calendar.monthrange(start.year, start.month)[1] + 1):
        moment = start.replace(day=number_of_day)
        attribute = day_attribute(moment)
        committed, held = from_nano(number(item, attribute)), held_by_day[attribute]
        if committed or held or requests_by_day[number_of_day]:
            figures = period_usage("daily", moment, committed, held, tenant.budget.daily_usd)
            days.append(DayUsage(figures, requests_by_day[number_of_day]))
    held_month = sum(held_by_day.values(), Decimal(0))
    figures = period_usage(
        "monthly", start, from_nano(number(item, MONTH_ATTRIBUTE)), held_month, tenant.budget.monthly_usd
    )
    kept = list(records)
    good = [record for record in kept if is_successful_outcome(record)]
    ledger_total = sum((usd(number(entry, "actual_usd")) for entry in entries), Decimal(0))
    return MonthUsage(
        tenant_id=tenant.id,
        figures=figures,
        requests=len(entries),
        records=len(kept),
        refused=sum(record.get("outcome") == "refused" for record in kept),
        successful_outcomes=len(good),
        ledger_gap_usd=figures.spent_usd - ledger_total,
        days=tuple(days),
        routes=_groups(entries, Counter(_name(record.get("route")) for record in good), "route"),
        models=_groups(entries, Counter(_name(record.get("model")) for record in good), "model"),
    )
