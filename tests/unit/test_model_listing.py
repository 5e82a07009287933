"""GET /v1/models and /v1/models/{id}: the listing and the engine's pin check are one predicate."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import EXAMPLE_POLICY, build_policy, chat, minimal_policy, model_entry
from tests.service_fakes import service_rig

from modelrouter.api.openai_format import model_list, model_object
from modelrouter.errors import NoEligibleModelError, RequestDeniedError
from modelrouter.policy import Policy
from modelrouter.policy.tenants import Tenant
from modelrouter.selection.context import RequestContext
from modelrouter.selection.decision import ExclusionReason
from modelrouter.selection.engine import decide
from modelrouter.selection.naming import nameable

NOT_ALLOWED = {ExclusionReason.TENANT_NOT_ALLOWED, ExclusionReason.DISABLED, ExclusionReason.RESIDENCY}
"""Exclusions that mean "this tenant may not use the model", whatever the request."""


def example_policy() -> Policy:
    return build_policy(yaml.safe_load(EXAMPLE_POLICY.read_text()))


def refused_as_not_allowed(policy: Policy, tenant: Tenant, name: str, *, pin_only: bool = False) -> bool:
    """Whether a plain request naming ``name`` is refused because the tenant may not use it: the pin
    refused, or (unless ``pin_only``) every model behind it left out as not the tenant's to use."""
    try:
        decide(policy, chat(model=name), RequestContext("req-1", tenant.id))
    except RequestDeniedError as error:
        return error.code == "pin_not_allowed"
    except NoEligibleModelError as error:
        reasons = {item.reason for item in error.exclusions}
        return not pin_only and bool(reasons) and reasons <= NOT_ALLOWED
    return False


def assert_listing_matches_the_check(policy: Policy) -> None:
    every_name = {route.name for route in policy.routes} | {model.id for model in policy.models}
    for tenant in policy.tenants:
        listed = [named.id for named in nameable(policy, tenant)]
        assert len(listed) == len(set(listed))
        # auto is always listed and never refused as a pin: where it leads is the policy's routing
        assert listed[0] == "auto"
        assert not refused_as_not_allowed(policy, tenant, "auto", pin_only=True)
        for name in listed[1:]:
            assert not refused_as_not_allowed(policy, tenant, name), (tenant.id, name)
        for name in every_name - set(listed):
            assert refused_as_not_allowed(policy, tenant, name), (tenant.id, name)


def test_example_policy_lists_exactly_what_each_tenant_may_name() -> None:
    # Given the example policy and its four tenants (pinning, tags, allowed models, regions)
    policy = example_policy()
    # When each tenant's listing is compared with the engine's answer to every route and model name
    # Then every listed name is served and every other one is refused as not allowed
    assert_listing_matches_the_check(policy)


def test_devtools_lists_auto_its_routes_and_its_pinnable_models() -> None:
    # Given devtools, who may pin every route and four models
    policy = example_policy()
    devtools = policy.tenant_by_id["devtools"]
    # When its names are listed
    named = nameable(policy, devtools)
    # Then auto comes first, then the routes in policy order, then exactly the pinnable models
    assert named[0].id == "auto"
    routes = [n.id for n in named if n.kind == "route"]
    assert routes == [route.name for route in policy.routes]
    pinnable = devtools.pinning.models if devtools.pinning is not None else []
    assert {n.id for n in named if n.kind == "model"} == set(pinnable)


def test_a_model_the_tenant_may_not_use_is_not_listed_even_when_pinning_allows_it() -> None:
    # Given a tenant whose pinning allows every model but whose allowed_models excludes "large"
    document = minimal_policy()
    document["tenants"][0].update(allowed_models=["small"], pinning={"models": "*", "routes": "*"})
    policy = build_policy(document)
    # When it lists its models and pins "large"
    ids = [named.id for named in nameable(policy, policy.tenants[0])]
    # Then "large" is not listed, and pinning it is refused as not allowed (403, the field named)
    assert ids == ["auto", "default", "small"]
    with pytest.raises(RequestDeniedError) as refused:
        decide(policy, chat(model="large"), RequestContext("req-1", "t1"))
    assert (refused.value.code, refused.value.http_status, refused.value.field) == (
        "pin_not_allowed",
        403,
        "model",
    )


def test_a_route_none_of_whose_models_serve_the_tenant_is_not_listed() -> None:
    # Given a route of only "large", a disabled model, and a tenant who may pin every route
    document = minimal_policy()
    document["models"].append(model_entry("retired", enabled=False))
    document["routes"].insert(0, {"name": "premium", "models": ["large"], "when": {"tags": ["premium"]}})
    document["routes"].insert(1, {"name": "old", "models": ["retired"], "when": {"tags": ["old"]}})
    document["tenants"][0].update(allowed_models=["small"], pinning={"routes": "*", "models": "*"})
    policy = build_policy(document)
    # When its names are listed
    ids = [named.id for named in nameable(policy, policy.tenants[0])]
    # Then neither route nor the disabled model is, and the check agrees
    assert ids == ["auto", "default", "small"]
    assert_listing_matches_the_check(policy)


