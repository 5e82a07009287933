"""``modelrouter usage`` and ``audit`` at the edges of days and months: requests served by the real service
and budget store on moto with injected clocks, at the last millisecond of January and the first of
February. Each lands in its own day and month, in the budget's figures and in the provenance windows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from modelrouter.accounting import BudgetStore
from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.executor import Executor
from modelrouter.policy import ProviderKind
from modelrouter.provenance_table import ProvenanceTable
from modelrouter.service import RouterService
from tests.aws import create_tables
from tests.fakes import FakeClock, ScriptedProvider, answer
from tests.helpers import build_policy, fake_aws_environment, minimal_policy, run_cli, three_models
from tests.integration.budget_rig import Clock
from tests.service_fakes import Recorder, StaticPolicies

LAST = datetime(2025, 1, 31, 23, 59, 59, 999000, tzinfo=UTC)
"""The last millisecond of January (UTC)."""
FIRST = datetime(2025, 2, 1, tzinfo=UTC)
"""The first millisecond of February."""
TRAFFIC = {"r-last": LAST, "r-first": FIRST}
"""Request id → the moment it is served at."""


def policy_document() -> dict[str, Any]:
    """One tenant with a daily and a monthly limit, one route over three models."""
    document = minimal_policy()
    document["models"] = three_models()
    document["tenants"][0]["budget"] = {"daily_usd": 10, "monthly_usd": 100}
    document["routes"] = [{"name": "general", "models": ["m1", "m2", "m3"]}]
    return document


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, dict[str, str], Path]]:
    """The tables after :data:`TRAFFIC` was served, and the policy file."""
    fake_aws_environment(monkeypatch)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy_document(), sort_keys=False))
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        tables = create_tables(dynamodb)
        wall, ticks = Clock(LAST), FakeClock()
        routing = build_policy(policy_document())
        provider = ScriptedProvider(
            ProviderKind.BEDROCK, ticks, {"m1": [answer()], "m2": [answer()], "m3": [answer()]}
        )
        breakers = CircuitBreakers(routing.execution.cooldown, ticks)
        service = RouterService(
            StaticPolicies(routing),
            BudgetStore(tables["BudgetTable"], dynamodb, now=wall),
            lambda active: Executor({ProviderKind.BEDROCK: provider}, active, clock=ticks, breakers=breakers),
            tables["ProvenanceTable"],
            Recorder(),
            health=breakers,
            provenance=ProvenanceTable(tables["ProvenanceTable"], dynamodb),
            clock=ticks,
            wall_clock=wall,
        )
        for request_id, moment in TRAFFIC.items():
            wall.now = moment
            body = {"model": "auto", "messages": [{"role": "user", "content": f"question {request_id}"}]}
            service.chat("t1", json.dumps(body).encode(), request_id)
        yield dynamodb, tables, policy_file


def ledger_actual(dynamodb: Any, table: str, request_id: str) -> tuple[str, Decimal]:
    """The sort key and charge of a request's ledger item, read directly."""
    [item] = [
        item
        for item in dynamodb.scan(TableName=table)["Items"]
        if item["sk"]["S"].startswith("ledger#") and item["request_id"]["S"] == request_id
    ]
    return item["sk"]["S"], Decimal(item["actual_usd"]["N"])


@pytest.mark.parametrize(
    ("month", "request_id", "day"),
    [("2025-01", "r-last", "2025-01-31"), ("2025-02", "r-first", "2025-02-01")],
)
def test_each_request_is_in_its_own_day_and_month(
    served: tuple[Any, dict[str, str], Path],
    capsys: pytest.CaptureFixture[str],
    month: str,
    request_id: str,
    day: str,
) -> None:
    # Given requests served at the last millisecond of January and the first of February
    dynamodb, tables, policy_file = served
    sort_key, actual = ledger_actual(dynamodb, tables["BudgetTable"], request_id)
    # When the month is broken down
    code, out, _ = run_cli(
        capsys,
        "usage",
        "--tenant",
        "t1",
        "--month",
        month,
        "--json",
        "--policy",
        str(policy_file),
        "--table",
        tables["BudgetTable"],
        "--provenance-table",
        tables["ProvenanceTable"],
    )
    [report] = json.loads(out)
    breakdown = report["breakdown"]
    # Then the request's ledger item is in that month, and the month holds exactly it: one day, one
    # request, one record, its charge
    assert code == 0
    assert sort_key.startswith(f"ledger#{month}#")
    assert (breakdown["requests"], breakdown["records"], breakdown["successful_outcomes"]) == (1, 1, 1)
    [shown] = breakdown["days"]
    assert (shown["period"], shown["requests"], Decimal(str(shown["spent_usd"]))) == (day, 1, actual)
    assert Decimal(str(breakdown["spent_usd"])) == actual
    assert Decimal(str(shown["remaining_usd"])) == Decimal(10) - actual


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("2025-01-31T23:59:59.999Z", "2025-02-01T00:00:00Z", ["r-last"]),
        ("2025-02-01", "2025-02-01T00:00:00.001Z", ["r-first"]),
        ("2025-01-31T23:59:59.998Z", "2025-01-31T23:59:59.999Z", []),
        ("2025-01-31", "2025-02-02", ["r-first", "r-last"]),
    ],
)
def test_audit_windows_include_since_and_exclude_until(
    served: tuple[Any, dict[str, str], Path],
    capsys: pytest.CaptureFixture[str],
    since: str,
    until: str,
    expected: list[str],
) -> None:
    # Given the two requests either side of midnight
    _, tables, _ = served
    # When a window is listed
    code, out, _ = run_cli(
        capsys,
        "audit",
        "--tenant",
        "t1",
        "--since",
        since,
        "--until",
        until,
        "--json",
        "--table",
        tables["ProvenanceTable"],
    )
    # Then it holds the requests started at or after since and before until, newest first
    assert code == 0
    assert [row["request_id"] for row in json.loads(out)["records"]] == expected
