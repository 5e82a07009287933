"""Drift detector Lambda: every hour (an EventBridge schedule), the recent window against its baseline.

Thin by design: the settings come from the environment (:class:`~modelrouter.drift.settings.DriftSettings`),
the records from the provenance table's ``by_time`` index
(:class:`~modelrouter.provenance_window.WindowQuery`, capped per window), the comparison from
:func:`~modelrouter.drift.run_drift`. Then, per route, an EMF document with ``DriftDetected`` (shifts
past the threshold), ``DriftScore`` (its largest statistic ÷ threshold) and ``CostPerSuccessfulOutcome``
(over the recent window), plus ``DriftDetected`` in all with the ``service`` dimension only (for
alarms); and when anything drifted, one ``Routing Drift Detected`` event on the default bus.

The windows end at the scheduled event's ``time`` (less ``DRIFT_LAG``), so an event delivered twice
compares the same windows and reports the same findings (the event's ``detail.run`` tells them apart
from another run's). A read that fails, or an event that is not accepted, fails the invocation (logged,
and Lambda's asynchronous retries run it again). Clients are created once per container, or set with
:func:`set_clients`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modelrouter.drift import ATTRIBUTES_READ, DriftReport, DriftWindows, Window, run_drift
from modelrouter.drift.settings import DriftConfigurationError, DriftSettings
from modelrouter.provenance_window import WindowQuery, WindowReadError
from modelrouter.telemetry_names import EVENT_SOURCE, EventType, Metric

__all__ = [
    "EVENT_BUS",
    "MAX_EVENT_FINDINGS",
    "MAX_EVENT_ROUTES",
    "MAX_METRIC_ROUTES",
    "DriftEventError",
    "clock",
    "handler",
    "logger",
    "metrics",
    "set_clients",
]

EVENT_BUS: Final = "default"
"""The bus the drift event goes to."""
MAX_EVENT_FINDINGS: Final = 20
"""Findings an event carries at most (an event holds 256 KB; the count says how many there were)."""
MAX_EVENT_ROUTES: Final = 100
"""Drifted routes an event names at most."""
MAX_METRIC_ROUTES: Final = 200
"""Routes a run emits metrics for at most (drifted first, then the busiest): a table written with many
route names must not create as many metric series."""
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999
"""A scheduled time outside these years is not believed (the clock's is used)."""

logger = Logger()
metrics = Metrics()
# A run that failed before its metrics has none to flush: its failure is the signal (Lambda's Errors).
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
_clients: dict[str, Any] = {}


def _now() -> datetime:
    return datetime.now(UTC)


clock: Callable[[], datetime] = _now
"""The time a run without a scheduled time (a manual invocation) ends its windows at (tests replace it)."""


class DriftEventError(RuntimeError):
    """EventBridge did not accept the drift event."""


def set_clients(*, dynamodb: Any = None, events: Any = None) -> None:
    """Use these boto3 clients (tests, local mode); None forgets the client, made again when needed."""
    for service, client in (("dynamodb", dynamodb), ("events", events)):
        if client is None:
            _clients.pop(service, None)
        else:
            _clients[service] = client


def _client(service: str) -> Any:
    if service not in _clients:
        import boto3

        _clients[service] = boto3.client(service)
    return _clients[service]


def _scheduled_time(event: Any) -> datetime:
    """The scheduled event's ``time``; the clock's when there is none (or it is not a time)."""
    text = event.get("time") if isinstance(event, dict) else None
    try:
        moment = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        moment = None
    if moment is None or not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return clock()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _emit(report: DriftReport) -> None:
    """One EMF document per route; the run's total is left for the decorator's flush."""
    routes = sorted(report.routes, key=lambda route: (-route.findings, -route.recent_records, route.route))
    if len(routes) > MAX_METRIC_ROUTES:
        logger.warning("more routes than metrics are emitted for", extra={"routes": len(routes)})
    for route in routes[:MAX_METRIC_ROUTES]:
        metrics.add_dimension(name="route", value=route.route)
        metrics.add_metric(name=Metric.DRIFT_DETECTED, unit=MetricUnit.Count, value=route.findings)
        if route.drift_score is not None:
            metrics.add_metric(name=Metric.DRIFT_SCORE, unit=MetricUnit.NoUnit, value=route.drift_score)
        if route.cost_per_successful_outcome is not None:
            value = route.cost_per_successful_outcome
            metrics.add_metric(name=Metric.COST_PER_SUCCESSFUL_OUTCOME, unit=MetricUnit.NoUnit, value=value)
        metrics.flush_metrics()
    metrics.add_metric(name=Metric.DRIFT_DETECTED, unit=MetricUnit.Count, value=len(report.findings))


def _put_event(report: DriftReport) -> None:
    recent, baseline = report.recent.window, report.baseline.window
    detail = {
        "run": recent.until.isoformat(),
        "recent": recent.model_dump(mode="json"),
        "baseline": baseline.model_dump(mode="json"),
        "finding_count": len(report.findings),
        "routes": sorted({finding.segment.route for finding in report.findings})[:MAX_EVENT_ROUTES],
        "findings": [finding.model_dump(mode="json") for finding in report.findings[:MAX_EVENT_FINDINGS]],
        "truncated": report.recent.truncated or report.baseline.truncated,
    }
    entry = {"Source": EVENT_SOURCE, "DetailType": EventType.DRIFT_DETECTED, "Detail": json.dumps(detail),
             "EventBusName": EVENT_BUS}  # fmt: skip
    response = _client("events").put_events(Entries=[entry])
    if response.get("FailedEntryCount"):
        failures = [entry.get("ErrorCode") for entry in response.get("Entries", []) if entry.get("ErrorCode")]
        raise DriftEventError(f"EventBridge refused the drift event: {', '.join(map(str, failures))}")


def _run(event: dict[str, Any]) -> dict[str, Any]:
    settings = DriftSettings.from_env()
    windows = DriftWindows.ending(_scheduled_time(event) - settings.lag, settings.recent, settings.baseline)
    dynamodb, table, cap = _client("dynamodb"), settings.provenance_table, settings.max_records_per_window

    def open_window(window: Window) -> WindowQuery:
        return WindowQuery(dynamodb, table, window.since, window.until, cap, ATTRIBUTES_READ)

    report = run_drift(open_window, windows)
    _emit(report)
    summary = {
        "recent": report.recent.window.model_dump(mode="json"),
        "records": {"baseline": report.baseline.records, "recent": report.recent.records},
        "truncated": report.baseline.truncated or report.recent.truncated,
        "segments_compared": report.segments_compared,
        "segments_skipped": report.segments_skipped,
        "tests": report.tests,
        "findings": len(report.findings),
        "routes": sorted({finding.segment.route for finding in report.findings}),
        "queries": report.baseline.queries + report.recent.queries,
    }
    if summary["truncated"]:
        logger.warning("a window reached the cap and was sampled", extra={"cap": cap, **summary})
    if report.drifted:
        _put_event(report)
        logger.warning("drift detected", extra=summary)
    else:
        logger.info("no drift", extra=summary)
    return summary


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Compare the windows ending at the scheduled time; returns the run's summary.

    Raises:
        DriftConfigurationError: the environment is missing a setting or has an invalid one.
        WindowReadError: the provenance table could not be read.
        DriftEventError: EventBridge did not accept the event.
    """
    try:
        return _run(event)
    except (DriftConfigurationError, WindowReadError, DriftEventError) as error:
        logger.error("drift run failed", extra={"error": str(error), "error_type": type(error).__name__})
        raise