model_ids = st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True)
route_names = st.lists(st.sampled_from(["r1", "r2", "r3"]), unique=True)
tenant_settings = st.fixed_dictionaries(
    {},
    optional={
        "allowed_models": model_ids,
        "allowed_tags": st.lists(st.sampled_from(["cheap", "eu", "big"]), unique=True),
        "regions": st.lists(st.sampled_from(["us", "eu"]), min_size=1, unique=True),
        "pinning": st.fixed_dictionaries(
            {
                "routes": st.one_of(st.just("*"), st.lists(st.sampled_from(["r1", "r2", "r3"]), unique=True)),
                "models": st.one_of(
                    st.just("*"), st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True)
                ),
            }
        ),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenants=st.lists(tenant_settings, min_size=1, max_size=3), disabled=st.sets(st.sampled_from("abcd")))
def test_any_tenant_configuration_lists_exactly_what_it_may_name(
    tenants: list[dict[str, Any]], disabled: set[str]
) -> None:
    # Given four models in two regions with tags, three routes, and tenants of any allow-list, region
    # and pinning (the policy-wide pinning allows route r1 and model a)
    models = [
        model_entry("a", tags=["cheap"], residency="us"),
        model_entry("b", tags=["cheap", "eu"], residency="eu"),
        model_entry("c", tags=["big"], residency="us"),
        model_entry("d", tags=["big", "eu"], residency="eu"),
    ]
    for entry in models:
        entry["enabled"] = entry["id"] not in disabled
    document = {
        "version": 1,
        "name": "listing",
        "defaults": {"route": "r1"},
        "pinning": {"routes": ["r1"], "models": ["a"]},
        "models": models,
        "tenants": [
            {"id": f"t{index}", "budget": {"daily_usd": 5}, **extra} for index, extra in enumerate(tenants)
        ],
        "routes": [
            {"name": "r1", "models": ["a", "b"], "when": {"tags": ["cheap"]}},
            {"name": "r2", "models": ["c"], "when": {"tags": ["big"]}},
            {"name": "r3", "models": ["d", "b"], "when": {"tags": ["eu"]}},
        ],
    }
    # When each tenant's listing is compared with the engine's check
    # Then they agree on every name
    assert_listing_matches_the_check(build_policy(document))


def test_model_objects_are_openai_models_with_a_router_extension() -> None:
    # Given devtools' names in the example policy
    policy = example_policy()
    names = {named.id: named for named in nameable(policy, policy.tenant_by_id["devtools"])}
    # When they are rendered
    listing = model_list(list(names.values()))
    gpt = model_object(names["gpt-4o"])
    route = model_object(names["coding-assistant"])
    # Then each is OpenAI's model object, with what the name is and what it costs
    assert listing["object"] == "list"
    assert [entry["id"] for entry in listing["data"]] == list(names)
    spec = policy.model_by_id["gpt-4o"]
    assert (gpt["id"], gpt["object"], gpt["owned_by"], type(gpt["created"])) == (
        "gpt-4o",
        "model",
        "openai",
        int,
    )
    assert gpt["router"]["kind"] == "model"
    assert gpt["router"]["context_window"] == spec.context_window
    assert gpt["router"]["pricing"]["input_per_mtok"] == spec.pricing.input_per_mtok
    assert set(gpt["router"]["capabilities"]) == {str(capability) for capability in spec.capabilities}
    # And a route names the models that may answer it and their price range
    assert (route["owned_by"], route["router"]["kind"]) == ("modelrouter", "route")
    served = [policy.model_by_id[model_id] for model_id in route["router"]["models"]]
    prices = [model.pricing.output_per_mtok for model in served]
    assert route["router"]["pricing_range"]["output_per_mtok"] == {"min": min(prices), "max": max(prices)}
    assert model_object(names["auto"])["router"]["kind"] == "auto"


def test_model_objects_reveal_no_endpoint_key_or_provider_id() -> None:
    # Given every tenant's listing of the example policy
    policy = example_policy()
    text = json.dumps([model_list(nameable(policy, tenant)) for tenant in policy.tenants])
    # Then no base URL, provider model id, secret reference or region of a Bedrock endpoint is in it
    for model in policy.models:
        hidden = [model.model_id, model.base_url, model.region, model.deployment]
        if model.api_key is not None:
            hidden += [model.api_key.secretsmanager, model.api_key.ssm]
        for value in filter(None, hidden):
            assert value not in text, value
    assert "api_key" not in text


def test_retrieving_a_name_the_tenant_may_not_use_is_404_like_one_that_does_not_exist() -> None:
    # Given the example policy's service, and devtools who may not pin nova-micro
    policy = example_policy()
    service = service_rig(policy, {}).service
    # When devtools retrieves a model it may use, one it may not, and one that does not exist
    found = service.model("devtools", "gpt-4o")
    with pytest.raises(RequestDeniedError) as hidden:
        service.model("devtools", "nova-micro")
    with pytest.raises(RequestDeniedError) as missing:
        service.model("devtools", "no-such-model")
    # Then the first is found, and the other two are the same 404 model_not_found on the model field
    assert found.id == "gpt-4o"
    for refused in (hidden.value, missing.value):
        assert (refused.code, refused.http_status, refused.field) == ("model_not_found", 404, "model")
    assert hidden.value.message.replace("nova-micro", "X") == missing.value.message.replace(
        "no-such-model", "X"
    )
