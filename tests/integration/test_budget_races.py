"""Budgets under real threads (issue 8, item 5): limits hold, and an expired hold returns exactly once.

The store runs against a moto server that applies one request at a time (as DynamoDB applies each
transaction atomically) while the threads race each other over real HTTP.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from modelrouter.accounting import (
    BudgetExhaustedError,
    BudgetStore,
    Reservation,
    SettleOutcome,
    dynamodb_client,
)
from modelrouter.accounting.records import usd
from tests.aws import create_tables, serial_moto_server
from tests.helpers import fake_aws_environment
from tests.integration.budget_rig import LEDGER, NOON, Clock, assert_books_balance, ledger_items, tenant

HOLD = 0.001
LIMIT = 0.05


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[Any, str]]:
    with pytest.MonkeyPatch.context() as patch:
        fake_aws_environment(patch)
        with serial_moto_server() as url:
            client = dynamodb_client(url, "us-east-1")
            yield client, create_tables(client)["BudgetTable"]


def admit(store: BudgetStore, tenant_id: str, count: int) -> list[Reservation]:
    """``count`` requests of ``HOLD`` each race for ``tenant_id``'s ``LIMIT``; the admitted ones."""

    def attempt(index: int) -> Reservation | None:
        try:
            return store.reserve(tenant(LIMIT, tenant_id=tenant_id), HOLD, f"{tenant_id}-{index:03d}")
        except BudgetExhaustedError:
            return None

    with ThreadPoolExecutor(max_workers=32) as pool:
        return [reservation for reservation in pool.map(attempt, range(count)) if reservation is not None]


def settle_all(
    store: BudgetStore, costs: dict[str, float], admitted: list[Reservation]
) -> list[SettleOutcome]:
    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(lambda r: store.settle(r, costs[r.request_id], LEDGER, None, None), admitted))


def test_hundred_holds_admit_fifty_and_charges_stay_within_the_limit(endpoint: tuple[Any, str]) -> None:
    # Given a $0.05 daily budget and 100 concurrent requests holding $0.001 each
    store = BudgetStore(endpoint[1], endpoint[0], now=lambda: NOON)
    admitted = admit(store, "under", 100)
    # Then exactly 50 are admitted
    assert len(admitted) == 50
    # When each settles at a random actual cost no higher than its hold
    draw = random.Random(8)
    costs = {r.request_id: round(draw.uniform(0, HOLD), 9) for r in admitted}
    outcomes = settle_all(store, costs, admitted)
    # Then each is charged exactly its cost, nothing is overage, and committed spend is within the limit
    assert [outcome.charged_usd for outcome in outcomes] == [costs[r.request_id] for r in admitted]
    assert not any(outcome.overage_usd or outcome.already_settled for outcome in outcomes)
    assert store.state("under")["day_usd"] <= LIMIT
    assert_books_balance(store, {rid: usd(cost) for rid, cost in costs.items()}, "under")


def test_charges_above_the_holds_are_overage_on_top_of_the_limit(endpoint: tuple[Any, str]) -> None:
    # Given the 50 admitted holds of $0.001 against $0.05
    store = BudgetStore(endpoint[1], endpoint[0], now=lambda: NOON)
    admitted = admit(store, "over", 100)
    assert len(admitted) == 50
    # When each settles at 1.5 times its hold (a provider ignoring max_tokens)
    costs = {r.request_id: HOLD * 1.5 for r in admitted}
    outcomes = settle_all(store, costs, admitted)
    # Then the actual cost is charged, the excess recorded as overage, and spend ≤ limit + Σ overage
    overage = sum((usd(outcome.overage_usd) for outcome in outcomes), Decimal(0))
    assert overage == Decimal("0.025")
    day = usd(store.state("over")["day_usd"])
    assert day == Decimal("0.075")
    assert day <= usd(LIMIT) + overage
    ledger = ledger_items(store.client, store.table_name, "over")
    assert {item["overage_usd"]["N"] for item in ledger} == {"0.0005"}
    assert_books_balance(store, {rid: usd(cost) for rid, cost in costs.items()}, "over")


def test_late_settle_after_a_sweep_charges_once(endpoint: tuple[Any, str]) -> None:
    # Given a hold of $0.01 that expired and was swept
    clock = Clock()
    store = BudgetStore(endpoint[1], endpoint[0], now=clock)
    reservation = store.reserve(tenant(1.0, tenant_id="late"), 0.01, "late-1")
    clock.now = NOON + timedelta(seconds=901)
    assert store.sweep("late") == 1
    # When its request settles late at $0.018, twice, with sweeps in between
    first = store.settle(reservation, 0.018, LEDGER, None, None)
    assert store.sweep("late") == 0
    second = store.settle(reservation, 0.018, LEDGER, None, None)
    store.release(reservation)
    # Then the actual cost is charged once, all of it overage
    assert (first.charged_usd, first.overage_usd, first.already_settled) == (0.018, 0.018, False)
    assert second.already_settled
    assert_books_balance(store, {"late-1": Decimal("0.018")}, "late")


@pytest.mark.parametrize("seed", range(4))
def test_sweeps_settles_and_releases_racing_return_each_hold_once(
    endpoint: tuple[Any, str], seed: int
) -> None:
    # Given expired holds, each raced by two sweeps, two settles and a release in a random order
    draw = random.Random(seed)
    clock = Clock()
    store = BudgetStore(endpoint[1], endpoint[0], now=clock)
    tenant_id = f"race-{seed}"
    charged: dict[str, Decimal] = {}
    for round_ in range(10):
        clock.now = NOON + timedelta(hours=round_)
        reservation = store.reserve(tenant(1.0, tenant_id=tenant_id), 0.01, f"{tenant_id}-{round_}")
        clock.now += timedelta(seconds=draw.choice([100, 901]))  # the sweeps may or may not find it expired
        cost = round(draw.uniform(0, 0.02), 9)
        moves: list[Callable[[], Any]] = [
            lambda: store.sweep(tenant_id),
            lambda: store.sweep(tenant_id),
            lambda r=reservation, c=cost: store.settle(r, c, LEDGER, None, None),
            lambda r=reservation, c=cost: store.settle(r, c, LEDGER, None, None),
            lambda r=reservation: store.release(r),
        ]
        draw.shuffle(moves)
        # When they all run at once
        results = race(moves)
        # Then exactly one settle charged the actual cost; the other found it settled
        settled = [result for result in results if isinstance(result, SettleOutcome)]
        assert sorted(outcome.already_settled for outcome in settled) == [False, True]
        charged[reservation.request_id] = usd(cost)
    # And the books balance: each hold returned once, each cost charged once, nothing open
    assert_books_balance(store, charged, tenant_id)


def race(moves: list[Callable[[], Any]]) -> list[Any]:
    """Run ``moves`` in threads released together; their results, in order."""
    start = threading.Barrier(len(moves))

    def run(move: Callable[[], Any]) -> Any:
        start.wait()
        return move()

    with ThreadPoolExecutor(max_workers=len(moves)) as pool:
        return list(pool.map(run, moves))
