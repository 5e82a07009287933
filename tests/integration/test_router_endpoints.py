"""GET /v1/models, /v1/models/{model}, /v1/usage and /health through the router handler, and the
``openai`` client's models.list / models.retrieve through the local API Gateway stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import openai
import pytest

from modelrouter.api.health import health_report
from modelrouter.keys import KeyStore
from modelrouter.local.functions import load_function
from modelrouter.local.gateway import Gateway
from modelrouter.policy.store import ActivePolicy, PolicyState
from tests.helpers import EXAMPLE_POLICY, build_policy, load_event, minimal_policy, rest_event
from tests.integration.rig import BUCKET, POLICY_KEY, RouterRig, router_environment, running_router


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


@pytest.fixture
def served(rig: RouterRig) -> Iterator[tuple[dict[str, str], str]]:
    keys = KeyStore(rig.tables["ApiKeyTable"], client=rig.dynamodb)
    tokens = {tenant: keys.create(tenant).token for tenant in ("acme-support", "devtools")}
    authorizer = load_function("authorizer")
    authorizer.set_key_store(keys)
    try:
        with Gateway(rig.app.handler, authorizer.handler).running() as url:
            yield tokens, url
    finally:
        authorizer.set_key_store(None)


def _chat(model: str, tenant: str) -> dict[str, Any]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Say hello."}]})
    return rest_event("POST", "/v1/chat/completions", body, tenant_id=tenant)


def _policy_names() -> set[str]:
    import yaml

    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    return {route["name"] for route in document["routes"]} | {model["id"] for model in document["models"]}


# --- /v1/models ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tenant", ["acme-support", "devtools", "lexdoc-eu", "fincorp-fraud"])
def test_every_listed_name_is_served_and_every_other_is_refused(rig: RouterRig, tenant: str) -> None:
    # Given the tenant's own listing
    event = load_event("models-list")
    event["requestContext"]["authorizer"].update(tenant_id=tenant, principalId=tenant)
    status, listing, _ = rig.call(event)
    assert status == 200
    listed = [entry["id"] for entry in listing["data"]]
    # When it pins each listed route and model, and each route and model of the policy it did not list
    refusals = {name: rig.call(_chat(name, tenant))[1] for name in _policy_names()}
    # Then no listed name is refused as not allowed, and every other one is (403 on the model field)
    for name, body in refusals.items():
        refused = isinstance(body, dict) and body.get("error", {}).get("code") == "pin_not_allowed"
        assert refused == (name not in listed), (name, body)
        if refused:
            assert body["error"]["param"] == "model"


def test_the_listing_is_openai_models_with_the_router_extension(rig: RouterRig) -> None:
    # When devtools lists its models
    status, body, _ = rig.call(load_event("models-list"))
    # Then each entry is OpenAI's model object with what it is, and auto comes first
    assert status == 200
    assert body["data"][0]["id"] == "auto"
    for entry in body["data"]:
        assert set(entry) == {"id", "object", "created", "owned_by", "router"}
        assert entry["object"] == "model"
        assert entry["router"]["kind"] in {"auto", "route", "model"}
    kinds = {entry["id"]: entry["router"]["kind"] for entry in body["data"]}
    assert (kinds["coding-assistant"], kinds["gpt-4o"]) == ("route", "model")


def test_retrieve_returns_the_same_object_as_the_listing(rig: RouterRig) -> None:
    # Given devtools' listing
    listing = rig.call(load_event("models-list"))[1]["data"]
    # When it retrieves gpt-4o
    status, body, _ = rig.call(load_event("models-retrieve"))
    # Then it gets the listing's entry for gpt-4o
    assert status == 200
    assert body == next(entry for entry in listing if entry["id"] == "gpt-4o")


@pytest.mark.parametrize("name", ["nova-micro", "no-such-model", "support-triage"])
def test_retrieve_of_a_name_the_tenant_may_not_use_is_404(rig: RouterRig, name: str) -> None:
    # Given acme-support, who may pin nothing (nova-micro exists, no-such-model does not)
    event = rest_event("GET", f"/v1/models/{name}", tenant_id="acme-support")
    event.update(resource="/v1/models/{model}", pathParameters={"model": name})
    # When it retrieves the name
    status, body, _ = rig.call(event)
    # Then it is OpenAI's 404 model_not_found, saying nothing of whether the name exists
    assert status == 404
    assert (body["error"]["code"], body["error"]["param"]) == ("model_not_found", "model")
    assert body["error"]["message"] == f"the model '{name}' does not exist or you do not have access to it"


def test_openai_client_lists_and_retrieves_models(served: tuple[dict[str, str], str]) -> None:
    tokens, url = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=tokens["devtools"], max_retries=0, timeout=30)
    # When the SDK lists the models and retrieves two of them
    listed = list(client.models.list())
    model = client.models.retrieve("gpt-4o")
    route = client.models.retrieve("coding-assistant")
    # Then they parse into the SDK's Model, with the router extension as an extra field
    assert listed[0].id == "auto"
    assert (model.id, model.object, model.owned_by) == ("gpt-4o", "model", "openai")
    assert model.model_extra is not None
    assert model.model_extra["router"]["kind"] == "model"
    assert route.model_extra is not None
    assert route.model_extra["router"]["kind"] == "route"
    # And a name it may not use is the SDK's NotFoundError
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nova-micro")


# --- /v1/usage -------------------------------------------------------------------------------------


def test_usage_shows_spend_against_the_budget(rig: RouterRig) -> None:
    # Given acme-support ($50 a day, $1,000 a month) before and after one answered request
    status, before, headers = rig.call(load_event("usage"))
    assert status == 200
    assert headers["cache-control"] == "no-store"
    answered = rig.call(load_event("chat-support"))[1]
    # When it reads its usage
    after = rig.call(load_event("usage"))[1]
    # Then nothing was spent before, and after it the request's cost is spent today and this month
    cost = answered["router"]["cost_usd"]
    assert (before["tenant_id"], before["currency"]) == ("acme-support", "USD")
    for period, limit in (("daily", 50.0), ("monthly", 1000.0)):
        assert before["periods"][period]["spent_usd"] == 0
        assert after["periods"][period]["spent_usd"] == pytest.approx(cost, abs=1e-9)
        assert after["periods"][period]["held_usd"] == 0
        assert after["periods"][period]["limit_usd"] == limit
        assert after["periods"][period]["remaining_usd"] == pytest.approx(limit - cost, abs=1e-9)
    assert after["open_holds"] == 0


def test_usage_needs_a_tenant(rig: RouterRig) -> None:
    # Given the usage event without the authorizer's tenant
    event = load_event("usage")
    del event["requestContext"]["authorizer"]
    # When served, Then it is 401 like every other keyed endpoint
    status, body, _ = rig.call(event)
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_usage_without_a_budget_table_is_503_without_details(rig: RouterRig) -> None:
    # Given the budget table is gone
    rig.dynamodb.delete_table(TableName=rig.tables["BudgetTable"])
    # When a tenant reads its usage
    status, body, _ = rig.call(load_event("usage"))
    # Then it is a 503 that names no table
    assert status == 503
    assert rig.tables["BudgetTable"] not in json.dumps(body)


# --- /health ---------------------------------------------------------------------------------------


def test_health_reports_the_policy_version_and_nothing_private(rig: RouterRig) -> None:
    # Given a running router, with its budget table gone
    rig.dynamodb.delete_table(TableName=rig.tables["BudgetTable"])
    version = rig.s3.head_object(Bucket=BUCKET, Key=POLICY_KEY)["VersionId"]
    # When the key-less health event is served
    status, body, headers = rig.call(load_event("health"))
    # Then it is ok with the policy's S3 version, without calling a model
    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert (body["status"], body["policy_version"], body["policy_refresh"]) == ("ok", version, "loaded")
    assert body["policy_loaded_at"].endswith("Z")
    assert body["models"] == len(rig.runtime.policies.current().policy.models)
    assert rig.model_calls() == 0
    # And it names no tenant, bucket, table or endpoint
    text = json.dumps(body)
    private = [BUCKET, POLICY_KEY, *rig.tables.values()]
    private += [tenant.id for tenant in rig.runtime.policies.current().policy.tenants]
    private += [model.base_url for model in rig.runtime.policies.current().policy.models if model.base_url]
    assert [value for value in private if value in text] == []


def test_health_is_degraded_while_a_broken_new_policy_is_rejected(rig: RouterRig) -> None:
    # Given a good policy serving, then the pointer set on a broken version by hand (the activator
    # never would; the rig refreshes on every request)
    good = rig.call(load_event("health"))[1]["policy_version"]
    rig.point_at_unchecked(b"version: 1\nname: broken\n")
    # When the health check runs
    status, body, _ = rig.call(load_event("health"))
    # Then it is still served by the last good version, and says so
    assert status == 200
    assert (body["status"], body["policy_version"], body["policy_refresh"]) == ("degraded", good, "rejected")


def test_health_is_503_unavailable_when_no_policy_ever_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a router whose only upload is invalid (so the activator never made it active)
    router_environment(monkeypatch)
    with running_router(b"version: 1\nname: broken\n") as broken:
        # When the health check runs
        status, body, _ = broken.call(load_event("health"))
    # Then it is 503 with status unavailable and no version
    assert status == 503
    assert (body["status"], body["policy_version"], body["policy_loaded_at"]) == ("unavailable", None, None)


def test_health_needs_no_key_through_the_gateway(served: tuple[dict[str, str], str]) -> None:
    _, url = served
    # When /health is called without an Authorization header, and /v1/usage likewise
    health = httpx.get(f"{url}/health", timeout=10)
    usage = httpx.get(f"{url}/v1/usage", timeout=10)
    # Then the health check answers and the keyed endpoint is refused by the gateway
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert usage.status_code == 401


@pytest.mark.parametrize(
    ("cooling", "last_refresh", "status"),
    [
        ({}, "unchanged", "ok"),
        ({"small": 12.0}, "loaded", "ok"),
        ({"small": 12.0, "large": 3.0}, "unchanged", "degraded"),
        ({}, "refresh_failed", "degraded"),
    ],
    ids=["healthy", "one-model-cooling", "every-model-cooling", "s3-unreadable"],
)
def test_health_status_follows_the_policy_refresh_and_the_breakers(
    cooling: dict[str, float], last_refresh: str, status: str
) -> None:
    # Given a loaded policy of two models, the latest refresh's outcome and the models cooling down
    active = ActivePolicy(build_policy(minimal_policy()), "v7", "etag", "sha256:x")
    state = PolicyState(active, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), last_refresh)
    # When the health report is made
    code, body = health_report(state, cooling)
    # Then it is degraded only when every model is cooling or the policy could not be refreshed
    assert (code, body["status"], body["models_cooling_down"]) == (200, status, len(cooling))
    assert (body["policy_version"], body["policy_loaded_at"]) == ("v7", "2026-01-02T03:04:05Z")
