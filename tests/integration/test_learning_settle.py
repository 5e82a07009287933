"""The learning update rides in the settlement transaction, against moto (issue 13, item 2): it lands
exactly once with the charge however settling is repeated, and when only it fails the request still
settles and its stored record claims no learning."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from modelrouter.accounting import BudgetStore
from modelrouter.accounting.settlement import ExtraWrite
from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.executor import Executor
from modelrouter.learning.state import StateKey, reward_update
from modelrouter.policy import ProviderKind
from modelrouter.provenance_table import ProvenanceTable
from modelrouter.service import RouterService
from tests.aws import create_tables
from tests.fakes import FakeClock, ScriptedProvider, answer
from tests.helpers import fake_aws_environment
from tests.integration.budget_rig import LEDGER, NOON, Clock, tenant
from tests.service_fakes import Recorder, StaticPolicies
from tests.unit.test_attempt_lifecycle import body
from tests.unit.test_provenance_outcomes import BANDIT, THOMPSON, bandit_key, drawn, policy

KEY = bandit_key(NOON)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str]]]:
    """Moto with the template's tables (the learning table among them): the client and table names."""
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield client, create_tables(client)


@pytest.fixture
def store(aws: tuple[Any, dict[str, str]]) -> BudgetStore:
    client, tables = aws
    return BudgetStore(tables["BudgetTable"], client, now=Clock(), hold_seconds=900)


def record(request_id: str, applied_to: StateKey | None) -> dict[str, Any]:
    """A provenance record whose reward of 1 was (or was not) added to ``applied_to``."""
    reward = {"value": 1, "source": "implicit", "applied_to": applied_to.as_json() if applied_to else None}
    return {"tenant_id": "acme", "sort_key": f"{NOON.isoformat()}#{request_id}", "request_id": request_id,
            "reward": reward}  # fmt: skip


def learning_write(table: str, request_id: str, key: StateKey = KEY) -> ExtraWrite:
    """The extra write of a request rewarded 1 at $0.01, with its record for when it cannot land."""
    return ExtraWrite(reward_update(table, key, 1.0, 0.01), record(request_id, None))


def counts(client: Any, table: str, key: StateKey = KEY) -> tuple[Decimal, Decimal, Decimal] | None:
    """The item's (pulls, quality_sum, cost_sum), or None when it does not exist."""
    found = client.get_item(TableName=table, Key={"pk": {"S": key.pk}, "sk": {"S": key.sk}}).get("Item")
    if found is None:
        return None
    return tuple(Decimal(found[name]["N"]) for name in ("pulls", "quality_sum", "cost_sum"))  # type: ignore[return-value]


def stored_reward(client: Any, table: str, request_id: str) -> Any:
    """The ``reward.applied_to`` of the stored record of ``request_id``."""
    found = client.get_item(
        TableName=table,
        Key={"tenant_id": {"S": "acme"}, "sort_key": {"S": f"{NOON.isoformat()}#{request_id}"}},
    )["Item"]
    return found["reward"]["M"]["applied_to"]


def test_the_learning_update_lands_once_with_the_charge_however_settling_is_repeated(
    store: BudgetStore, aws: tuple[Any, dict[str, str]]
) -> None:
    client, tables = aws
    learning, provenance = tables["LearningTable"], tables["ProvenanceTable"]
    # Given a hold settled with a learning update
    reservation = store.reserve(tenant(), 0.5, "r1")
    first = store.settle(
        reservation, 0.2, LEDGER, record("r1", KEY), provenance, extra=learning_write(learning, "r1")
    )
    # When the settle call is retried, and the request is redelivered (held again, settled again)
    again = store.settle(
        reservation, 0.2, LEDGER, record("r1", KEY), provenance, extra=learning_write(learning, "r1")
    )
    redelivered = store.reserve(tenant(), 0.5, "r1")
    late = store.settle(
        redelivered, 0.2, LEDGER, record("r1", KEY), provenance, extra=learning_write(learning, "r1")
    )
    # Then one outcome was counted, with the one charge, and nothing is left held
    assert (first.extra_written, again.extra_written, late.extra_written) == (True, False, False)
    assert (again.already_settled, late.already_settled) == (True, True)
    assert counts(client, learning) == (1, 1, Decimal("0.01"))
    assert store.state("acme")["open_holds"] == 0
    assert store.state("acme")["ledger_usd"] == 0.2
    # and the stored record names the item
    assert stored_reward(client, provenance, "r1")["M"]["sk"] == {"S": KEY.sk}


