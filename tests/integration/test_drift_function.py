"""The drift detector Lambda in-process over moto: DynamoDB tables from ``template.yaml``, EventBridge
with a rule delivering the function's events to an SQS queue (moto's events, not a stub), the metrics
read back from the EMF documents the function prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.drift.settings import DriftConfigurationError
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.functions import load_function
from modelrouter.outcome_cost import cost_per_successful_outcome
from modelrouter.provenance_table import ProvenanceTable
from modelrouter.telemetry_names import EVENT_SOURCE, EventType, Metric
from tests.aws import create_tables
from tests.drift_traffic import Traffic, records, shifted
from tests.integration.rig import router_environment

SCHEDULED = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
"""The scheduled event's time: the recent window is [10:55:30, 11:55:30), the 5-minute lag before it."""
RECENT_SINCE, RECENT_UNTIL = SCHEDULED - timedelta(minutes=65), SCHEDULED - timedelta(minutes=5)
EASY_ENGLISH = Traffic(languages=(("en", 1.0),), difficulty=(0.0, 0.29))
"""One language and one band, so a few hundred requests fill the segments."""
BASELINE_RECORDS, RECENT_RECORDS = 360, 150
"""Enough for the shifted segments (30 a window at least); moto copies every item a query reads, at
several milliseconds each, so more records cost seconds per run."""
FALLING_BACK = shifted(EASY_ENGLISH, "support", fallback=0.6)


