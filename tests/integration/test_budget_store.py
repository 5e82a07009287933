"""The DynamoDB budget store against moto: limits, exactly-once settlement, faults and concurrency."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.accounting import (
    BudgetExhaustedError,
    BudgetStore,
    BudgetStoreUnavailableError,
    Reservation,
    SettleOutcome,
    dynamodb_client,
)
from tests.aws import create_tables, serial_moto_server
from tests.helpers import fake_aws_environment
from tests.integration.budget_rig import LEDGER, NOON, Clock, tenant


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)


@pytest.fixture
def aws() -> Iterator[tuple[Any, dict[str, str]]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield client, create_tables(client)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(aws: tuple[Any, dict[str, str]], clock: Clock) -> BudgetStore:
    client, tables = aws
    return BudgetStore(tables["BudgetTable"], client, now=clock, hold_seconds=900)


def provenance(request_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "tenant_id": "acme",
        "sort_key": f"{NOON.isoformat()}#{request_id}",
        "request_id": request_id,
        **extra,
    }


def test_reserve_within_the_limit(store: BudgetStore) -> None:
    # Given a tenant with a $1 daily limit
    # When it reserves $0.20
    reservation = store.reserve(tenant(), 0.2, "r1")
    # Then the hold is recorded in the month item
    assert reservation.amount_usd == 0.2
    assert (reservation.month_key, reservation.day_attribute) == ("budget#2025-01", "day_10_nano_usd")
    state = store.state("acme")
    assert (state["month_usd"], state["day_usd"], state["open_holds"]) == (0.2, 0.2, 1)


def test_daily_limit_refuses_with_retry_after(store: BudgetStore) -> None:
    # Given $0.60 of a $1 daily limit held
    store.reserve(tenant(), 0.6, "r1")
    # When a $0.50 request asks for room
    with pytest.raises(BudgetExhaustedError) as caught:
        store.reserve(tenant(), 0.5, "r2")
    # Then it is refused until midnight UTC, with a message naming the limit
    assert caught.value.retry_after_s == 12 * 3600
    assert caught.value.period == "daily"
    assert str(caught.value) == (
        "tenant acme's daily budget of $1.00 would be exceeded: $0.60 committed, "
        "this request may cost up to $0.50"
    )
    assert store.state("acme")["month_usd"] == 0.6


def test_monthly_limit_spans_days(store: BudgetStore, clock: Clock) -> None:
    # Given a $1 monthly limit (no daily one) with $0.60 spent yesterday
    store.settle(store.reserve(tenant(None, 1.0), 0.7, "r1"), 0.6, LEDGER, None, None)
    clock.now = NOON + timedelta(days=1)
    # When a $0.50 request comes today
    with pytest.raises(BudgetExhaustedError) as caught:
        store.reserve(tenant(None, 1.0), 0.5, "r2")
    # Then the monthly limit refuses it until February
    assert caught.value.period == "monthly"
    assert caught.value.retry_after_s == int((datetime(2025, 2, 1, tzinfo=UTC) - clock.now).total_seconds())
    # And a request that fits is admitted on today's day attribute
    assert store.reserve(tenant(None, 1.0), 0.4, "r3").day_attribute == "day_11_nano_usd"


def test_request_larger_than_the_limit_is_refused(store: BudgetStore) -> None:
    # Given an empty budget of $1 a day
    # When one request may cost $1.50
    # Then it is refused without a hold
    with pytest.raises(BudgetExhaustedError, match=r"daily budget of \$1.00"):
        store.reserve(tenant(), 1.5, "r1")
    assert store.state("acme")["open_holds"] == 0


def test_settle_charges_the_real_cost_once(store: BudgetStore, aws: tuple[Any, dict[str, str]]) -> None:
    # Given a $0.50 hold
    client, tables = aws
    reservation = store.reserve(tenant(), 0.5, "r1")
    # When it settles at $0.20, twice
    first = store.settle(reservation, 0.2, LEDGER, provenance("r1", cost_usd=0.2), tables["ProvenanceTable"])
    second = store.settle(reservation, 0.2, LEDGER, provenance("r1", cost_usd=0.2), tables["ProvenanceTable"])
    # Then the first charges $0.20 and stores provenance, the second changes nothing
    assert first == SettleOutcome(charged_usd=0.2, provenance_written=True, already_settled=False)
    assert second == SettleOutcome(charged_usd=0.0, provenance_written=False, already_settled=True)
    state = store.state("acme")
    assert (state["month_usd"], state["day_usd"], state["ledger_usd"], state["open_holds"]) == (
        0.2,
        0.2,
        0.2,
        0,
    )
    stored = client.scan(TableName=tables["ProvenanceTable"])["Items"]
    assert [item["cost_usd"] for item in stored] == [{"N": "0.2"}]
    ledger = client.get_item(
        TableName=tables["BudgetTable"], Key={"pk": {"S": "tenant#acme"}, "sk": {"S": "ledger#2025-01#r1"}}
    )["Item"]
    assert (ledger["actual_usd"], ledger["reserved_usd"], ledger["route"]) == (
        {"N": "0.2"},
        {"N": "0.5"},
        {"S": "chat"},
    )


def test_duplicate_reservation_does_not_double_hold(store: BudgetStore) -> None:
    # Given a $0.30 hold for request r1
    first = store.reserve(tenant(), 0.3, "r1")
    # When r1 reserves again (a retried call), even for another amount
    second = store.reserve(tenant(), 0.4, "r1")
    # Then the original hold is returned and nothing more is held
    assert second == first
    state = store.state("acme")
    assert (state["month_usd"], state["open_holds"]) == (0.3, 1)


def test_expired_hold_is_released_lazily(store: BudgetStore, clock: Clock) -> None:
    # Given $0.80 held by a request whose container died
    abandoned = store.reserve(tenant(), 0.8, "dead")
    clock.now = NOON + timedelta(seconds=901)
    # When a $0.50 request comes after the hold expired
    store.reserve(tenant(), 0.5, "r2")
    # Then the abandoned hold was released and the new one admitted
    state = store.state("acme")
    assert (state["month_usd"], state["open_holds"]) == (0.5, 1)
    # And if the abandoned request settles after all, its real cost is charged in full, all of it overage
    outcome = store.settle(abandoned, 0.1, LEDGER, None, None)
    assert outcome == SettleOutcome(
        charged_usd=0.1, provenance_written=False, already_settled=False, overage_usd=0.1
    )
    state = store.state("acme")
    assert (state["month_usd"], state["ledger_usd"], state["open_holds"]) == (0.6, 0.1, 1)


def test_release_gives_the_hold_back(store: BudgetStore) -> None:
    # Given a $0.70 hold
    reservation = store.reserve(tenant(), 0.7, "r1")
    # When it is released, twice
    store.release(reservation)
    store.release(reservation)
    # Then nothing is committed and a full-size request fits again
    state = store.state("acme")
    assert (state["month_usd"], state["open_holds"]) == (0.0, 0)
    store.reserve(tenant(), 1.0, "r2")


@pytest.mark.parametrize("case", ["missing table", "oversized item"])
def test_provenance_failure_still_settles(
    store: BudgetStore, aws: tuple[Any, dict[str, str]], case: str
) -> None:
    # Given a hold and a provenance record that cannot be stored
    _, tables = aws
    reservation = store.reserve(tenant(), 0.5, "r1")
    table = "no-such-table" if case == "missing table" else tables["ProvenanceTable"]
    record = provenance("r1", blob="x" * 500_000 if case == "oversized item" else "small")
    # When the request settles
    outcome = store.settle(reservation, 0.25, LEDGER, record, table)
    # Then the budget is settled without provenance
    assert outcome == SettleOutcome(charged_usd=0.25, provenance_written=False, already_settled=False)
    state = store.state("acme")
    assert (state["month_usd"], state["ledger_usd"], state["open_holds"]) == (0.25, 0.25, 0)


def test_missing_budget_table_is_unavailable(aws: tuple[Any, dict[str, str]]) -> None:
    # Given a store on a table that does not exist (with its own default client)
    store = BudgetStore("no-such-table")
    # When a request reserves
    # Then the store is reported unavailable
    with pytest.raises(BudgetStoreUnavailableError, match="ResourceNotFoundException"):
        store.reserve(tenant(), 0.1, "r1")


def test_unreachable_endpoint_fails_fast() -> None:
    # Given a store whose endpoint refuses connections
    store = BudgetStore("budget", dynamodb_client("http://127.0.0.1:1", "us-east-1"))
    reservation = Reservation("acme", "r1", 0.1, "budget#2025-01", "day_10_nano_usd", "hold#r1", 0)
    started = time.monotonic()
    # When a request reserves, settles or releases
    # Then reserve and settle report the store unavailable within seconds, and release only logs
    with pytest.raises(BudgetStoreUnavailableError, match="unreachable"):
        store.reserve(tenant(), 0.1, "r1")
    with pytest.raises(BudgetStoreUnavailableError, match="unreachable"):
        store.settle(reservation, 0.1, LEDGER, None, None)
    store.release(reservation)
    assert time.monotonic() - started < 10


def test_concurrent_requests_never_overspend() -> None:
    # Given a $1 daily budget behind a real HTTP endpoint that applies one write at a time
    with serial_moto_server() as endpoint:
        client = dynamodb_client(endpoint, "us-east-1")
        tables = create_tables(client)
        store = BudgetStore(tables["BudgetTable"], client, now=lambda: NOON)

        def attempt(index: int) -> Reservation | None:
            try:
                return store.reserve(tenant(), 0.02, f"req-{index}")
            except BudgetExhaustedError:
                return None

        # When 200 requests of $0.02 race for it
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(attempt, range(200)))
        admitted = [reservation for reservation in results if reservation is not None]
        # Then exactly the 50 that fit are admitted and the limit holds
        assert len(admitted) == 50
        state = store.state("acme")
        assert state["month_usd"] <= 1.0
        assert state["day_usd"] <= 1.0
        assert state["open_holds"] == 50

        # When each admitted request settles at a random real cost no higher than its hold
        costs = random.Random(7)
        actuals = {r.request_id: round(costs.uniform(0, 0.02), 9) for r in admitted}
        with ThreadPoolExecutor(max_workers=32) as pool:
            outcomes = list(
                pool.map(lambda r: store.settle(r, actuals[r.request_id], LEDGER, None, None), admitted)
            )
        # Then every charge landed once and the ledger adds up to what is committed
        assert not any(outcome.already_settled for outcome in outcomes)
        state = store.state("acme")
        assert state["open_holds"] == 0
        assert state["ledger_entries"] == 50
        assert abs(state["ledger_usd"] - state["month_usd"]) <= 1e-9
        assert abs(state["month_usd"] - sum(actuals.values())) <= 1e-9
