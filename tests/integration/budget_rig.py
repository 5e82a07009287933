"""Shared pieces of the budget store tests: a settable clock, tenants, fault-injecting clients, and a
moto patch that keeps 3,500-hold tests fast."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from modelrouter.accounting import BudgetStore
from modelrouter.policy.tenants import Tenant

__all__ = [
    "LEDGER",
    "NOON",
    "Clock",
    "FailingTransactions",
    "assert_books_balance",
    "item_level_transaction_rollback",
    "ledger_items",
    "tenant",
]

NOON = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
"""The default moment of the budget tests: 10 January 2025, 12:00 UTC."""

LEDGER = {"route": "chat", "model": "oai", "outcome": "success"}
"""Ledger fields settled with in the budget tests."""


class Clock:
    """A settable wall clock."""

    def __init__(self, now: datetime = NOON) -> None:
        self.now = now
        """What the clock reads."""

    def __call__(self) -> datetime:
        """The current reading."""
        return self.now


def tenant(daily: float | None = 1.0, monthly: float | None = None, tenant_id: str = "acme") -> Tenant:
    """A tenant with the given daily and monthly limits (None: no such limit)."""
    return Tenant.model_validate({"id": tenant_id, "budget": {"daily_usd": daily, "monthly_usd": monthly}})


class FailingTransactions:
    """A DynamoDB client whose ``TransactWriteItems`` fails (throttled) while :attr:`failing` is set."""

    def __init__(self, client: Any) -> None:
        self.client = client
        """The real client every other call goes to."""
        self.failing = True
        """Whether ``transact_write_items`` raises."""
        self.calls = 0
        """How many ``transact_write_items`` calls failed."""

    def transact_write_items(self, **arguments: Any) -> Any:
        """Raise a throttling error while failing, else pass the call on."""
        from botocore.exceptions import ClientError

        if not self.failing:
            return self.client.transact_write_items(**arguments)
        self.calls += 1
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def ledger_items(client: Any, table: str, tenant_id: str = "acme") -> list[dict[str, Any]]:
    """The tenant's ledger items, all months."""
    found = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": f"tenant#{tenant_id}"}, ":prefix": {"S": "ledger#"}},
        ConsistentRead=True,
    )
    items: list[dict[str, Any]] = found["Items"]
    return items


def assert_books_balance(store: BudgetStore, charged: dict[str, Decimal], tenant_id: str = "acme") -> None:
    """No open holds; one ledger item per charged request, at its charge; totals = ledger = Σ charged."""
    state = store.state(tenant_id)
    entries = {
        item["request_id"]["S"]: Decimal(item["actual_usd"]["N"])
        for item in ledger_items(store.client, store.table_name, tenant_id)
    }
    assert state["open_holds"] == 0
    assert entries == charged
    assert Decimal(str(state["ledger_usd"])) == sum(charged.values(), Decimal(0))
    assert Decimal(str(state["month_usd"])) == sum(charged.values(), Decimal(0))


@contextmanager
def item_level_transaction_rollback() -> Iterator[None]:
    """Make moto's ``TransactWriteItems`` back up only the items it writes, not whole tables.

    moto deep-copies every table a transaction touches so it can roll back, which makes thousands of
    transactions on one table quadratic. This snapshot of just the written items rolls back the same.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    def no_table_copies(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        snapshots = []
        for entry in transact_items:
            operation = next(iter(entry.values()))
            try:
                table = self.get_table(operation["TableName"])
            except Exception:  # a missing table: moto reports it per item
                continue
            key = operation.get("Key") or {
                name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
            }
            current = self.get_item(operation["TableName"], key)
            snapshots.append((operation["TableName"], key, copy.deepcopy(current)))
        shim = SimpleNamespace(deepcopy=no_table_copies, copy=copy.copy)
        saved, models.copy = models.copy, shim  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, item in snapshots:
                if item is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            raise
        finally:
            models.copy = saved

    DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
