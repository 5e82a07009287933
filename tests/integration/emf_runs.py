"""Real runs of the functions whose EMF output ``test_emf_metrics.py`` reads: the router through
:mod:`tests.integration.rig` with faults injected, the policy activator on two uploads, the router with a
HealthTable (a full cap, a provider failing until its breaker opens, the table gone), and the drift
detector on shifted traffic. Each run returns the EMF documents the functions printed.
"""

from __future__ import annotations

import copy
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws

from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.functions import load_function
from modelrouter.providers.errors import AuthError, ProviderError, ProviderServerError
from tests.aws import create_tables
from tests.helpers import EXAMPLE_POLICY, load_event, minimal_policy, rest_event, with_tenant
from tests.integration.rig import BUCKET, RouterRig, router_environment, running_router

__all__ = [
    "SERVICE",
    "Series",
    "activator_run",
    "drift_run",
    "emf_documents",
    "event_for",
    "fail_every_model",
    "health_run",
    "printed",
    "router_run",
    "series_values",
]

Series = tuple[str, frozenset[str]]
"""A metric's name and the names of its dimensions: one CloudWatch series per set of values."""
SERVICE = frozenset({"service"})
BREAKER_FAILURES = 3
"""Retryable failures that open a model's breaker in the health scenario."""
DRIFT_RUN = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
"""The drift scenario's scheduled time (the synthetic traffic's day)."""
DRIFT_LAG = timedelta(minutes=5)
"""The drift function's default lag: its recent window ends this long before the run."""


# --- Reading EMF ------------------------------------------------------------------------------------


def emf_documents(text: str) -> list[dict[str, Any]]:
    """The EMF documents among printed lines."""
    documents = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            if isinstance(document, dict) and "CloudWatchMetrics" in document.get("_aws", {}):
                documents.append(document)
    return documents


def series_values(documents: list[dict[str, Any]]) -> dict[Series, list[float]]:
    """Every value of every metric, under each dimension set its document declares."""
    values: dict[Series, list[float]] = defaultdict(list)
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    values[metric["Name"], frozenset(dimensions)].extend(
                        value if isinstance(value, list) else [value]
                    )
    return dict(values)


@contextmanager
def printed() -> Iterator[io.StringIO]:
    """What the functions print (Powertools' EMF documents) while the block runs."""
    out = io.StringIO()
    with redirect_stdout(out):
        yield out


# --- Router scenarios -------------------------------------------------------------------------------


def event_for(name: str, request_id: str, tenant: str | None = None) -> dict[str, Any]:
    """A copy of ``events/<name>`` with its own request id (and tenant, when given)."""
    event = copy.deepcopy(load_event(name))
    event["requestContext"]["requestId"] = request_id
    return with_tenant(event, tenant) if tenant is not None else event


def _policy(edit: Callable[[dict[str, Any]], None]) -> str:
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    edit(document)
    return yaml.safe_dump(document, sort_keys=False)