class CurrentStdout:
    """Writes to whatever ``sys.stdout`` is when written to (pytest's capture swaps it per test phase)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Moto with the template's tables, an SQS queue receiving every ``modelrouter`` event, the function
    loaded with its environment, and its clients."""
    router_environment(monkeypatch)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        table = create_tables(dynamodb)["ProvenanceTable"]
        queue = sqs.create_queue(QueueName="drift-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="drift", EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        events.put_targets(Rule="drift", Targets=[{"Id": "queue", "Arn": queue_arn}])
        monkeypatch.setenv("PROVENANCE_TABLE", table)
        app = load_function("drift_detector")
        app.set_clients(dynamodb=dynamodb, events=events)
        handler = app.logger.registered_handler
        previous, handler.stream = handler.stream, CurrentStdout()  # the logger's stream outlives capsys
        try:
            yield {"app": app, "dynamodb": dynamodb, "sqs": sqs, "queue": queue, "table": table}
        finally:
            handler.stream = previous
            app.set_clients()


def store(aws: dict[str, Any], recent: Traffic, baseline: Traffic = EASY_ENGLISH) -> list[dict[str, Any]]:
    """BASELINE_RECORDS over the 24 hours before the recent window, RECENT_RECORDS in it; the recent ones."""
    sink = ProvenanceTable(aws["table"], aws["dynamodb"])
    old = records(baseline, BASELINE_RECORDS, 1, RECENT_SINCE - timedelta(hours=24), timedelta(hours=24))
    new = records(recent, RECENT_RECORDS, 2, RECENT_SINCE, RECENT_UNTIL - RECENT_SINCE, first=10_000)
    for record in old + new:
        sink.put(record)
    return new


def invoke(
    app: ModuleType, capsys: pytest.CaptureFixture[str], event: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The handler's summary, and every JSON line it printed (logs and EMF documents)."""
    summary: dict[str, Any] = app.handler(
        event, LocalLambdaContext(function_name="drift-detector", timeout_s=300)
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return summary, lines


def scheduled_event() -> dict[str, Any]:
    return {"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
            "time": SCHEDULED.isoformat().replace("+00:00", "Z"), "detail": {}}  # fmt: skip


def metric_values(lines: list[dict[str, Any]], name: str) -> dict[str | None, float]:
    """``name``'s value per ``route`` dimension (None: the document without one), from the EMF documents."""
    values: dict[str | None, float] = {}
    for line in lines:
        directives = line.get("_aws", {}).get("CloudWatchMetrics", [])
        if any(name == metric["Name"] for directive in directives for metric in directive["Metrics"]):
            value = line[name]  # Powertools writes a list of the values added
            (values[line.get("route")],) = value if isinstance(value, list) else [value]
    return values


def events_received(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_a_shift_is_reported_by_metrics_and_one_event(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the support route falling back far more in the last hour than the day before
    recent = store(aws, FALLING_BACK)
    # When the scheduled run comes
    summary, lines = invoke(aws["app"], capsys, scheduled_event())
    # Then the run saw both windows and found drift on support
    assert summary["records"] == {"baseline": BASELINE_RECORDS, "recent": RECENT_RECORDS}
    assert summary["routes"] == ["support"]
    # And its EMF documents say so per route, and in all
    detected = metric_values(lines, Metric.DRIFT_DETECTED)
    assert detected["support"] >= 1
    assert detected["coding"] == 0
    assert detected[None] == summary["findings"] == detected["support"]
    scores = metric_values(lines, Metric.DRIFT_SCORE)
    assert scores["support"] >= 1.0 > scores["coding"]
    # And the cost per successful outcome per route is the contract's figure over the recent records
    costs = metric_values(lines, Metric.COST_PER_SUCCESSFUL_OUTCOME)
    for route in ("support", "coding"):
        expected = cost_per_successful_outcome(record for record in recent if record["route"] == route)[2]
        assert costs[route] == pytest.approx(expected)
    # And one event went to the default bus, with the windows and the findings
    (event,) = events_received(aws)
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, EventType.DRIFT_DETECTED)
    detail = event["detail"]
    assert detail["recent"] == {"since": "2026-03-02T10:55:30Z", "until": "2026-03-02T11:55:30Z"}
    assert detail["finding_count"] == summary["findings"]
    assert {finding["metric"] for finding in detail["findings"]} >= {"fallback_rate"}
    assert {finding["segment"]["route"] for finding in detail["findings"]} == {"support"}


def test_no_shift_no_event(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # Given the same traffic in both windows
    store(aws, EASY_ENGLISH)
    # When the run comes
    summary, lines = invoke(aws["app"], capsys, scheduled_event())
    # Then segments were compared (not all skipped as thin), and nothing drifted: zero counts per route and
    # in all, no event
    assert summary["segments_compared"] >= 3
    assert summary["tests"] >= 3
    assert summary["findings"] == 0
    assert set(metric_values(lines, Metric.DRIFT_DETECTED).values()) == {0}
    assert events_received(aws) == []
    assert any(line.get("message") == "no drift" for line in lines)


def test_a_redelivered_event_compares_the_same_windows(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a shift, and the scheduled event delivered twice (with another record written in between,
    # after the recent window: the lag keeps it out)
    store(aws, FALLING_BACK)
    first, _ = invoke(aws["app"], capsys, scheduled_event())
    late = records(
        EASY_ENGLISH, 1, 3, RECENT_UNTIL + timedelta(minutes=1), timedelta(minutes=1), first=90_000
    )
    ProvenanceTable(aws["table"], aws["dynamodb"]).put(late[0])
    second, _ = invoke(aws["app"], capsys, scheduled_event())
    # Then both runs report the same windows and findings, and two events tell the same run
    assert first == second
    runs = [event["detail"]["run"] for event in events_received(aws)]
    assert runs == [RECENT_UNTIL.isoformat()] * 2


def test_a_run_without_a_scheduled_time_ends_at_the_clock(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a clock, and events whose time is missing, not a time, or not believable
    monkeypatch.setattr(aws["app"], "clock", lambda: SCHEDULED)
    for event in ({}, {"time": "not a time"}, {"time": "0001-01-01T00:00:00Z"}, {"time": 12}):
        # Then the windows end at the clock's time (less the lag)
        summary, _ = invoke(aws["app"], capsys, event)
        assert summary["recent"] == {"since": "2026-03-02T10:55:30Z", "until": "2026-03-02T11:55:30Z"}


def test_metrics_go_to_the_drifted_routes_first_within_the_cap(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shift on support, and metrics for one route at most
    store(aws, FALLING_BACK)
    monkeypatch.setattr(aws["app"], "MAX_METRIC_ROUTES", 1)
    # When the run comes, Then only the drifted route has its documents (and the run's total is there)
    _, lines = invoke(aws["app"], capsys, scheduled_event())
    assert set(metric_values(lines, Metric.DRIFT_SCORE)) == {"support"}
    assert set(metric_values(lines, Metric.DRIFT_DETECTED)) == {"support", None}
    assert any(line.get("message") == "more routes than metrics are emitted for" for line in lines)


class RefusingEvents:
    def put_events(self, **_: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "no"}]}


def test_a_refused_event_fails_the_run_loudly(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given drift, and EventBridge refusing the event
    store(aws, FALLING_BACK)
    aws["app"].set_clients(dynamodb=aws["dynamodb"], events=RefusingEvents())
    # When the run comes, Then it fails (Lambda retries it) with the refusal in the log
    with pytest.raises(aws["app"].DriftEventError, match="InternalFailure"):
        invoke(aws["app"], capsys, scheduled_event())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(
        line.get("message") == "drift run failed" and "InternalFailure" in line["error"] for line in lines
    )


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # it failed before any
@pytest.mark.parametrize(
    ("variable", "value"), [("PROVENANCE_TABLE", ""), ("DRIFT_RECENT_WINDOW", "an hour")]
)
def test_a_bad_environment_fails_naming_the_variable(
    aws: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(DriftConfigurationError, match=variable):
        invoke(aws["app"], capsys, scheduled_event())
