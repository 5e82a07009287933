"""UTC budget periods and the exact money encoding of the budget store (pure, no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.accounting.errors import (
    BudgetExhaustedError,
    BudgetStoreError,
    BudgetStoreUnavailableError,
)
from modelrouter.accounting.holds import limits_of, refusal
from modelrouter.accounting.periods import (
    budget_sort_key,
    day_attribute,
    hold_sort_key,
    ledger_prefix,
    month_expiry,
    month_key,
    next_month_start,
    seconds_until_next_day,
    seconds_until_next_month,
)
from modelrouter.accounting.records import Reservation, format_usd, to_dynamo_item, usd
from modelrouter.errors import ModelRouterError
from modelrouter.policy.tenants import Tenant

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)


def test_month_and_day_names() -> None:
    # Given the last second of February in a leap year
    moment = datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    # When the period names are computed
    # Then they name that month and day, and the rollovers are one second away
    assert month_key(moment) == "2024-02"
    assert budget_sort_key(moment) == "budget#2024-02"
    assert ledger_prefix("2024-02") == "ledger#2024-02#"
    assert day_attribute(moment) == "day_29_nano_usd"
    assert seconds_until_next_day(moment) == 1
    assert seconds_until_next_month(moment) == 1


def test_other_timezones_are_converted_to_utc() -> None:
    # Given 01:00 on March 1st at UTC+2 (still February 28th, 23:00 UTC)
    moment = datetime(2023, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    # When the period names are computed
    # Then they follow the UTC calendar
    assert month_key(moment) == "2023-02"
    assert day_attribute(moment) == "day_28_nano_usd"
    assert seconds_until_next_day(moment) == 3600


@given(moments)
def test_rollovers_are_within_their_period(moment: datetime) -> None:
    # Given any moment
    # When the waits until the next day and month are computed
    day_wait = seconds_until_next_day(moment)
    month_wait = seconds_until_next_month(moment)
    # Then both are positive, bounded by the period, and the day never outlasts the month
    assert 0 < day_wait <= 86_400
    assert 0 < month_wait <= 31 * 86_400
    assert day_wait <= month_wait
    assert day_attribute(moment) == f"day_{moment.day:02d}_nano_usd"
    after = moment + timedelta(seconds=month_wait)
    assert month_key(after) != month_key(moment)
    assert after.day == 1


@given(moments)
def test_month_items_expire_after_the_month_ends(moment: datetime) -> None:
    # Given any moment
    # When its month's expiry is computed
    expiry = month_expiry(moment)
    # Then it is 400 days after the month ends
    assert expiry == int((next_month_start(moment) + timedelta(days=400)).timestamp())


@given(st.decimals(min_value=0, max_value=1000, places=9), st.decimals(min_value=0, max_value=1000, places=9))
def test_money_sums_are_exact(a: Decimal, b: Decimal) -> None:
    # Given two amounts with nano-dollar precision, passed as floats
    # When they are encoded as store amounts
    # Then the encoded values are within a nano-dollar of the originals
    assert abs(usd(float(a)) - a) <= Decimal("1e-9")
    assert usd(float(a)) + usd(float(b)) == usd(usd(float(a)) + usd(float(b)))


def test_money_rounding_and_formatting() -> None:
    # Given amounts below the quantum and sub-cent amounts
    # When they are rounded and formatted
    # Then holds round up, charges round to nearest, and small amounts keep their digits
    assert usd(1e-12, round_up=True) == Decimal("0.000000001")
    assert usd(1e-12) == Decimal("0E-9")
    assert format_usd(Decimal("4.98")) == "$4.98"
    assert format_usd(Decimal("0.000123")) == "$0.000123"
    with pytest.raises(ValueError, match="finite"):
        usd(float("nan"))


def test_hold_sort_keys() -> None:
    # Given a plain request id and one with separators
    # When hold sort keys are derived
    # Then each request has its own hold item, keyed by the whole id
    assert hold_sort_key("req-1.a_b") == "hold#req-1.a_b"
    assert hold_sort_key("a/b") != hold_sort_key("a:b")


def test_provenance_records_become_dynamodb_items() -> None:
    # Given a JSON-like record with floats, nested data, None and NaN
    record = {"cost_usd": 0.1, "nested": {"n": [1, 2.5, None]}, "tuple": (1, "x"), "bad": float("nan")}
    # When it is converted
    item = to_dynamo_item(record)
    # Then floats are exact numbers and non-finite floats strings
    assert item["cost_usd"] == {"N": "0.1"}
    assert item["nested"] == {"M": {"n": {"L": [{"N": "1"}, {"N": "2.5"}, {"NULL": True}]}}}
    assert item["tuple"] == {"L": [{"N": "1"}, {"S": "x"}]}
    assert item["bad"] == {"S": "nan"}


def test_refusal_names_the_limit() -> None:
    # Given a tenant with a $5 daily limit that has $4.98 committed today
    tenant = Tenant.model_validate({"id": "acme", "budget": {"daily_usd": 5.0, "monthly_usd": 100.0}})
    now = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    reservation = Reservation("acme", "r1", 0.12, "budget#2025-01", "day_10_nano_usd", "hold#r1", 0)
    item = {"month_nano_usd": {"N": "50000000000"}, "day_10_nano_usd": {"N": "4980000000"}}
    # When a $0.12 hold is judged
    error = refusal(tenant, reservation, Decimal("0.12"), item=item, limits=limits_of(tenant), now=now)
    # Then the daily limit refuses it until midnight UTC, saying what would still fit
    assert error is not None
    assert error.period == "daily"
    assert error.retry_after_s == 12 * 3600
    assert (error.available_usd, error.limit_usd) == (0.02, 5.0)
    assert str(error) == (
        "tenant acme's daily budget of $5.00 would be exceeded: "
        "$4.98 committed, this request may cost up to $0.12"
    )


def test_error_tree() -> None:
    # Given the budget store's error classes
    # When their relations are inspected
    # Then exhaustion and unavailability are distinct store errors with stable codes
    assert issubclass(BudgetStoreError, ModelRouterError)
    assert issubclass(BudgetExhaustedError, BudgetStoreError)
    assert issubclass(BudgetStoreUnavailableError, BudgetStoreError)
    assert not issubclass(BudgetExhaustedError, BudgetStoreUnavailableError)
    assert BudgetExhaustedError.code == "budget_exhausted"
    assert BudgetStoreUnavailableError.code == "budget_store_unavailable"
