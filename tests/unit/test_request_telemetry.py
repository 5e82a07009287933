"""The router's request telemetry as EMF: the service-wide dimension set (once per document), the
tenant's spend in a document of its own, streamed failures counted as server errors, and a metric that
cannot be written never breaking a request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aws_lambda_powertools import Logger, Metrics

from modelrouter.api.telemetry import PowertoolsTelemetry
from modelrouter.errors import InvalidRequestError
from modelrouter.problems import Problem
from modelrouter.selection.decision import Decision
from modelrouter.telemetry_names import Metric

SERVICE = "svc"


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[Metrics]:
    """A Powertools ``Metrics`` (its state is shared by every instance: cleared before and after)."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    shared = Metrics(namespace="Test", service=SERVICE)
    shared.clear_metrics()
    yield shared
    shared.clear_metrics()


def _telemetry(metrics: Metrics) -> PowertoolsTelemetry:
    return PowertoolsTelemetry(Logger(service=SERVICE, logger_handler=logging.NullHandler()), metrics)


def _documents(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def _decision(route: str = "r1", tenant: str = "t1") -> Decision:
    return cast("Decision", SimpleNamespace(route=route, tenant=tenant))


def _invalid() -> InvalidRequestError:
    return InvalidRequestError([Problem("messages", "required")])


def test_one_service_set_per_document_however_often_dimensions_are_set(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a document in which the route is set three times (a refusal, then a downgrade's failures)
    telemetry = _telemetry(metrics)
    for route in ("r1", "r2", "r2"):
        telemetry.request_failed(_decision(route), _invalid(), 5.0)
    # When it is flushed, then a second document is written the same way
    metrics.flush_metrics()
    telemetry.request_failed(_decision("r3"), _invalid(), 5.0)
    metrics.flush_metrics()
    # Then each declares route+model+service and service alone, once each
    first, second = _documents(capsys.readouterr().out)
    for document in (first, second):
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert sorted(map(sorted, directive["Dimensions"])) == [["model", "route", "service"], ["service"]]
    assert first["Errors"] == [1.0, 1.0, 1.0]
    assert second["route"] == "r3"


def test_a_document_without_route_and_model_is_service_wide_already(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry = _telemetry(metrics)
    telemetry.settlement_failed({"request_id": "x"}, "down")
    metrics.flush_metrics()
    [document] = _documents(capsys.readouterr().out)
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]


@pytest.mark.parametrize(
    ("end", "first_token_ms", "server_errors"),
    [
        ("provider_error", 120.0, 1),  # an error event after tokens went out under a 200
        ("provider_error", None, 0),  # never happens: before a token, failures are error responses
        ("failed", 120.0, 0),  # raised out of the body: the handler counts it
        ("content_filter", 120.0, 0),  # a guardrail cut is an answer, not an error
        ("client_disconnected", 120.0, 0),
        ("complete", 120.0, 0),
    ],
)
def test_a_stream_that_ends_with_an_error_event_is_a_server_error(
    metrics: Metrics, capsys: pytest.CaptureFixture[str], end: str, first_token_ms: float | None,
    server_errors: int,
) -> None:  # fmt: skip
    telemetry = _telemetry(metrics)
    telemetry.stream_ended(_decision(), "m1", {"end": end, "first_token_ms": first_token_ms, "chunks": 3})
    metrics.flush_metrics()
    [document] = _documents(capsys.readouterr().out)
    assert document.get(Metric.SERVER_ERRORS) == ([float(server_errors)] if server_errors else None)


def test_tenant_spend_that_cannot_be_written_is_logged_not_raised(
    metrics: Metrics,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no namespace anywhere: an EMF document cannot be serialised
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    metrics.namespace = None
    telemetry = _telemetry(metrics)
    # When a failed request that cost something is reported
    error = _invalid()
    error.cost_usd = 0.25  # type: ignore[attr-defined]
    telemetry.request_failed(_decision(), error, 5.0)
    # Then nothing is raised, and the log says the metric was not written
    assert "tenant spend metric not written" in [record.getMessage() for record in caplog.records]
    assert not _documents(capsys.readouterr().out)


def test_tenant_spend_is_a_document_of_its_own_with_the_tenant_alone(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry = _telemetry(metrics)
    error = _invalid()
    error.cost_usd = 0.25  # type: ignore[attr-defined]
    telemetry.request_failed(_decision(tenant="acme"), error, 5.0)
    telemetry.request_failed(_decision(tenant="acme"), _invalid(), 5.0)  # cost nothing: no spend
    [spend] = _documents(capsys.readouterr().out)
    assert spend["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["tenant", "service"]]
    assert (spend["tenant"], spend[Metric.TENANT_SPEND_USD]) == ("acme", [0.25])
    assert Metric.ERRORS not in spend
