"""The decision engine: route matching, strategies, eligibility reasons, pinning, classification."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import EXAMPLE_POLICY, build_policy, chat, features, minimal_policy, model_entry

from modelrouter.errors import NoEligibleModelError, RequestDeniedError
from modelrouter.policy import DataClassification
from modelrouter.request import ChatRequest
from modelrouter.selection import Decision, ExclusionReason, RequestContext, RouteMatch, decide


def run(
    document: dict[str, Any],
    request: ChatRequest | None = None,
    tenant: str = "t1",
    request_id: str = "req-1",
    **feature_overrides: Any,
) -> Decision:
    context = RequestContext(request_id=request_id, tenant_id=tenant)
    return decide(build_policy(document), request or chat(), context, features=features(**feature_overrides))


def reasons(decision_or_error: Decision | NoEligibleModelError) -> dict[str, ExclusionReason]:
    return {item.model: item.reason for item in decision_or_error.exclusions}


def test_fallback_route_keeps_listed_order() -> None:
    # Given a catch-all fallback route [small, large]
    # When a plain request is decided
    decision = run(minimal_policy())
    # Then both are candidates in that order, with sizes and costs
    assert [c.model for c in decision.candidates] == ["small", "large"]
    assert decision.route == "default"
    assert decision.matched_by is RouteMatch.WHEN
    primary = decision.primary
    assert primary.provider_model_id == "vendor.small-v1:0"
    # 100 prompt tokens at $1/M + 400 expected output tokens at $2/M
    assert primary.estimated_cost_usd == pytest.approx((100 * 1 + 400 * 2) / 1e6)
    assert primary.max_output_tokens == 4096
    assert primary.max_cost_usd == pytest.approx((100 * 1 + 4096 * 2) / 1e6)


def test_cascade_orders_by_estimated_cost() -> None:
    # Given a cascade listing the expensive model first
    document = minimal_policy()
    document["routes"][0] = {"name": "default", "strategy": "cascade", "models": ["large", "small"]}
    # Then the cheapest eligible model goes first
    assert [c.model for c in run(document).candidates] == ["small", "large"]
    assert run(document).primary.source == "cascade"


def tiered(document: dict[str, Any]) -> dict[str, Any]:
    document["models"].append(model_entry("medium"))
    document["routes"][0] = {
        "name": "default",
        "strategy": "threshold",
        "tiers": {"easy": ["small"], "mid": ["medium"], "hard": ["large"]},
        "thresholds": {"mid": 0.4, "hard": 0.7},
    }
    return document


@pytest.mark.parametrize(
    ("difficulty", "tier", "order", "set_aside"),
    [
        (0.0, "easy", ["small", "medium", "large"], []),
        (0.39, "easy", ["small", "medium", "large"], []),
        (0.4, "mid", ["medium", "large"], ["small"]),
        (0.75, "hard", ["large"], ["small", "medium"]),
        (1.0, "hard", ["large"], ["small", "medium"]),
    ],
)
def test_threshold_picks_tier_and_escalates_upwards(
    difficulty: float, tier: str, order: list[str], set_aside: list[str]
) -> None:
    decision = run(tiered(minimal_policy()), difficulty=difficulty)
    assert decision.tier == tier
    assert [c.model for c in decision.candidates] == order
    assert [e.model for e in decision.exclusions if e.reason is ExclusionReason.OTHER_TIER] == set_aside
    assert decision.candidates[0].source == f"tier:{tier}"


def test_weighted_is_deterministic_per_request_id_and_falls_back_to_other_variant() -> None:
    document = minimal_policy()
    document["routes"][0] = {
        "name": "default",
        "strategy": "weighted",
        "variants": [
            {"name": "champion", "weight": 50, "models": ["small"]},
            {"name": "challenger", "weight": 50, "models": ["large"]},
        ],
    }
    seen = {run(document, request_id=f"r{i}").variant for i in range(40)}
    assert seen == {"champion", "challenger"}
    decision = run(document, request_id="fixed")
    assert run(document, request_id="fixed") == decision
    other = "large" if decision.variant == "champion" else "small"
    assert decision.candidates[1].model == other
    assert decision.candidates[1].source.startswith("fallback:")


def routes_with(*routes: dict[str, Any]) -> dict[str, Any]:
    document = minimal_policy()
    document["routes"][0:0] = list(routes)
    return document


@pytest.mark.parametrize(
    ("when", "overrides", "metadata", "matches"),
    [
        ({"has_tools": True}, {"tools": 1}, None, True),
        ({"has_tools": True}, {}, None, False),
        ({"has_images": True}, {"images": 2}, None, True),
        ({"response_formats": ["json_schema"]}, {"response_format": "json_schema"}, None, True),
        ({"response_formats": ["json_schema"]}, {"response_format": "json_object"}, None, False),
        ({"languages": ["de", "fr"]}, {"language": "de"}, None, True),
        ({"languages": ["de"]}, {"language": "en"}, None, False),
        ({"pii": True}, {"pii": ("email",)}, None, True),
        ({"pii": False}, {"pii": ("email",)}, None, False),
        ({"pii_kinds": ["payment_card"]}, {"pii": ("email",)}, None, False),
        ({"prompt_tokens": {"min": 1000}}, {"prompt_tokens": 999}, None, False),
        ({"prompt_tokens": {"min": 1000, "max": 2000}}, {"prompt_tokens": 2000}, None, True),
        ({"difficulty": {"min": 0.5}}, {"difficulty": 0.5}, None, True),
        ({"difficulty": {"max": 0.3}}, {"difficulty": 0.31}, None, False),
        ({"tenants": ["t1"]}, {}, None, True),
        ({"tags": ["vip", "beta"]}, {}, {"tags": "beta, other"}, True),
        ({"tags": ["vip"]}, {}, {"tags": "beta"}, False),
        ({"classifications": ["internal"]}, {}, None, True),
        ({"classifications": ["public"]}, {}, {"data_classification": "public"}, True),
    ],
)
def test_when_conditions(
    when: dict[str, Any], overrides: dict[str, Any], metadata: dict[str, str] | None, matches: bool
) -> None:
    document = routes_with({"name": "special", "when": when, "models": ["large"]})
    context = RequestContext.from_metadata("r", "t1", metadata)
    decision = decide(build_policy(document), chat(), context, features=features(**overrides))
    assert (decision.route == "special") is matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("I want a REFUND now", True),
        ("Please process my charge back", True),
        ("refunds are great", False),  # whole words only
        ("my invoice #12345 is wrong", True),  # pattern
        ("nothing relevant", False),
    ],
)
def test_intents_match_keywords_and_patterns_on_latest_user_message(text: str, matches: bool) -> None:
    document = routes_with(
        {
            "name": "billing",
            "when": {"intents": {"keywords": ["refund", "charge back"], "patterns": [r"#\d{5}"]}},
            "models": ["large"],
        }
    )
    assert (run(document, request=chat(text)).route == "billing") is matches


def test_intents_ignore_earlier_turns() -> None:
    document = routes_with(
        {"name": "billing", "when": {"intents": {"keywords": ["refund"]}}, "models": ["large"]}
    )
    request = ChatRequest.model_validate(
        {
            "messages": [
                {"role": "user", "content": "refund please"},
                {"role": "assistant", "content": "done"},
                {"role": "user", "content": "thanks, what's the weather?"},
            ]
        }
    )
    assert run(document, request=request).route == "default"


def exclusion_case(model_overrides: dict[str, Any], **kwargs: Any) -> NoEligibleModelError:
    document = minimal_policy()
    document["models"] = [model_entry("only", **model_overrides)]
    document["routes"][0]["models"] = ["only"]
    for key, value in kwargs.pop("route", {}).items():
        document["routes"][0][key] = value
    for key, value in kwargs.pop("tenant", {}).items():
        document["tenants"][0][key] = value
    request = kwargs.pop("request", None)
    metadata = kwargs.pop("metadata", None)
    context = RequestContext.from_metadata("r", "t1", metadata)
    with pytest.raises(NoEligibleModelError) as caught:
        decide(build_policy(document), request or chat(), context, features=features(**kwargs))
    return caught.value


@pytest.mark.parametrize(
    ("model_overrides", "kwargs", "reason"),
    [
        ({"enabled": False}, {}, ExclusionReason.DISABLED),
        ({"tags": ["general"]}, {"tenant": {"allowed_tags": ["general"], "allowed_models": ["only"]}}, None),
        ({"max_classification": "internal"}, {"pii": ("email",)}, ExclusionReason.CLASSIFICATION_NOT_CLEARED),
        ({"residency": "us"}, {"tenant": {"regions": ["eu"]}}, ExclusionReason.RESIDENCY),
        ({"residency": "us"}, {"metadata": {"region": "eu"}}, ExclusionReason.RESIDENCY),
        ({"capabilities": []}, {"tools": 1}, ExclusionReason.CAPABILITY_MISSING),
        ({"capabilities": []}, {"images": 1}, ExclusionReason.CAPABILITY_MISSING),
        (
            {"capabilities": ["json_object"]},
            {"response_format": "json_schema"},
            ExclusionReason.CAPABILITY_MISSING,
        ),
        ({"capabilities": []}, {"language": "de"}, ExclusionReason.CAPABILITY_MISSING),
        (
            {"context_window": 8000, "max_output_tokens": 1000},
            {"prompt_tokens": 7800},
            ExclusionReason.CONTEXT_TOO_SMALL,
        ),
        ({"max_output_tokens": 1000}, {"request": chat(max_tokens=2000)}, ExclusionReason.OUTPUT_TOO_SMALL),
        (
            {"typical_latency_ms": 5000},
            {"route": {"limits": {"latency_budget_ms": 2000}}},
            ExclusionReason.TOO_SLOW,
        ),
        (
            {"pricing": {"input_per_mtok": 10, "output_per_mtok": 100}},
            {"route": {"limits": {"max_cost_usd": 0.01}}, "request": chat(max_tokens=1000)},
            ExclusionReason.OVER_COST_LIMIT,
        ),
        (
            {"pricing": {"input_per_mtok": 10, "output_per_mtok": 100}},
            {"route": {"limits": {"max_cost_usd": 0.01}}, "prompt_tokens": 990},
            ExclusionReason.OVER_COST_LIMIT,
        ),
    ],
)
def test_each_exclusion_reason(
    model_overrides: dict[str, Any], kwargs: dict[str, Any], reason: ExclusionReason | None
) -> None:
    if reason is None:  # an allowed model must not be excluded: the control case
        document = minimal_policy()
        document["models"] = [model_entry("only", **model_overrides)]
        document["routes"][0]["models"] = ["only"]
        document["tenants"][0].update(kwargs["tenant"])
        assert [c.model for c in run(document).candidates] == ["only"]
        return
    # Given a single-model route where one rule excludes the model
    # When decided, Then no model is eligible and the reason names the rule
    error = exclusion_case(model_overrides, **kwargs)
    assert reasons(error) == {"only": reason}
    assert error.route == "default"
    assert error.exclusions[0].detail


def test_tenant_allow_lists_by_model_and_by_tag() -> None:
    # Given a tenant allowed the tag "premium" and the model "small"
    document = minimal_policy()
    document["models"].append(model_entry("gold", tags=["premium"]))
    document["routes"][0]["models"] = ["small", "large", "gold"]
    document["tenants"][0].update(allowed_tags=["premium"], allowed_models=["small"])
    # When decided
    decision = run(document)
    # Then "large" is left out for the tenant, the others stay
    assert [c.model for c in decision.candidates] == ["small", "gold"]
    assert reasons(decision) == {"large": ExclusionReason.TENANT_NOT_ALLOWED}


def test_cooling_down_model_is_skipped() -> None:
    context = RequestContext("r", "t1", cooling_down=frozenset({"small"}))
    decision = decide(build_policy(minimal_policy()), chat(), context, features=features())
    assert [c.model for c in decision.candidates] == ["large"]
    assert reasons(decision) == {"small": ExclusionReason.COOLING_DOWN}


def test_cost_limit_caps_max_tokens_when_client_gives_none() -> None:
    # Given a route limit of $0.002 on a model at $1/M in, $2/M out, and 100 prompt tokens
    document = minimal_policy()
    document["routes"][0]["limits"] = {"max_cost_usd": 0.002}
    decision = run(document)
    # Then max_tokens is capped so the worst case fits the limit
    small = decision.primary
    assert small.max_output_tokens == (2000 - 100) // 2
    assert small.max_cost_usd <= 0.002


def test_pii_raises_classification_and_notes_why() -> None:
    decision = run(minimal_policy(), pii=("payment_card",), **{})
    assert decision.classification is DataClassification.CONFIDENTIAL
    assert "PII found (payment_card)" in decision.notes[0]


def test_classification_above_tenant_clearance_is_refused() -> None:
    # Given a tenant cleared for internal data (the default) and a request declaring restricted
    context = RequestContext.from_metadata("r", "t1", {"data_classification": "restricted"})
    with pytest.raises(RequestDeniedError) as caught:
        decide(build_policy(minimal_policy()), chat(), context, features=features())
    assert caught.value.code == "classification_not_allowed"
    assert caught.value.field == "metadata.data_classification"


def test_unknown_tenant_is_refused() -> None:
    with pytest.raises(RequestDeniedError, match="not in the policy"):
        run(minimal_policy(), tenant="ghost")


@pytest.mark.parametrize(
    ("pinning", "model", "outcome"),
    [
        ({}, "default", "pin_not_allowed"),
        ({"routes": ["default"]}, "default", RouteMatch.PINNED_ROUTE),
        ({"routes": "*"}, "default", RouteMatch.PINNED_ROUTE),
        ({}, "large", "pin_not_allowed"),
        ({"models": ["large"]}, "large", RouteMatch.PINNED_MODEL),
        ({"models": "*"}, "nope", "model_not_found"),
    ],
)
def test_pinning_only_where_allowed(pinning: dict[str, Any], model: str, outcome: Any) -> None:
    document = minimal_policy()
    document["pinning"] = pinning
    request = chat(model=model)
    if not isinstance(outcome, RouteMatch):
        with pytest.raises(RequestDeniedError) as caught:
            run(document, request=request)
        assert caught.value.code == outcome
        assert caught.value.field == "model"
        return
    decision = run(document, request=request)
    assert decision.matched_by is outcome
    if outcome is RouteMatch.PINNED_MODEL:
        assert [c.model for c in decision.candidates] == ["large"]
        assert decision.primary.source == "pinned"


def test_tenant_pinning_overrides_policy_pinning() -> None:
    document = minimal_policy()
    document["pinning"] = {"models": "*"}
    document["tenants"][0]["pinning"] = {"models": []}
    with pytest.raises(RequestDeniedError, match="may not pin model"):
        run(document, request=chat(model="small"))


def test_default_routes_when_nothing_matches() -> None:
    document = minimal_policy()
    document["routes"] = [
        {"name": "tools", "when": {"has_tools": True}, "models": ["large"]},
        {"name": "fallback", "when": {"tags": ["never"]}, "models": ["small"]},
    ]
    document["defaults"] = {"route": "tools"}
    assert run(document).matched_by is RouteMatch.POLICY_DEFAULT
    document["tenants"][0]["default_route"] = "fallback"
    decision = run(document)
    assert (decision.route, decision.matched_by) == ("fallback", RouteMatch.TENANT_DEFAULT)
    del document["defaults"]
    del document["tenants"][0]["default_route"]
    with pytest.raises(RequestDeniedError) as caught:
        run(document)
    assert caught.value.code == "no_route"


def test_over_budget_uses_downgrade_route_or_refuses() -> None:
    document = minimal_policy()
    document["routes"].insert(0, {"name": "cheap", "when": {"tags": ["cheap"]}, "models": ["small"]})
    policy = build_policy(document)
    context = RequestContext("r", "t1", over_budget=True)
    with pytest.raises(RequestDeniedError) as caught:
        decide(policy, chat(), context, features=features())
    assert caught.value.code == "budget_exhausted"
    document["tenants"][0]["over_budget_route"] = "cheap"
    decision = decide(build_policy(document), chat(), context, features=features())
    assert (decision.route, decision.matched_by) == ("cheap", RouteMatch.OVER_BUDGET)


def test_prompt_over_route_limit_is_refused() -> None:
    document = minimal_policy()
    document["routes"][0]["limits"] = {"max_prompt_tokens": 50}
    with pytest.raises(RequestDeniedError) as caught:
        run(document, prompt_tokens=51)
    assert (caught.value.code, caught.value.field) == ("prompt_too_long", "messages")


def test_required_output_format() -> None:
    document = minimal_policy()
    document["routes"][0]["limits"] = {"output_format": "json_schema"}
    with pytest.raises(RequestDeniedError) as caught:
        run(document, response_format="json_object")
    assert (caught.value.code, caught.value.field) == ("output_format_required", "response_format")
    decision = run(document, response_format="json_schema")
    assert "json_schema" in decision.required_capabilities


def test_example_policy_routes_restricted_fraud_data_only_to_cleared_models() -> None:
    # Given the example policy and a fraud analyst sending restricted data
    from modelrouter.policy import load_policy_file

    policy = load_policy_file(EXAMPLE_POLICY).policy
    context = RequestContext.from_metadata("r", "fincorp-fraud", {"data_classification": "restricted"})
    schema = {"type": "object", "properties": {"risk_score": {"type": "number"}}}
    request = chat(
        "Is this transaction suspicious?",
        response_format={"type": "json_schema", "json_schema": {"name": "triage", "schema": schema}},
    )
    # When decided
    decision = decide(policy, request, context, features=features(response_format="json_schema"))
    # Then the first pass is the self-hosted model in the VPC, and the escalation Claude Sonnet 4 (zero
    # retention), both cleared for restricted data
    assert decision.route == "fraud-triage"
    assert [c.model for c in decision.candidates] == ["llama-8b-vpc", "claude-sonnet-4-bedrock"]