def _tenant(document: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    return next(tenant for tenant in document["tenants"] if tenant["id"] == tenant_id)


def _route(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(route for route in document["routes"] if route["name"] == name)


def _fail_calls(client: Any, operation: str, code: str, *, after: int = 0) -> None:
    """Every ``operation`` call of ``client`` after the first ``after`` fails with ``code``."""
    calls = {"n": 0}

    def fail(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] > after:
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    client.meta.events.register(f"before-call.{client.meta.service_model.service_name}.{operation}", fail)


def _failing(rig: RouterRig, errors: dict[str, ProviderError]) -> None:
    """Every provider raises ``errors[model]`` for the models named (and answers for the others)."""
    for provider in rig.providers.values():
        provider.failing = dict(errors)


def fail_every_model(rig: RouterRig) -> None:
    """Every model of the active policy refuses its key (not retryable): the request fails with a 5xx."""
    models = rig.runtime.policies.current().policy.models
    _failing(rig, {model.id: AuthError("injected", provider="fake", status=401) for model in models})


def _answers_fallbacks_checks_and_errors(rig: RouterRig) -> None:
    """Answers, a fallback (the first model failing), a failed check (its answer blocked), 4xx, 5xx."""
    status, body, _ = rig.call(event_for("chat-support", "emf-answer"))
    assert status == 200, body
    first = body["router"]["model"]
    _failing(rig, {first: ProviderServerError("injected", provider="fake", status=500)})
    status, body, _ = rig.call(event_for("chat-support", "emf-fallback"))
    assert (status, body["router"]["model"] != first) == (200, True), body
    _failing(rig, {})
    rig.push_policy(_policy(lambda d: _route(d, "support-triage")["checks"]["guardrails"]["blocked_terms"]
                            .append(f"Answer from {first}")))  # fmt: skip
    status, body, _ = rig.call(event_for("chat-support", "emf-check"))
    assert status == 200, body
    assert body["router"]["model"] != first
    assert rig.call(event_for("bad-unknown-path", "emf-404"))[0] == 404
    fail_every_model(rig)
    status, body, _ = rig.call(event_for("chat-support", "emf-5xx"))
    assert status >= 500, body


def _budget_refused_and_failing_open(rig: RouterRig) -> None:
    """A budget refusal (429), then the budget store throttled under ``fail_open``."""

    def tiny_budget_fail_open(document: dict[str, Any]) -> None:
        _tenant(document, "devtools")["budget"] = {"daily_usd": 0.001}
        document.setdefault("defaults", {})["budget_store_failure"] = "fail_open"

    rig.push_policy(_policy(tiny_budget_fail_open))
    status, body, _ = rig.call(event_for("chat-tool-call", "emf-429"))
    assert status == 429, body
    _fail_calls(rig.dynamodb, "TransactWriteItems", "ProvisionedThroughputExceededException")
    status, body, _ = rig.call(event_for("chat-support", "emf-fail-open"))
    assert status == 200, body


def _settlement_failing(rig: RouterRig) -> None:
    """The reservation is written, the settlement is not (every later transaction fails)."""
    _fail_calls(rig.dynamodb, "TransactWriteItems", "InternalServerError", after=1)
    status, body, _ = rig.call(event_for("chat-support", "emf-settle"))
    assert status == 200, body


def _provenance_failing(rig: RouterRig) -> None:
    """The provenance table is gone: the answer goes out, the record goes to the log."""
    rig.runtime.policies.current()
    rig.dynamodb.delete_table(TableName=rig.tables["ProvenanceTable"])
    status, body, _ = rig.call(event_for("chat-support", "emf-provenance"))
    assert status == 200, body


def _policy_rejected_and_s3_failing(rig: RouterRig) -> None:
    """The pointer moved to a version the router cannot load (kept out), then S3 failing on the next
    refresh."""
    rig.call(event_for("chat-support", "emf-policy-first"))
    rig.point_at_unchecked(_policy(lambda d: d["tenants"][0].update(default_route="no-such-route")))
    assert rig.call(event_for("chat-support", "emf-policy-broken"))[0] == 200
    _fail_calls(rig.s3, "GetObject", "ServiceUnavailable")
    assert rig.call(event_for("chat-support", "emf-policy-s3-down"))[0] == 200


ROUTER_SCENARIOS: tuple[Callable[[RouterRig], None], ...] = (
    _answers_fallbacks_checks_and_errors,
    _budget_refused_and_failing_open,
    _settlement_failing,
    _provenance_failing,
    _policy_rejected_and_s3_failing,
)
"""Each runs on a router of its own (some break their AWS for good)."""


def router_run() -> list[dict[str, Any]]:
    """The EMF documents the router printed through every scenario."""
    with pytest.MonkeyPatch.context() as monkeypatch, printed() as out:
        router_environment(monkeypatch)
        for scenario in ROUTER_SCENARIOS:
            with running_router() as rig:
                scenario(rig)
    return emf_documents(out.getvalue())


# --- Policy activator scenario ----------------------------------------------------------------------


def activator_run() -> list[dict[str, Any]]:
    """The activator's EMF documents for two uploads, as S3's events deliver them: one valid, one not."""
    from modelrouter.activation.s3_event import object_created_event
    from tests.activation_helpers import upload, upload_shipped_artifacts

    broken = _policy(lambda d: d["tenants"][0].update(default_route="no-such-route"))
    with pytest.MonkeyPatch.context() as monkeypatch, printed() as out, mock_aws():
        router_environment(monkeypatch)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        upload_shipped_artifacts(s3, BUCKET)
        app = load_function("policy_activator")
        app.set_runtime(app.build_runtime(BUCKET, s3, boto3.client("events", region_name="us-east-1")))
        try:
            for text, outcome in ((EXAMPLE_POLICY.read_text(), "activated"), (broken, "rejected")):
                version = upload(s3, BUCKET, text)
                event = object_created_event(BUCKET, version.key, version.version_id, len(text.encode()))
                summary = app.handler(event, LocalLambdaContext(function_name="modelrouter-policy-activator"))
                assert summary["status"] == outcome, summary
        finally:
            app.set_runtime(None)
    return emf_documents(out.getvalue())


# --- Shared health scenario -------------------------------------------------------------------------


def _capped_policy() -> str:
    """small (max_concurrency 1), then large (5); a breaker opens after 3 failures; one call per model."""
    document = minimal_policy()
    document["models"][0]["max_concurrency"] = 1
    document["models"][1]["max_concurrency"] = 5
    document["execution"] = {"cooldown": {"failures": BREAKER_FAILURES}, "max_attempts_per_model": 1}
    return yaml.safe_dump(document, sort_keys=False)


def _chat(rig: RouterRig, request_id: str) -> tuple[int, Any]:
    body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": "Hello"}]})
    event = rest_event("POST", "/v1/chat/completions", body, tenant_id="t1")
    event["requestContext"]["requestId"] = request_id
    status, answer, _ = rig.call(event)
    return status, answer


def health_run() -> list[dict[str, Any]]:
    """The router's EMF documents with a HealthTable: a cap found full (a lease held by another
    container), a provider failing until its breaker opens, then the table gone while a capped model
    is called."""
    from modelrouter.api.runtime import build_runtime
    from modelrouter.health.leases import ConcurrencyLeases

    with pytest.MonkeyPatch.context() as monkeypatch, printed() as out:
        router_environment(monkeypatch)
        with running_router(_capped_policy()) as rig:
            table = rig.tables["HealthTable"]
            settings = rig.runtime.settings.model_copy(update={"health_table": table})
            providers = rig.providers
            runtime = build_runtime(
                settings, rig.app.telemetry, s3_client=rig.s3, dynamodb_client=rig.dynamodb,
                providers=lambda: dict(providers),
            )  # fmt: skip
            rig.app.set_runtime(runtime)
            elsewhere = ConcurrencyLeases(table, rig.dynamodb).acquire("small", 1, hold_s=60)
            status, answer = _chat(rig, "health-capped")
            assert (status, answer["model"]) == (200, "large"), answer
            _failing(rig, {"small": ProviderServerError("injected", provider="fake", status=500)})
            ConcurrencyLeases(table, rig.dynamodb).release(elsewhere)
            for index in range(BREAKER_FAILURES):
                assert _chat(rig, f"health-failing-{index}")[0] == 200
            rig.dynamodb.delete_table(TableName=table)
            assert _chat(rig, "health-table-gone")[0] == 200
    return emf_documents(out.getvalue())


# --- Drift detector scenario --------------------------------------------------------------------------


def drift_run() -> list[dict[str, Any]]:
    """The drift detector's EMF documents for a scheduled run over a day of provenance and an hour in
    which one route falls back far more often."""
    from modelrouter.provenance_table import ProvenanceTable
    from tests.drift_traffic import Traffic, records, shifted

    baseline = Traffic(languages=(("en", 1.0),), difficulty=(0.0, 0.29))
    recent_until = DRIFT_RUN - DRIFT_LAG
    recent_since = recent_until - timedelta(hours=1)
    with pytest.MonkeyPatch.context() as monkeypatch, printed() as out, mock_aws():
        router_environment(monkeypatch)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        table = create_tables(dynamodb)["ProvenanceTable"]
        monkeypatch.setenv("PROVENANCE_TABLE", table)
        sink = ProvenanceTable(table, dynamodb)
        for record in records(
            baseline, 1_200, 1, recent_since - timedelta(hours=24), timedelta(hours=24)
        ) + records(
            shifted(baseline, "support", fallback=0.6), 400, 2, recent_since, timedelta(hours=1), first=10_000
        ):
            sink.put(record)
        app = load_function("drift_detector")
        app.set_clients(dynamodb=dynamodb, events=boto3.client("events", region_name="us-east-1"))
        try:
            event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": DRIFT_RUN.isoformat()}
            summary = app.handler(event, LocalLambdaContext(function_name="modelrouter-drift-detector"))
            assert summary["findings"] > 0, summary
        finally:
            app.set_clients()
    return emf_documents(out.getvalue())
