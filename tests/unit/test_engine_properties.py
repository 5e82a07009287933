"""Invariants of the decision engine over generated policies, tenants and requests."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import chat, features, model_entry

from modelrouter.errors import NoEligibleModelError, RequestDeniedError
from modelrouter.policy import Capability, DataClassification, Policy, classification_rank
from modelrouter.selection import Decision, RequestContext, decide
from modelrouter.selection.strategies import pick_variant

CLASSIFICATIONS = [level.value for level in DataClassification]
CAPABILITIES = [capability.value for capability in Capability]
MODEL_IDS = [f"m{index}" for index in range(6)]


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict[str, Any]]:
    models = []
    for model_id in MODEL_IDS:
        window = draw(st.sampled_from([4_000, 32_000, 200_000]))
        models.append(
            model_entry(
                model_id,
                enabled=draw(st.booleans()),
                capabilities=draw(st.lists(st.sampled_from(CAPABILITIES), unique=True)),
                max_classification=draw(st.sampled_from(CLASSIFICATIONS)),
                residency=draw(st.sampled_from(["us", "eu"])),
                context_window=window,
                max_output_tokens=draw(st.sampled_from([256, 2_048, 4_000])),
                typical_latency_ms=draw(st.sampled_from([500, 3_000, 9_000])),
                pricing={
                    "input_per_mtok": draw(st.sampled_from([0.1, 1.0, 15.0])),
                    "output_per_mtok": draw(st.sampled_from([0.4, 4.0, 75.0])),
                },
                tags=[draw(st.sampled_from(["a", "b"]))],
            )
        )
    return models


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Policy, RequestContext, dict[str, Any], int | None]:
    route_models = draw(st.lists(st.sampled_from(MODEL_IDS), min_size=1, max_size=6, unique=True))
    strategy = draw(st.sampled_from(["fallback", "cascade", "threshold", "weighted"]))
    route: dict[str, Any] = {"name": "r", "strategy": strategy}
    if strategy in {"fallback", "cascade"}:
        route["models"] = route_models
    elif strategy == "threshold":
        split = draw(st.integers(1, len(route_models))) if len(route_models) > 1 else 1
        low, high = route_models[:split], route_models[split:] or route_models[:1]
        route["tiers"] = {"low": low, "high": high}
        route["thresholds"] = {"high": draw(st.sampled_from([0.3, 0.5, 0.8]))}
    else:
        route["variants"] = [
            {"name": f"v{i}", "weight": draw(st.integers(1, 10)), "models": [model]}
            for i, model in enumerate(route_models)
        ]
    limits: dict[str, Any] = {}
    if draw(st.booleans()):
        limits["max_cost_usd"] = draw(st.sampled_from([0.001, 0.05, 1.0]))
    if draw(st.booleans()):
        limits["latency_budget_ms"] = draw(st.sampled_from([1_000, 5_000]))
    route["limits"] = limits
    tenant: dict[str, Any] = {
        "id": "t",
        "budget": {"daily_usd": 10},
        "max_classification": "restricted",
        "default_classification": draw(st.sampled_from(CLASSIFICATIONS)),
    }
    if draw(st.booleans()):
        tenant["allowed_tags"] = [draw(st.sampled_from(["a", "b"]))]
    if draw(st.booleans()):
        tenant["regions"] = [draw(st.sampled_from(["us", "eu"]))]
    document = {"version": 1, "name": "p", "models": draw(catalogs()), "tenants": [tenant], "routes": [route]}
    policy = Policy.model_validate(document)
    context = RequestContext(
        request_id=draw(st.text(min_size=1, max_size=8)),
        tenant_id="t",
        region=draw(st.sampled_from([None, "us", "eu"])),
        cooling_down=frozenset(draw(st.lists(st.sampled_from(MODEL_IDS), max_size=2))),
    )
    feature_args = {
        "prompt_tokens": draw(st.sampled_from([10, 3_000, 30_000, 150_000])),
        "difficulty": draw(st.floats(0, 1)),
        "language": draw(st.sampled_from(["en", "de"])),
        "images": draw(st.sampled_from([0, 1])),
        "tools": draw(st.sampled_from([0, 2])),
        "response_format": draw(st.sampled_from(["text", "json_object", "json_schema"])),
        "pii": tuple(draw(st.lists(st.sampled_from(["email", "iban"]), max_size=1))),
    }
    max_tokens = draw(st.sampled_from([None, 100, 3_000]))
    return policy, context, feature_args, max_tokens


def run(
    policy: Policy, context: RequestContext, feature_args: dict[str, Any], max_tokens: int | None
) -> Decision:
    request = chat("hi", max_tokens=max_tokens) if max_tokens else chat("hi")
    return decide(policy, request, context, features=features(**feature_args))


def assert_eligible(decision: Decision, policy: Policy, context: RequestContext, prompt_tokens: int) -> None:
    tenant = policy.tenant_by_id[context.tenant_id]
    limit = policy.routes[0].limits.max_cost_usd
    for candidate in decision.candidates:
        model = policy.model_by_id[candidate.model]
        assert model.enabled
        assert model.id not in context.cooling_down
        assert tenant.allows_model(model.id, model.tags)
        assert classification_rank(model.max_classification) >= classification_rank(decision.classification)
        assert tenant.regions is None or model.residency in tenant.regions
        assert context.region is None or model.residency == context.region
        assert set(decision.required_capabilities) <= model.capabilities
        assert prompt_tokens + 1 <= model.context_window
        assert candidate.max_output_tokens <= model.max_output_tokens
        assert prompt_tokens + candidate.max_output_tokens <= model.context_window
        assert limit is None or candidate.max_cost_usd <= limit + 1e-12


@given(scenarios())
def test_candidates_are_eligible_unique_and_every_model_is_accounted_for(scenario: Any) -> None:
    # Given any policy, tenant, context and request
    policy, context, feature_args, max_tokens = scenario
    route_models = {model for _, model in policy.routes[0].all_model_refs()}
    # When decided
    try:
        decision = run(policy, context, feature_args, max_tokens)
    except NoEligibleModelError as error:
        explained = {item.model for item in error.exclusions}
    except RequestDeniedError:
        return
    else:
        explained = set()
    if explained:
        # Then with no candidate, every model of the route has a reason
        assert explained == route_models
        return
    names = [candidate.model for candidate in decision.candidates]
    excluded = [item.model for item in decision.exclusions]
    # Then candidates are unique and eligible, and each route model is a candidate or has a reason
    assert len(names) == len(set(names))
    assert len(excluded) == len(set(excluded))
    assert set(names).isdisjoint(excluded)
    assert set(names) | set(excluded) == route_models
    assert_eligible(decision, policy, context, feature_args["prompt_tokens"])


@given(scenarios())
def test_decision_is_deterministic(scenario: Any) -> None:
    # Given the same policy, request id and request, When decided twice (and on a fresh copy of the policy)
    policy, context, feature_args, max_tokens = scenario
    fresh = Policy.model_validate(policy.model_dump())
    outcomes = []
    for current in (policy, policy, fresh):
        try:
            outcomes.append(run(current, context, feature_args, max_tokens).model_dump())
        except (NoEligibleModelError, RequestDeniedError) as error:
            outcomes.append({"error": str(error)})
    # Then the decisions are identical
    assert outcomes[0] == outcomes[1] == outcomes[2]


@settings(max_examples=25, deadline=None)
@given(
    weights=st.lists(st.integers(1, 20), min_size=2, max_size=4),
    salt=st.text(alphabet="abcxyz019", max_size=4),
)
def test_weighted_split_matches_weights(weights: list[int], salt: str) -> None:
    # Given a weighted route and many request ids
    document = {
        "version": 1,
        "name": "p",
        "models": [model_entry("m")],
        "tenants": [{"id": "t", "budget": {"daily_usd": 1}}],
        "routes": [
            {
                "name": f"split{salt}",
                "strategy": "weighted",
                "variants": [{"name": f"v{i}", "weight": w, "models": ["m"]} for i, w in enumerate(weights)],
            }
        ],
    }
    route = Policy.model_validate(document).routes[0]
    draws = 4_000
    counts = dict.fromkeys((f"v{i}" for i in range(len(weights))), 0)
    # When each request id picks a variant
    for index in range(draws):
        counts[pick_variant(route, f"{salt}-{index}").name] += 1
    # Then each share is within 4.5 standard deviations of its weight
    total = sum(weights)
    for i, weight in enumerate(weights):
        share = weight / total
        sigma = math.sqrt(draws * share * (1 - share))
        assert abs(counts[f"v{i}"] - draws * share) <= 4.5 * sigma + 1
