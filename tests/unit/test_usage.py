"""A tenant's usage (accounting.usage): spend, holds, limits and room per period, from the real store."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.aws import create_tables
from tests.helpers import EXAMPLE_POLICY, fake_aws_environment
from tests.integration.budget_rig import LEDGER, NOON, Clock, tenant

from modelrouter.accounting import BudgetStore
from modelrouter.accounting.usage import PERIODS, tenant_usage
from modelrouter.cli import usage_cmd
from modelrouter.policy.loader import load_policy_file


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[BudgetStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield BudgetStore(create_tables(client)["BudgetTable"], client, now=clock, hold_seconds=900)


def dollars(value: str) -> Decimal:
    return Decimal(value)


def test_empty_budget_has_its_whole_limit_left(store: BudgetStore) -> None:
    # Given a tenant with a $1 daily and $20 monthly limit that never spent anything
    # When its usage is read
    usage = tenant_usage(store, tenant(1.0, 20.0), now=NOON)
    # Then nothing is spent or held and each limit is all remaining
    for period, limit in zip(PERIODS, ("1", "20"), strict=True):
        figures = usage.periods[period]
        assert (figures.spent_usd, figures.held_usd, figures.limit_usd) == (
            Decimal(0),
            Decimal(0),
            dollars(limit),
        )
        assert figures.remaining_usd == dollars(limit)
    assert usage.open_holds == 0


def test_settled_spend_and_open_holds_are_shown_apart(store: BudgetStore) -> None:
    # Given $0.20 settled (of a $0.50 hold) and a $0.30 hold still open, on a $1 daily limit
    acme = tenant(1.0, None)
    store.settle(store.reserve(acme, 0.5, "r1"), 0.2, LEDGER, None, None)
    store.reserve(acme, 0.3, "r2")
    # When its usage is read
    usage = tenant_usage(store, acme, now=NOON)
    # Then spend and holds are apart, and the room is the limit minus both
    daily = usage.periods["daily"]
    assert (daily.spent_usd, daily.held_usd) == (dollars("0.2"), dollars("0.3"))
    assert daily.remaining_usd == dollars("0.5")
    assert usage.open_holds == 1
    # And the month has no limit, so no room is quoted
    assert usage.periods["monthly"].limit_usd is None
    assert usage.periods["monthly"].remaining_usd is None
    assert usage.periods["monthly"].spent_usd == dollars("0.2")


def test_yesterday_counts_for_the_month_only(store: BudgetStore, clock: Clock) -> None:
    # Given $0.40 settled yesterday and a hold opened yesterday that is still open
    acme = tenant(1.0, 5.0)
    store.settle(store.reserve(acme, 0.5, "r1"), 0.4, LEDGER, None, None)
    store.reserve(acme, 0.25, "r2")
    clock.now = NOON + timedelta(days=1)
    # When today's usage is read
    usage = tenant_usage(store, acme, now=clock.now)
    # Then today is empty and the month carries both
    assert (usage.periods["daily"].spent_usd, usage.periods["daily"].held_usd) == (Decimal(0), Decimal(0))
    monthly = usage.periods["monthly"]
    assert (monthly.spent_usd, monthly.held_usd) == (dollars("0.4"), dollars("0.25"))
    assert monthly.remaining_usd == dollars("4.35")


def test_a_new_month_starts_empty(store: BudgetStore) -> None:
    # Given spend in January
    acme = tenant(1.0, 5.0)
    store.settle(store.reserve(acme, 0.5, "r1"), 0.4, LEDGER, None, None)
    # When February's usage is read
    usage = tenant_usage(store, acme, now=datetime(2025, 2, 1, 0, 0, 1, tzinfo=UTC))
    # Then nothing of January shows
    assert usage.periods["monthly"].label == "2025-02"
    assert usage.periods["monthly"].committed_usd == 0


def test_over_the_limit_leaves_no_room_never_negative(store: BudgetStore) -> None:
    # Given a settled charge above the hold (an overage) that takes the day past its limit
    acme = tenant(1.0, None)
    store.settle(store.reserve(acme, 0.9, "r1"), 1.4, LEDGER, None, None)
    # When its usage is read
    daily = tenant_usage(store, acme, now=NOON).periods["daily"]
    # Then the spend is the real charge and nothing remains
    assert daily.spent_usd == dollars("1.4")
    assert daily.remaining_usd == 0


def test_json_form(store: BudgetStore) -> None:
    # Given a $0.10 hold on a $2 daily limit
    acme = tenant(2.0, None)
    store.reserve(acme, 0.1, "r1")
    # When the usage is rendered as JSON
    document: dict[str, Any] = tenant_usage(store, acme, now=NOON).as_json()
    # Then it names the tenant, the periods and their resets, money in USD
    assert (document["object"], document["tenant_id"], document["currency"]) == ("usage", "acme", "USD")
    assert document["as_of"] == "2025-01-10T12:00:00Z"
    assert document["periods"]["daily"] == {
        "period": "2025-01-10",
        "spent_usd": 0.0,
        "held_usd": 0.1,
        "committed_usd": 0.1,
        "limit_usd": 2.0,
        "remaining_usd": 1.9,
        "resets_at": "2025-01-11T00:00:00Z",
    }
    assert document["periods"]["monthly"]["resets_at"] == "2025-02-01T00:00:00Z"


# --- modelrouter usage (cli/usage_cmd.py; registered in cli/main.py by its owner) --------------------

PROVENANCE = "ProvenanceTable"


def run_usage(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``modelrouter usage`` through its own parser: exit code, stdout, stderr."""
    parser = argparse.ArgumentParser(prog="modelrouter")
    usage_cmd.add_parser(parser.add_subparsers(dest="command"))
    code = usage_cmd.run(parser.parse_args(["usage", *argv]))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tables_of(store: BudgetStore) -> list[str]:
    """The options naming the store's budget table and the provenance table beside it."""
    provenance = store.table_name.replace("BudgetTable", PROVENANCE)
    return ["--table", store.table_name, "--provenance-table", provenance]