class ConflictOnce:
    """A client whose first ``TransactWriteItems`` collides with another transaction."""

    def __init__(self, client: Any) -> None:
        self.client, self.conflicts = client, 0

    def transact_write_items(self, **arguments: Any) -> Any:
        if self.conflicts == 0 and len(arguments["TransactItems"]) > 2:  # the settlement, not the hold
            self.conflicts += 1
            error = {"Error": {"Code": "TransactionConflictException", "Message": "conflict"}}
            raise ClientError(error, "TransactWriteItems")
        return self.client.transact_write_items(**arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_settlement_retried_after_a_conflict_counts_once(aws: tuple[Any, dict[str, str]]) -> None:
    client, tables = aws
    # Given a store whose settlement meets one conflict
    conflicting = ConflictOnce(client)
    store = BudgetStore(tables["BudgetTable"], conflicting, now=Clock(), hold_seconds=900)
    reservation = store.reserve(tenant(), 0.5, "r1")
    # When it settles with a learning update
    settled = store.settle(reservation, 0.2, LEDGER, record("r1", KEY), tables["ProvenanceTable"],
                           extra=learning_write(tables["LearningTable"], "r1"))  # fmt: skip
    # Then the retry wrote it, once
    assert conflicting.conflicts == 1
    assert settled.extra_written
    assert counts(client, tables["LearningTable"]) == (1, 1, Decimal("0.01"))


@pytest.mark.parametrize("fault", ["missing_table", "unusable_item"])
def test_when_only_the_learning_update_fails_the_request_settles_without_it(
    store: BudgetStore, aws: tuple[Any, dict[str, str]], fault: str
) -> None:
    client, tables = aws
    learning = tables["LearningTable"]
    # Given a learning update that cannot be applied: its table is gone, or its item holds a text count
    if fault == "missing_table":
        learning = "no-such-table"
    else:
        client.put_item(
            TableName=learning, Item={"pk": {"S": KEY.pk}, "sk": {"S": KEY.sk}, "pulls": {"S": "x"}}
        )
    reservation = store.reserve(tenant(), 0.5, "r1")
    # When the request settles with it
    settled = store.settle(reservation, 0.2, LEDGER, record("r1", KEY), tables["ProvenanceTable"],
                           extra=learning_write(learning, "r1"))  # fmt: skip
    # Then it is charged and recorded, the record claiming no learning item, and nothing was counted
    assert (settled.charged_usd, settled.provenance_written, settled.extra_written) == (0.2, True, False)
    assert stored_reward(client, tables["ProvenanceTable"], "r1") == {"NULL": True}
    assert store.state("acme")["ledger_usd"] == 0.2
    if fault == "unusable_item":
        item = client.get_item(TableName=learning, Key={"pk": {"S": KEY.pk}, "sk": {"S": KEY.sk}})["Item"]
        assert item["pulls"] == {"S": "x"}


class CountingClient:
    """A DynamoDB client that counts calls by operation."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if not callable(method) or name.startswith("_") or name in {"meta", "exceptions"}:
            return method

        def counted(*arguments: Any, **options: Any) -> Any:
            self.calls[name] += 1
            return method(*arguments, **options)

        return counted


def test_a_bandit_request_learns_in_two_dynamodb_calls(
    aws: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tables = aws
    # Given the service on moto with a learning table, and a bandit route that draws m1
    drawn(monkeypatch, choice=THOMPSON, propensity=THOMPSON.probabilities["m1"], bandit=BANDIT)
    counting = CountingClient(client)
    routing = policy()
    clock = FakeClock()
    provider = ScriptedProvider(ProviderKind.BEDROCK, clock, {"m1": [answer()]})
    breakers = CircuitBreakers(routing.execution.cooldown, clock)
    service = RouterService(
        StaticPolicies(routing), BudgetStore(tables["BudgetTable"], counting), lambda active: Executor(
            {ProviderKind.BEDROCK: provider}, active, clock=clock, breakers=breakers),
        tables["ProvenanceTable"], Recorder(), health=breakers,
        provenance=ProvenanceTable(tables["ProvenanceTable"], counting), clock=clock,
        learning_table=tables["LearningTable"],
    )  # fmt: skip
    # When a warm request is answered
    outcome = service.chat("t1", body(), "req-1")
    # Then it took the reserve and the settle transactions, nothing else
    assert counting.calls == Counter({"transact_write_items": 2})
    # and the settlement counted m1's reward in its segment's window
    started = outcome.started
    key = bandit_key(started)
    pulls, quality, cost = counts(client, tables["LearningTable"], key) or (None, None, None)
    assert (pulls, quality) == (1, 1)
    assert float(cost or 0) == pytest.approx(outcome.closed.cost_usd)
    assert outcome.closed.record["reward"]["applied_to"] == key.as_json()
    assert isinstance(started, datetime)
