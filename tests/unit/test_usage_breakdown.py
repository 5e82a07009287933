"""A tenant's month by day, route and model (accounting.usage_breakdown), on budget items built as the
store writes them: the days, routes and models add up to the month and to the ledger, successful
outcomes follow outcome_cost's rule, and days are the UTC days the charges were counted in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.budget_rig import tenant

from modelrouter.accounting.periods import MONTH_ATTRIBUTE, day_attribute
from modelrouter.accounting.records import NANO, dynamo_number, nano
from modelrouter.accounting.usage import usage_from_items
from modelrouter.accounting.usage_breakdown import month_breakdown, per_success
from modelrouter.accounting.usage_read import (
    BREAKDOWN_CACHE_S,
    MAX_CACHED_BREAKDOWNS,
    BreakdownCache,
    UsageReport,
)

JANUARY = datetime(2025, 1, 1, tzinfo=UTC)


def ledger_item(
    request_id: str, day: int, actual: str, route: str | None = "chat", model: str | None = "m1"
) -> dict[str, Any]:
    """A ledger item as ``accounting.items.ledger_put`` writes it (low-level)."""
    item: dict[str, Any] = {
        "sk": {"S": f"ledger#2025-01#{request_id}"},
        "request_id": {"S": request_id},
        "day": {"S": day_attribute(JANUARY.replace(day=day))},
        "actual_usd": dynamo_number(Decimal(actual)),
        "settled_at": {"S": JANUARY.replace(day=day).isoformat(timespec="milliseconds")},
    }
    if route is not None:
        item["route"] = {"S": route}
    if model is not None:
        item["model"] = {"S": model}
    return item


def hold_item(day: int, amount: str, month: str = "budget#2025-01") -> dict[str, Any]:
    """An open hold item counted in ``day`` of ``month``."""
    return {
        "month": {"S": month},
        "day": {"S": day_attribute(JANUARY.replace(day=day))},
        "amount_usd": dynamo_number(Decimal(amount)),
    }


def month_item(ledger: list[dict[str, Any]], holds: list[dict[str, Any]]) -> dict[str, Any]:
    """The month item the store's transactions leave: each day's charges plus its open holds, in nanos."""
    totals: defaultdict[str, int] = defaultdict(int)
    for item in [*ledger, *holds]:
        amount = nano(Decimal(item["actual_usd" if "actual_usd" in item else "amount_usd"]["N"]))
        totals[item["day"]["S"]] += amount
        totals[MONTH_ATTRIBUTE] += amount
    return {name: dynamo_number(value) for name, value in totals.items()}


amounts = st.decimals(min_value=0, max_value=5, places=9, allow_nan=False, allow_infinity=False)
entries = st.lists(
    st.tuples(
        st.integers(1, 31),
        amounts,
        st.sampled_from(["chat", "code", None]),
        st.sampled_from(["m1", "m2", None]),
    ),
    max_size=25,
)


@given(entries, st.lists(st.tuples(st.integers(1, 31), amounts), max_size=5))
def test_days_routes_and_models_add_up_to_the_month_and_the_ledger(
    spent: list[tuple[int, Decimal, str | None, str | None]], held: list[tuple[int, Decimal]]
) -> None:
    # Given settled requests and open holds on any days of January, and the month item they leave
    ledger = [
        ledger_item(f"r{n}", day, str(amount), route, model)
        for n, (day, amount, route, model) in enumerate(spent)
    ]
    holds = [hold_item(day, str(amount)) for day, amount in held]
    # When January is broken down
    usage = month_breakdown(
        tenant(1.0, 20.0),
        JANUARY,
        month_item=month_item(ledger, holds),
        holds=holds,
        ledger=ledger,
        records=[],
    )
    # Then the month's spend is the ledger's, and so is each day's, route's and model's
    total = sum((Decimal(str(amount)) for _, amount, _, _ in spent), Decimal(0))
    assert usage.figures.spent_usd == total
    assert usage.figures.held_usd == sum((amount for _, amount in held), Decimal(0))
    assert usage.ledger_gap_usd == 0
    assert sum((day.figures.spent_usd for day in usage.days), Decimal(0)) == total
    for groups in (usage.routes, usage.models):
        assert sum((group.spent_usd for group in groups), Decimal(0)) == total
        assert sum(group.requests for group in groups) == len(ledger)
    for day in usage.days:
        number = int(day.figures.label[-2:])
        assert day.figures.spent_usd == sum((a for d, a, _, _ in spent if d == number), Decimal(0))
        assert day.requests == sum(1 for d, *_ in spent if d == number)
        assert day.figures.remaining_usd == max(Decimal(0), Decimal(1) - day.figures.committed_usd)
    # And the routes come most spent first
    assert [group.spent_usd for group in usage.routes] == sorted(
        (g.spent_usd for g in usage.routes), reverse=True
    )


def test_successful_outcomes_follow_checks_and_feedback() -> None:
    # Given $0.60 spent on chat and $0.30 on code, and the month's records: passed and unrated, passed
    # and rated good, passed and rated down, an error and a refusal
    ledger = [
        ledger_item("a", 3, "0.2"),
        ledger_item("b", 3, "0.4"),
        ledger_item("c", 4, "0.3", "code", "m2"),
    ]
    records: list[dict[str, Any]] = [
        {"route": "chat", "model": "m1", "outcome": "success"},
        {"route": "chat", "model": "m1", "outcome": "success", "feedback": {"thumbs": "up"}},
        {"route": "code", "model": "m2", "outcome": "success", "feedback": {"score": 0.2}},
        {"route": "code", "model": None, "outcome": "error"},
        {"route": None, "model": None, "outcome": "refused"},
    ]
    # When January is broken down
    usage = month_breakdown(
        tenant(None, 5.0),
        JANUARY,
        month_item=month_item(ledger, []),
        holds=[],
        ledger=ledger,
        records=records,
    )
    # Then two outcomes were successful, both on chat; code had none
    assert (usage.successful_outcomes, usage.records, usage.refused, usage.requests) == (2, 5, 1, 3)
    routes = {group.name: group for group in usage.routes}
    assert (routes["chat"].successful_outcomes, routes["code"].successful_outcomes) == (2, 0)
    # And cost per successful outcome is spend over successes: the month's, and chat's; none for code
    assert usage.cost_per_successful_outcome_usd == Decimal("0.45")
    assert routes["chat"].cost_per_successful_outcome_usd == Decimal("0.3")
    assert routes["code"].cost_per_successful_outcome_usd is None
    # And the monthly limit's room is what the month left
    assert usage.figures.remaining_usd == Decimal("4.1")
    # And without a daily limit, no day's room is quoted
    assert all(day.figures.limit_usd is None and day.figures.remaining_usd is None for day in usage.days)


def test_per_success_is_exact_to_the_nano_dollar() -> None:
    # Given $1 over 3 successes, and over none
    # When divided / Then the result is rounded to a nano-dollar, and undefined without successes
    assert per_success(Decimal(1), 3) == Decimal("0.333333333")
    assert per_success(Decimal(1), 3).as_tuple().exponent == NANO.as_tuple().exponent  # type: ignore[union-attr]
    assert per_success(Decimal(1), 0) is None


def test_the_last_millisecond_of_a_month_counts_on_its_last_day() -> None:
    # Given a charge counted on 31 January (reserved at 23:59:59.999) that settled in February
    item = ledger_item("late", 31, "0.5")
    item["settled_at"] = {"S": "2025-02-01T00:00:00.250+00:00"}
    # When January is broken down
    usage = month_breakdown(
        tenant(1.0, None), JANUARY, month_item=month_item([item], []), holds=[], ledger=[item], records=[]
    )
    # Then it is January 31st's, and January's next day starts in February
    [day] = usage.days
    assert (day.figures.label, day.requests, day.figures.spent_usd) == ("2025-01-31", 1, Decimal("0.5"))
    assert day.figures.resets_at == datetime(2025, 2, 1, tzinfo=UTC)


def test_ledger_items_written_before_they_had_a_day_use_when_they_settled() -> None:
    # Given two ledger items without a day: one settled on the 7th, one settled in February
    early, late = ledger_item("early", 7, "0.1"), ledger_item("late", 7, "0.2")
    del early["day"], late["day"]
    late["settled_at"] = {"S": "2025-02-01T00:00:01.000+00:00"}
    # When January is broken down (without the month item's day totals, the requests still count)
    usage = month_breakdown(
        tenant(1.0, None), JANUARY, month_item=None, holds=[], ledger=[early, late], records=[]
    )
    # Then the first counts on the 7th, the second on the last day of January
    assert [(day.figures.label, day.requests) for day in usage.days] == [("2025-01-07", 1), ("2025-01-31", 1)]


def test_a_missing_ledger_item_shows_as_a_gap() -> None:
    # Given a month item that counts $0.70 but ledger items of only $0.50
    ledger = [ledger_item("a", 2, "0.5")]
    item = month_item([*ledger, ledger_item("lost", 2, "0.2")], [])
    # When January is broken down
    usage = month_breakdown(tenant(1.0, None), JANUARY, month_item=item, holds=[], ledger=ledger, records=[])
    # Then the spend is the month item's and the gap says what the ledger lacks
    assert (usage.figures.spent_usd, usage.ledger_gap_usd) == (Decimal("0.7"), Decimal("0.2"))


def test_holds_of_another_month_are_left_out() -> None:
    # Given a hold counted in December, still open
    holds = [hold_item(31, "0.4", month="budget#2024-12")]
    # When January is broken down
    usage = month_breakdown(tenant(1.0, None), JANUARY, month_item=None, holds=holds, ledger=[], records=[])
    # Then January has nothing held, and no day
    assert (usage.figures.held_usd, usage.days) == (Decimal(0), ())


def test_json_form_uses_numbers_as_get_usage_does() -> None:
    # Given one request of $0.25 on the 10th that succeeded, on a $1 daily and $20 monthly budget
    ledger = [ledger_item("a", 10, "0.25")]
    records = [{"route": "chat", "model": "m1", "outcome": "success"}]
    usage = month_breakdown(
        tenant(1.0, 20.0),
        JANUARY,
        month_item=month_item(ledger, []),
        holds=[],
        ledger=ledger,
        records=records,
    )
    # When it is rendered as JSON
    document = usage.as_json()
    # Then the month and the day carry GET /v1/usage's period fields, money as numbers
    assert document["period"] == "2025-01"
    assert (document["spent_usd"], document["remaining_usd"], document["resets_at"]) == (
        0.25,
        19.75,
        "2025-02-01T00:00:00Z",
    )
    assert document["days"] == [
        {
            "period": "2025-01-10",
            "spent_usd": 0.25,
            "held_usd": 0.0,
            "committed_usd": 0.25,
            "limit_usd": 1.0,
            "remaining_usd": 0.75,
            "resets_at": "2025-01-11T00:00:00Z",
            "requests": 1,
        }
    ]
    assert document["routes"] == [
        {
            "route": "chat",
            "requests": 1,
            "spent_usd": 0.25,
            "successful_outcomes": 1,
            "cost_per_successful_outcome_usd": 0.25,
        }
    ]
    assert document["models"][0]["model"] == "m1"
    assert (document["successful_outcomes"], document["ledger_gap_usd"]) == (1, 0.0)


# --- the API's breakdowns, kept a minute per container (accounting.usage_read.BreakdownCache) ----------


class Ticks:
    """A monotonic clock that moves when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Store:
    """Something the cache keys its entries by (a budget store, in the router)."""