def test_usage_command_prints_every_tenant_of_the_policy(
    store: BudgetStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the example policy and $0.25 settled on 10 January by acme-support (a $50 daily budget)
    policy = load_policy_file(EXAMPLE_POLICY).policy
    acme = policy.tenant_by_id["acme-support"]
    store.settle(store.reserve(acme, 0.5, "r1"), 0.25, LEDGER, None, None)
    # When an operator asks for every tenant's usage of January as JSON
    code, out, _ = run_usage(
        capsys, *tables_of(store), "--policy", str(EXAMPLE_POLICY), "--month", "2025-01", "--json"
    )
    # Then each tenant of the policy has the same figures tenant_usage computes now
    assert code == 0
    reports = {report["tenant_id"]: report for report in json.loads(out)}
    assert list(reports) == [tenant.id for tenant in policy.tenants]
    expected = tenant_usage(store, acme, now=datetime.fromisoformat(reports["acme-support"]["as_of"]))
    assert reports["acme-support"]["periods"] == expected.as_json()["periods"]
    # And January's breakdown has the charge on the 10th, against the daily limit
    breakdown = reports["acme-support"]["breakdown"]
    assert (breakdown["period"], breakdown["spent_usd"], breakdown["requests"]) == ("2025-01", 0.25, 1)
    [day] = breakdown["days"]
    assert (day["period"], day["spent_usd"], day["limit_usd"], day["remaining_usd"]) == (
        "2025-01-10",
        0.25,
        50.0,
        49.75,
    )
    assert breakdown["routes"][0]["route"] == LEDGER["route"]
    assert reports["lexdoc-eu"]["breakdown"]["days"] == []


def test_usage_command_text_for_one_tenant(store: BudgetStore, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the example policy (acme-support: $50 a day, $1,000 a month) and $0.25 settled on 10 January
    acme = load_policy_file(EXAMPLE_POLICY).policy.tenant_by_id["acme-support"]
    store.settle(store.reserve(acme, 0.5, "r1"), 0.25, LEDGER, None, None)
    # When an operator asks for acme-support's January
    code, out, _ = run_usage(
        capsys,
        "--tenant",
        "acme-support",
        *tables_of(store),
        "--policy",
        str(EXAMPLE_POLICY),
        "--month",
        "2025-01",
    )
    # Then it shows the month against its limit, the day, the route and the model
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("acme-support · 2025-01 (as of ")
    assert "month 2025-01: spent $0.25, held $0.00, limit $1,000.00, remaining $999.75" in out
    assert "1 requests settled, 0 refused · 0 successful outcomes · - per successful outcome" in out
    [day] = [line for line in lines if line.strip().startswith("2025-01-10")]
    assert day.split() == ["2025-01-10", "1", "$0.25", "$0.00", "$50.00", "$49.75"]
    [route] = [line for line in lines if line.strip().startswith(LEDGER["route"] + " ")]
    assert route.split() == [LEDGER["route"], "1", "$0.25", "0", "-"]


def test_usage_command_refuses_an_unknown_tenant_and_missing_tables(
    store: BudgetStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no BUDGET_TABLE nor PROVENANCE_TABLE in the environment
    monkeypatch.delenv(usage_cmd.TABLE_ENV, raising=False)
    monkeypatch.delenv(usage_cmd.PROVENANCE_TABLE_ENV, raising=False)
    # When a tenant the policy lacks is asked for, then no budget table, then no provenance table is given
    unknown = run_usage(capsys, "--tenant", "nosuch", *tables_of(store), "--policy", str(EXAMPLE_POLICY))
    no_table = run_usage(capsys, "--policy", str(EXAMPLE_POLICY))
    no_records = run_usage(capsys, "--policy", str(EXAMPLE_POLICY), "--table", store.table_name)
    # Then the first is refused naming the tenants, the others name the option to pass
    assert unknown[0] == 1
    assert "unknown tenant 'nosuch'; tenants: acme-support" in unknown[2]
    assert (no_table[0], no_records[0]) == (2, 2)
    assert "--table" in no_table[2]
    assert "--provenance-table" in no_records[2]
