"""Every metric the dashboard and the alarms name is emitted by a real run, with the dimensions they use.

The names come from ``template.yaml`` (:mod:`tests.integration.template_metrics`), never from the source:
a widget or alarm added for a metric that no code emits fails here. The runs are the real functions,
in-process, with faults injected where a metric counts a failure: the router through
:mod:`tests.integration.rig` (answers, a fallback, a failed check, 4xx and 5xx, a budget refusal, the
budget store failing open, a provenance record and a settlement that cannot be written, the pointer
moved to a version the router cannot load, S3 failing), the policy activator on uploads (one valid, one
broken), the router with a HealthTable (a full cap, a provider failing until its breaker opens, the table
gone) and the drift detector on shifted traffic (:mod:`tests.integration.emf_runs`). What Powertools
prints (the EMF documents on stdout) is read back and every series a widget or alarm names must have a
value above zero.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modelrouter.providers.errors import ProviderServerError
from modelrouter.providers.types import ProviderCall, StreamEvent, TextDelta
from tests.aws import load_template
from tests.helpers import rest_event
from tests.integration.emf_runs import (
    SERVICE,
    Series,
    activator_run,
    drift_run,
    emf_documents,
    event_for,
    fail_every_model,
    health_run,
    printed,
    router_run,
    series_values,
)
from tests.integration.rig import router_environment, running_router
from tests.integration.template_metrics import metric_refs

TEMPLATE = load_template()
NAMED_SERIES = sorted({ref.series for ref in metric_refs(TEMPLATE)}, key=lambda s: (s[0], sorted(s[1])))
"""Every (metric, dimension names) the dashboard and alarms read."""
STREAMED_BEFORE_FAILING = "All good so far. " * 100
"""What a breaking stream sends before it fails: more than a route's PII guard holds back (634 characters),
so the client has its first token (and its 200) before the failure."""


@pytest.fixture(scope="module")
def router_documents() -> list[dict[str, Any]]:
    """The router's EMF documents through every fault scenario."""
    return router_run()


@pytest.fixture(scope="module")
def emitted(router_documents: list[dict[str, Any]]) -> dict[Series, list[float]]:
    """Every series the functions emitted, with its values."""
    return series_values(router_documents + activator_run() + health_run() + drift_run())


# --- The test the issue asks for ----------------------------------------------------------------------


@pytest.mark.parametrize("series", NAMED_SERIES, ids=lambda s: f"{s[0]}{{{','.join(sorted(s[1]))}}}")
def test_every_metric_the_dashboard_and_alarms_name_is_emitted(
    series: Series, emitted: dict[Series, list[float]]
) -> None:
    # Given a metric and the dimensions a widget or an alarm reads it with (from template.yaml)
    name, dimensions = series
    # Then a real run emitted it with exactly those dimensions, and at least once above zero
    seen = sorted(sorted(dims) for (other, dims) in emitted if other == name)
    values = emitted.get(series, [])
    assert values, f"no run emitted {name} with {sorted(dimensions)}; emitted with {seen}"
    assert max(values) > 0, f"{name} was only ever emitted as 0"


# --- What the router's documents must hold ----------------------------------------------------------


def test_each_request_document_is_also_emitted_under_service_alone_once(
    router_documents: list[dict[str, Any]],
) -> None:
    for document in router_documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            sets = [frozenset(dimensions) for dimensions in directive["Dimensions"]]
            assert len(sets) == len(set(sets)), directive
            if any({"route", "model"} <= dimensions for dimensions in sets):
                assert sets.count(SERVICE) == 1, directive


def test_tenant_spend_has_the_tenant_dimension_alone(router_documents: list[dict[str, Any]]) -> None:
    spend = [d for d in router_documents if "TenantSpendUSD" in d]
    assert spend
    for document in spend:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["tenant", "service"]]
        assert [metric["Name"] for metric in directive["Metrics"]] == ["TenantSpendUSD"]


def test_tenant_spend_adds_up_to_what_the_tenants_were_charged(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given requests of two tenants, one of which fails after its first model was charged
    router_environment(monkeypatch)
    with printed() as out, running_router() as rig:
        for index in range(3):
            rig.call(event_for("chat-support", f"spend-{index}"))
        rig.call(event_for("chat-tool-call", "spend-tools"))
        # When their spend is read back from the EMF documents
        spend: dict[str, float] = defaultdict(float)
        for document in emf_documents(out.getvalue()):
            if "TenantSpendUSD" in document:
                spend[document["tenant"]] += sum(document["TenantSpendUSD"])
        # Then each tenant's is what its provenance records (and ledger) say it was charged
        charged = {
            tenant: sum(float(record["cost_usd"]) for record in rig.provenance_items(tenant))
            for tenant in ("acme-support", "devtools")
        }
    assert set(spend) == set(charged)
    for tenant, amount in charged.items():
        assert amount > 0
        assert spend[tenant] == pytest.approx(amount, rel=1e-9)


def _breaking_stream(text: str) -> Callable[[ProviderCall], Iterator[StreamEvent]]:
    def stream(call: ProviderCall) -> Iterator[StreamEvent]:
        yield TextDelta(text)
        raise ProviderServerError("injected after the first token", provider="fake", status=500)

    return stream


def test_every_error_response_is_counted_by_its_status_class(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a router, and requests answered 404, 400, 401 (feedback without a key), 413, 200, 5xx, and
    # a stream that fails after its first token (status 200, then an error event)
    router_environment(monkeypatch)
    statuses: list[int] = []
    with printed() as out, running_router() as rig:
        for name in ("bad-unknown-path", "bad-malformed-json", "chat-support"):
            statuses.append(rig.call(event_for(name, f"status-{name}"))[0])
        statuses.append(rig.call(rest_event("POST", "/v1/feedback", "{}", tenant_id=None))[0])
        huge = json.dumps({"model": "auto", "messages": [{"role": "user", "content": "x" * 1_100_000}]})
        statuses.append(
            rig.call(rest_event("POST", "/v1/chat/completions", huge, tenant_id="acme-support"))[0]
        )
        for provider in rig.providers.values():
            provider.stream = _breaking_stream(STREAMED_BEFORE_FAILING)  # type: ignore[method-assign,assignment]
        streamed = rig.invoke(event_for("chat-stream", "status-stream-broken"))
        fail_every_model(rig)
        statuses.append(rig.call(event_for("chat-support", "status-all-failing"))[0])
    # Then the streamed failure went out as a 200 with an error event
    assert streamed["statusCode"] == 200
    assert '"error"' in streamed["body"]
    # And ClientErrors and ServerErrors count each class exactly
    values = series_values(emf_documents(out.getvalue()))
    assert {status // 100 for status in statuses} == {2, 4, 5}
    assert sorted(statuses)[:4] == [200, 400, 401, 404]
    assert 413 in statuses
    assert sum(values.get(("ClientErrors", SERVICE), [])) == sum(1 for s in statuses if 400 <= s < 500)
    assert sum(values.get(("ServerErrors", SERVICE), [])) == sum(1 for s in statuses if s >= 500) + 1
