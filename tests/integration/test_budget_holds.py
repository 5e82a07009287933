"""Holds as items of their own (issue 8): many open holds, exact charges, failed settlements, zero totals.

Every test ends with the books balanced: no open holds, one ledger item per charged request at its
charge, and the month total equal to the ledger total.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.accounting import BudgetExhaustedError, BudgetStore, BudgetStoreUnavailableError
from tests.aws import create_tables
from tests.helpers import fake_aws_environment
from tests.integration.budget_rig import (
    LEDGER,
    NOON,
    Clock,
    FailingTransactions,
    assert_books_balance,
    item_level_transaction_rollback,
    tenant,
)

EXPIRED = NOON + timedelta(seconds=901)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)


@pytest.fixture
def aws() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield client, create_tables(client)["BudgetTable"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(aws: tuple[Any, str], clock: Clock) -> BudgetStore:
    return BudgetStore(aws[1], aws[0], now=clock, hold_seconds=900)


def hold_item(store: BudgetStore, request_id: str) -> dict[str, Any] | None:
    key = {"pk": {"S": "tenant#acme"}, "sk": {"S": f"hold#{request_id}"}}
    found: dict[str, Any] | None = store.client.get_item(TableName=store.table_name, Key=key).get("Item")
    return found


def test_thousands_of_open_holds_fit(store: BudgetStore, clock: Clock) -> None:
    # Given a tenant with room for far more than 3,500 holds of one cent
    big = tenant(daily=100.0)
    # When 3,500 requests hold a cent each at the same time
    with item_level_transaction_rollback():
        reservations = [store.reserve(big, 0.01, f"req-{index:04d}") for index in range(3_500)]
        # Then all are admitted, each as an item of its own far below DynamoDB's 400 KB
        state = store.state("acme")
        assert (len(reservations), state["open_holds"], state["month_usd"]) == (3_500, 3_500, 35.0)
        items = store.client.scan(TableName=store.table_name)["Items"]
        assert max(len(json.dumps(item)) for item in items) < 1_000
        # And once expired, a sweep gives every one of them back
        clock.now = EXPIRED
        assert store.sweep("acme") == 3_500
    assert_books_balance(store, {})


def test_release_after_settle_changes_nothing(store: BudgetStore) -> None:
    # Given a $0.50 hold settled at $0.20
    reservation = store.reserve(tenant(), 0.5, "r1")
    store.settle(reservation, 0.2, LEDGER, None, None)
    # When it is released afterwards, twice
    store.release(reservation)
    store.release(reservation)
    # Then the charge stands and nothing is given back
    assert store.state("acme")["month_usd"] == 0.2
    assert_books_balance(store, {"r1": Decimal("0.2")})


def test_total_back_to_exactly_zero_can_reserve_again(store: BudgetStore) -> None:
    # Given a hold of an amount with nine decimals, released: the month is back to exactly zero
    store.release(store.reserve(tenant(1.0, 5.0), 0.123456789, "r1"))
    month = store.client.get_item(
        TableName=store.table_name, Key={"pk": {"S": "tenant#acme"}, "sk": {"S": "budget#2025-01"}}
    )["Item"]
    assert (month["month_nano_usd"], month["day_10_nano_usd"]) == ({"N": "0"}, {"N": "0"})
    # When the tenant reserves and settles again
    reservation = store.reserve(tenant(1.0, 5.0), 0.2, "r2")
    store.settle(reservation, 0.000000001, LEDGER, None, None)
    # Then both work (the store stayed available) and the books balance to the nano-dollar
    assert_books_balance(store, {"r2": Decimal("0.000000001")})


def test_charges_above_the_hold_are_overage(store: BudgetStore) -> None:
    # Given a $0.10 hold
    reservation = store.reserve(tenant(), 0.1, "r1")
    # When the provider over-delivers and the request costs $0.25
    outcome = store.settle(reservation, 0.25, LEDGER, None, None)
    # Then the actual cost is charged in full and the excess is reported as overage
    assert (outcome.charged_usd, outcome.overage_usd) == (0.25, 0.15)
    assert_books_balance(store, {"r1": Decimal("0.25")})


def test_refusals_say_what_would_fit(store: BudgetStore) -> None:
    # Given $0.60 of a $1 daily limit (and a $5 monthly one) held
    held = store.reserve(tenant(1.0, 5.0), 0.6, "r1")
    # When a $0.50 and a $1.50 request ask for room
    refused = []
    for index, amount in enumerate((0.5, 1.5)):
        with pytest.raises(BudgetExhaustedError) as caught:
            store.reserve(tenant(1.0, 5.0), amount, f"big-{index}")
        refused.append(caught.value)
    # Then both are told the $0.40 left under the daily limit of $1
    assert [(error.period, error.available_usd, error.limit_usd) for error in refused] == [
        ("daily", 0.4, 1.0),
        ("daily", 0.4, 1.0),
    ]
    store.release(held)
    assert_books_balance(store, {})


@pytest.mark.parametrize("swept_first", [False, True], ids=["hold open", "hold already swept"])
def test_failed_settlement_is_charged_by_the_sweep(
    aws: tuple[Any, str], clock: Clock, swept_first: bool
) -> None:
    # Given a $0.50 hold, and a store whose transactions then fail
    client = FailingTransactions(aws[0])
    client.failing = False
    store = BudgetStore(aws[1], client, now=clock)
    reservation = store.reserve(tenant(), 0.5, "r1")
    if swept_first:
        clock.now = EXPIRED
        assert store.sweep("acme") == 1
    client.failing = True
    # When the request, which cost $0.70, cannot be settled
    with pytest.raises(BudgetStoreUnavailableError):
        store.settle(reservation, 0.7, LEDGER, None, None)
    # Then its hold item carries the charge and is never given back by a release
    marked = hold_item(store, "r1")
    assert marked is not None
    assert marked["charge_usd"] == {"N": "0.7"}
    store.release(reservation)
    # And once the table works again, the sweep charges it, exactly once
    client.failing = False
    clock.now = EXPIRED
    assert (store.sweep("acme"), store.sweep("acme")) == (1, 0)
    assert store.settle(reservation, 0.7, LEDGER, None, None).already_settled
    assert_books_balance(store, {"r1": Decimal("0.7")})


def test_settlement_written_despite_an_error_is_not_charged_twice(aws: tuple[Any, str], clock: Clock) -> None:
    # Given a store whose settlement transaction is written but then reported as failed
    real = aws[0]

    class WrittenThenFailed(FailingTransactions):
        def transact_write_items(self, **arguments: Any) -> Any:
            if self.failing:
                real.transact_write_items(**arguments)
            return super().transact_write_items(**arguments)

    client = WrittenThenFailed(real)
    client.failing = False
    store = BudgetStore(aws[1], client, now=clock)
    reservation = store.reserve(tenant(), 0.5, "r1")
    client.failing = True
    # When settling reports failure, and the hold is marked with the charge
    with pytest.raises(BudgetStoreUnavailableError):
        store.settle(reservation, 0.3, LEDGER, None, None)
    client.failing = False
    # Then the sweep finds the charge already in the ledger and only drops the mark
    clock.now = EXPIRED
    assert store.sweep("acme") == 1
    assert_books_balance(store, {"r1": Decimal("0.3")})


def test_refused_reservation_charges_a_marked_hold(aws: tuple[Any, str], clock: Clock) -> None:
    # Given a $0.80 hold of a $1 daily limit whose $0.30 settlement failed
    client = FailingTransactions(aws[0])
    client.failing = False
    store = BudgetStore(aws[1], client, now=clock)
    reservation = store.reserve(tenant(), 0.8, "r1")
    client.failing = True
    with pytest.raises(BudgetStoreUnavailableError):
        store.settle(reservation, 0.3, LEDGER, None, None)
    client.failing = False
    # When a $0.50 request comes (it fits only once the marked hold is settled)
    second = store.reserve(tenant(), 0.5, "r2")
    # Then the marked hold was charged its $0.30 and the new request admitted
    store.settle(second, 0.5, LEDGER, None, None)
    assert_books_balance(store, {"r1": Decimal("0.3"), "r2": Decimal("0.5")})