def reader(reads: list[str], tenant_id: str) -> Callable[[], UsageReport]:
    """A read that counts itself and gives a report for ``tenant_id``."""

    def read() -> UsageReport:
        reads.append(tenant_id)
        usage = usage_from_items(tenant(1.0, None, tenant_id), None, [], JANUARY)
        month = month_breakdown(
            tenant(1.0, None, tenant_id), JANUARY, month_item=None, holds=[], ledger=[], records=[]
        )
        return UsageReport(usage, month)

    return read


def test_a_breakdown_is_read_once_a_minute_per_store_tenant_and_month() -> None:
    # Given a cache on a clock, and two stores (two runtimes)
    ticks, reads = Ticks(), []
    cache, store, other = BreakdownCache(clock=ticks), Store(), Store()
    # When acme's January is asked for twice within the minute, then by another store, then after it
    first = cache.report(store, "acme", "2025-01", reader(reads, "acme"))
    again = cache.report(store, "acme", "2025-01", reader(reads, "acme"))
    cache.report(other, "acme", "2025-01", reader(reads, "acme"))
    cache.report(store, "acme", "2025-02", reader(reads, "acme"))
    ticks.now += BREAKDOWN_CACHE_S
    cache.report(store, "acme", "2025-01", reader(reads, "acme"))
    # Then the second ask was served from the cache; another store, another month and a minute later read
    assert again is first
    assert len(reads) == 4


def test_a_failed_read_is_not_kept_and_the_cache_stays_bounded() -> None:
    # Given a cache whose read fails once
    ticks, reads = Ticks(), []
    cache, store = BreakdownCache(clock=ticks), Store()

    def failing() -> UsageReport:
        raise RuntimeError("table unavailable")

    # When it fails, then many months are asked for
    with pytest.raises(RuntimeError):
        cache.report(store, "acme", "2025-01", failing)
    for month in range(MAX_CACHED_BREAKDOWNS + 10):
        ticks.now += 0.001
        cache.report(store, "acme", f"m{month}", reader(reads, "acme"))
    # Then the failure was not kept (the next ask reads), and the oldest months were dropped
    cache.report(store, "acme", "2025-01", reader(reads, "acme"))
    cache.report(store, "acme", "m0", reader(reads, "acme"))
    assert len(reads) == MAX_CACHED_BREAKDOWNS + 12
