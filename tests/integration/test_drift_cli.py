"""``modelrouter drift report`` on a moto table built from ``template.yaml``: exit 0 without drift, 1 with
it, 2 when the report cannot be made; readable text or JSON; hostile items counted, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.cli.drift_cmd import EXIT_DRIFT
from modelrouter.cli.exits import EXIT_OK, EXIT_USAGE
from modelrouter.local.local_env import write_local_env
from modelrouter.provenance_index import time_bucket_for
from modelrouter.provenance_table import ProvenanceTable
from tests.aws import create_tables, serial_moto_server
from tests.drift_traffic import START, Traffic, records, shifted
from tests.helpers import fake_aws_environment, run_cli

EASY_ENGLISH = Traffic(languages=(("en", 1.0),), difficulty=(0.0, 0.29))
"""One language and one band, so a few hundred requests fill the segments."""
BASELINE_RECORDS, RECENT_RECORDS = 300, 150
"""Enough for the shifted segments (30 a window at least); moto copies every item a query reads, at
several milliseconds each, so more records cost seconds per run."""
RECENT = ("--since", "2026-03-02T12:00Z", "--until", "2026-03-02T13:00Z")
"""The recent window the traffic is written for (the baseline is the 24 hours before it)."""


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    fake_aws_environment(monkeypatch)
    monkeypatch.delenv("PROVENANCE_TABLE", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield client, create_tables(client)["ProvenanceTable"]


def store(client: Any, table: str, recent: Traffic) -> None:
    sink = ProvenanceTable(table, client)
    baseline = records(EASY_ENGLISH, BASELINE_RECORDS, 1, START - timedelta(hours=24), timedelta(hours=24))
    for record in baseline + records(recent, RECENT_RECORDS, 2, START, timedelta(hours=1), first=10_000):
        sink.put(record)


def test_drift_is_reported_as_a_table_and_exit_1(
    table: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    client, name = table
    # Given the support route falling back far more in the recent hour
    store(client, name, shifted(EASY_ENGLISH, "support", fallback=0.6))
    # When the report is asked for
    code, out, err = run_cli(capsys, "drift", "report", "--table", name, *RECENT)
    # Then it exits 1 and shows the windows, the shift and the routes
    assert (code, err) == (EXIT_DRIFT, "")
    recent = "2026-03-02T12:00:00+00:00 to 2026-03-02T13:00:00+00:00"
    baseline = "2026-03-01T12:00:00+00:00 to 2026-03-02T12:00:00+00:00"
    assert f"recent  : {recent}: {RECENT_RECORDS} records" in out
    assert f"baseline: {baseline}: {BASELINE_RECORDS} records" in out
    assert "DRIFT:" in out
    drifted = [line for line in out.splitlines() if "fallback_rate" in line]
    assert drifted
    assert all(line.strip().startswith("support / ") for line in drifted)
    assert "routes (recent window" in out


def test_the_json_report_is_the_same_comparison(
    table: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    client, name = table
    store(client, name, shifted(EASY_ENGLISH, "support", fallback=0.6))
    code, out, _ = run_cli(capsys, "drift", "report", "--table", name, *RECENT, "--json")
    report = json.loads(out)
    assert code == EXIT_DRIFT
    assert (report["baseline"]["records"], report["recent"]["records"]) == (BASELINE_RECORDS, RECENT_RECORDS)
    assert {finding["segment"]["route"] for finding in report["findings"]} == {"support"}
    assert "fallback_rate" in {finding["metric"] for finding in report["findings"]}
    assert report["test_alpha"] == pytest.approx(report["thresholds"]["family_alpha"] / report["tests"])


def test_no_drift_exits_0(
    table: tuple[Any, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, name = table
    store(client, name, EASY_ENGLISH)
    monkeypatch.setenv("PROVENANCE_TABLE", name)  # the table from the environment
    code, out, _ = run_cli(capsys, "drift", "report", "--until", "2026-03-02T13:00Z", "--recent", "1h")
    assert code == EXIT_OK
    assert "\nno drift\n" in out


def test_hostile_items_are_counted_as_skipped(
    table: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    client, name = table
    # Given items in the window whose fields are missing or of the wrong type
    odd: list[dict[str, Any]] = [
        {"route": {"N": "7"}},
        {"route": {"S": "support"}, "chosen_model": {"S": "small"}, "attempts": {"L": []},
         "features": {"S": "en"}},
        {"route": {"S": "support"}, "chosen_model": {"S": "small"}, "attempts": {"M": {"a": {"S": "b"}}},
         "features": {"M": {"language": {"S": "en"}, "difficulty": {"N": "0.1"}}}},
        {"route": {"S": "support"}, "outcome": {"S": "refused"}},
        {"route": {"S": "x" * 300}, "cost_usd": {"S": "free"}},
    ]  # fmt: skip
    for number, item in enumerate(odd):
        started = START + timedelta(minutes=number)
        request_id = f"odd-{number}"
        sort_key = f"{started.isoformat(timespec='milliseconds')}#{request_id}"
        keys = {"tenant_id": {"S": "t1"}, "sort_key": {"S": sort_key}, "request_id": {"S": request_id},
                "time_bucket": {"S": time_bucket_for(started, request_id)}}  # fmt: skip
        client.put_item(TableName=name, Item={**keys, **item})
    # When the report is asked for
    code, out, err = run_cli(capsys, "drift", "report", "--table", name, *RECENT)
    # Then each is counted as skipped with its reason, and nothing drifted
    assert (code, err) == (EXIT_OK, "")
    for reason in (
        "no valid route",
        "no features",
        "attempts is not a list",
        "refused (no model was called)",
    ):
        assert reason in out
    assert "5 records" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", "yesterday"], "--since: not an ISO 8601 time: 'yesterday'"),
        (["--since", "2026-03-02T13:00Z", "--until", "2026-03-02T12:00Z"], "the window is inverted"),
        (["--since", "2026-03-02T12:00Z", "--recent", "1h"], "give --since or --recent, not both"),
        (["--recent", "soon"], "--recent: not a duration: 'soon'"),
        (["--baseline", "90d"], "--baseline: '90d' is longer than the longest window"),
        (["--max-records", "lots"], "--max-records: not a number"),
        (["--until", "\x1b[2J" * 40], "--until: not an ISO 8601 time (160 characters)"),
        (["--until", "0001-01-01T00:30Z"], "--until: '0001-01-01T00:30Z' is outside the years 2000-2999"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(
    table: tuple[Any, str], capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    _, name = table
    code, out, err = run_cli(capsys, "drift", "report", "--table", name, *arguments)
    assert (code, out) == (EXIT_USAGE, "")
    assert err.startswith("error: ")
    assert message in err


def test_no_table_or_an_unreadable_one_exits_2(
    table: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "drift", "report")
    assert code == EXIT_USAGE
    assert "no provenance table: pass --table, set PROVENANCE_TABLE or use --local" in err
    code, _, err = run_cli(capsys, "drift", "report", "--table", "no-such-table")
    assert code == EXIT_USAGE
    assert "cannot read provenance table no-such-table (index by_time" in err


def test_local_without_a_running_stack_exits_2(
    table: tuple[Any, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("MODELROUTER_LOCAL_ENV", str(tmp_path / "local.env"))
    code, _, err = run_cli(capsys, "drift", "report", "--local")
    assert code == EXIT_USAGE
    assert "no local stack is running" in err


def test_local_reads_the_running_stacks_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a local stack's embedded AWS (a moto server) with the template's tables and a shifted hour,
    # and the local.env a running serve writes
    fake_aws_environment(monkeypatch)
    with serial_moto_server() as url:
        client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
        tables = create_tables(client, prefix="modelrouter-local")
        store(client, tables["ProvenanceTable"], shifted(EASY_ENGLISH, "support", fallback=0.6))
        values = {"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local",
                  "AWS_SECRET_ACCESS_KEY": "local",
                  "PROVENANCE_TABLE": tables["ProvenanceTable"]}  # fmt: skip
        monkeypatch.setenv("MODELROUTER_LOCAL_ENV", str(write_local_env(values, tmp_path / "local.env")))
        # When the report is asked of the local stack
        code, out, err = run_cli(capsys, "drift", "report", "--local", *RECENT)
    # Then it read that table through its endpoint and found the shift
    assert (code, err) == (EXIT_DRIFT, "")
    assert f"{RECENT_RECORDS} records" in out
    assert "support / small / en / easy  fallback_rate" in out
