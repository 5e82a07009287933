"""Whatever the strategy (fallback, cascade, threshold, weighted, learned) or a pin picks, over generated
catalogs, tenants, classifications and requests: no candidate breaks the compliance rules, and the
``compliance`` block lists exactly the route's models kept out by them. And what a tenant may name
(``GET /v1/models``, the pin check) agrees with eligibility.

The rules are restated here from the policy, independently of ``selection.compliance``: the model is
allowed to the tenant, cleared for the classification (declared, else the tenant's default, raised when
personal data is found), runs in the tenant's regions and the request's region, and is deployed in a mode
the tenant and every listed classification up to the request's allow.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import chat, features, model_entry
from tests.learned_fixtures import ROUTER_KEY, keyword_router, sha256_hex

from modelrouter.errors import NoEligibleModelError, RequestDeniedError
from modelrouter.learned.artifact import LearnedRouter
from modelrouter.policy import ArtifactRef, DataClassification, Policy, classification_rank
from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import DeploymentMode
from modelrouter.selection import Decision, ExclusionReason, RequestContext, decide
from modelrouter.selection.compliance import COMPLIANCE_REASONS, compliance_block
from modelrouter.selection.naming import nameable

LEVELS = list(DataClassification)
MODES = [mode.value for mode in DeploymentMode]
CLEARANCES = ["public", "internal", "confidential", "confidential", "restricted", "restricted"]
"""Catalog clearances, weighted to the top so that most requests keep some candidates."""
MODEL_IDS = [f"m{index}" for index in range(6)]
STRATEGIES = ["fallback", "cascade", "threshold", "weighted", "learned"]
KEYWORD = "prove"
"""The learned router's keyword: a prompt that is this word gets the ``with_keyword`` predictions."""


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict[str, Any]]:
    return [
        model_entry(
            model_id,
            enabled=draw(st.sampled_from([True, True, True, False])),
            max_classification=draw(st.sampled_from(CLEARANCES)),
            residency=draw(st.sampled_from(["us", "eu"])),
            deployment_mode=draw(st.sampled_from(MODES)),
            pricing={
                "input_per_mtok": draw(st.sampled_from([0.1, 1.0, 15.0])),
                "output_per_mtok": draw(st.sampled_from([0.4, 4.0, 75.0])),
            },
            tags=[draw(st.sampled_from(["a", "b"]))],
        )
        for model_id in MODEL_IDS
    ]


@st.composite
def routes(draw: st.DrawFn) -> tuple[dict[str, Any], LearnedRouter | None]:
    models = draw(st.lists(st.sampled_from(MODEL_IDS), min_size=3, max_size=6, unique=True))
    strategy = draw(st.sampled_from(STRATEGIES))
    route: dict[str, Any] = {"name": "r", "strategy": strategy}
    router = None
    if strategy in {"fallback", "cascade"}:
        route["models"] = models
    elif strategy == "threshold":
        split = draw(st.integers(1, max(1, len(models) - 1)))
        route["tiers"] = {"low": models[:split], "high": models[split:] or models[:1]}
        route["thresholds"] = {"high": draw(st.sampled_from([0.3, 0.5, 0.8]))}
    elif strategy == "weighted":
        route["variants"] = [
            {"name": f"v{i}", "weight": draw(st.integers(1, 10)), "models": [model]}
            for i, model in enumerate(models)
        ]
    else:
        quality = {model: draw(st.floats(0.05, 0.95)) for model in models}
        with_keyword = {model: draw(st.floats(0.05, 0.95)) for model in models}
        router, raw = keyword_router(quality, keyword=KEYWORD, with_keyword=with_keyword)
        objective = (
            {"quality_target": draw(st.sampled_from([0.5, 0.9]))}
            if draw(st.booleans())
            else {"cost_weight": draw(st.sampled_from([0.0, 10.0, 1000.0]))}
        )
        route["models"] = models
        route["learned"] = {
            "router": ROUTER_KEY,
            "sha256": sha256_hex(raw),
            "model_map": {model: model for model in models},
            **objective,
        }
    return route, router


@st.composite
def tenants(draw: st.DrawFn) -> dict[str, Any]:
    """Tenant t: may send restricted data and pin anything; maybe allowed tags, regions, required modes."""
    tenant: dict[str, Any] = {
        "id": "t",
        "budget": {"daily_usd": 10},
        "max_classification": "restricted",
        "default_classification": draw(st.sampled_from([level.value for level in LEVELS])),
        "pinning": {"routes": "*", "models": "*"},
    }
    if draw(st.booleans()):
        tenant["allowed_tags"] = [draw(st.sampled_from(["a", "b"]))]
    if draw(st.booleans()):
        tenant["regions"] = [draw(st.sampled_from(["us", "eu"]))]
    if draw(st.booleans()):
        tenant["required_deployment_modes"] = draw(st.lists(st.sampled_from(MODES), min_size=1, unique=True))
    return tenant


def modes_by_level() -> st.SearchStrategy[dict[str, list[str]]]:
    """``defaults.deployment_modes_by_classification``: up to two levels, each with some modes."""
    return st.dictionaries(
        st.sampled_from([level.value for level in LEVELS]),
        st.lists(st.sampled_from(MODES), min_size=1, unique=True),
        max_size=2,
    )


def policy_of(models: list[dict[str, Any]], tenant: dict[str, Any], by_level: Any, route: Any) -> Policy:
    """The policy of one tenant and one route over ``models``."""
    document = {
        "version": 1,
        "name": "p",
        "defaults": {"deployment_modes_by_classification": by_level},
        "models": models,
        "tenants": [tenant],
        "routes": [route],
    }
    return Policy.model_validate(document)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Policy, dict[ArtifactRef, LearnedRouter], RequestContext, Any]:
    route, router = draw(routes())
    policy = policy_of(draw(catalogs()), draw(tenants()), draw(modes_by_level()), route)
    learned = policy.routes[0].learned
    routers = {learned.ref: router} if learned is not None and router is not None else {}
    context = RequestContext(
        request_id=draw(st.text(min_size=1, max_size=8)),
        tenant_id="t",
        data_classification=draw(st.sampled_from([None, *LEVELS])),
        region=draw(st.sampled_from([None, None, "us", "eu"])),
    )
    request = {
        "text": draw(st.sampled_from([KEYWORD, "hello there"])),
        "model": draw(st.sampled_from(MODEL_IDS)) if draw(st.integers(0, 3)) == 0 else "auto",
        "pii": tuple(draw(st.lists(st.sampled_from(["email", "iban"]), max_size=1))),
        "difficulty": draw(st.floats(0, 1)),
    }
    return policy, routers, context, request


def expected_classification(policy: Policy, context: RequestContext, pii: bool) -> DataClassification:
    tenant = policy.tenant_by_id[context.tenant_id]
    level = context.data_classification or tenant.default_classification
    raised = policy.defaults.pii_classification
    if pii and classification_rank(level) < classification_rank(raised):
        return raised
    return level


def breaks_rules(
    model: ModelSpec, policy: Policy, context: RequestContext, level: DataClassification
) -> bool:
    """Whether the compliance rules keep ``model`` from this request (restated from the policy)."""
    tenant = policy.tenant_by_id[context.tenant_id]
    required = [
        modes
        for listed, modes in policy.defaults.deployment_modes_by_classification.items()
        if classification_rank(listed) <= classification_rank(level)
    ]
    if tenant.required_deployment_modes is not None:
        required.append(tenant.required_deployment_modes)
    return (
        not tenant.allows_model(model.id, model.tags)
        or classification_rank(model.max_classification) < classification_rank(level)
        or (tenant.regions is not None and model.residency not in tenant.regions)
        or (context.region is not None and model.residency != context.region)
        or any(model.deployment_mode not in modes for modes in required)
    )


def decided(
    policy: Policy, routers: dict[ArtifactRef, LearnedRouter], context: RequestContext, request: Any
) -> Decision | NoEligibleModelError | None:
    """The decision; the error when no model is left; None for a refusal before eligibility."""
    body = chat(request["text"], model=request["model"])
    found = features(pii=request["pii"], difficulty=request["difficulty"])
    try:
        return decide(policy, body, context, features=found, routers=routers)
    except NoEligibleModelError as error:
        return error
    except RequestDeniedError:
        return None


@settings(max_examples=300)
@given(scenarios())
def test_no_strategy_ever_picks_a_model_the_compliance_rules_exclude(scenario: Any) -> None:
    # Given any catalog, tenant, required modes, modes by classification, strategy and request
    policy, routers, context, request = scenario
    level = expected_classification(policy, context, bool(request["pii"]))
    # When it is decided
    outcome = decided(policy, routers, context, request)
    if outcome is None:
        return
    # Then every model excluded for a compliance reason breaks the rules (with candidates or without)
    excluded = {e.model for e in outcome.exclusions if e.reason in COMPLIANCE_REASONS}
    assert all(breaks_rules(policy.model_by_id[name], policy, context, level) for name in excluded)
    if isinstance(outcome, NoEligibleModelError):
        return
    names = [candidate.model for candidate in outcome.candidates]
    block = compliance_block(outcome, outcome.primary.model)
    # And the classification is the declared or default one, raised for personal data
    assert outcome.classification is level
    # And no candidate breaks the rules, and the block lists exactly the compliance exclusions
    assert not [name for name in names if breaks_rules(policy.model_by_id[name], policy, context, level)]
    assert {item["model"] for item in block["excluded_for_compliance"]} == excluded
    assert not excluded & set(names)


@given(scenarios())
def test_the_block_describes_the_model_that_answered(scenario: Any) -> None:
    # Given any decision that has candidates
    policy, routers, context, request = scenario
    decision = decided(policy, routers, context, request)
    if not isinstance(decision, Decision):
        return
    for candidate in decision.candidates:
        # When the block is built for each candidate as the answering model
        block = compliance_block(decision, candidate.model)
        model = policy.model_by_id[candidate.model]
        # Then it carries that model's residency and deployment mode and the policy version
        assert (block["model"], block["residency"], block["deployment_mode"]) == (
            model.id,
            model.residency,
            model.deployment_mode.value,
        )
        assert block["classification"] == decision.classification.value
        assert block["policy_version"] == decision.policy_version


_NEVER_ANSWERS = {
    ExclusionReason.DISABLED,
    ExclusionReason.TENANT_NOT_ALLOWED,
    ExclusionReason.CLASSIFICATION_NOT_CLEARED,
    ExclusionReason.RESIDENCY,
    ExclusionReason.DEPLOYMENT_MODE,
}
"""Reasons a model gives for a public request that demands no region only if it can never answer."""


def pinned(policy: Policy, model_id: str) -> str | set[ExclusionReason]:
    """The refusal code of a public request pinning ``model_id``, else the reasons it was excluded for."""
    context = RequestContext("r", "t", data_classification=DataClassification.PUBLIC)
    try:
        decision = decide(policy, chat(model=model_id), context, features=features())
    except RequestDeniedError as error:
        return error.code
    except NoEligibleModelError as error:
        return {e.reason for e in error.exclusions}
    return {e.reason for e in decision.exclusions}


@given(catalogs(), tenants(), modes_by_level())
def test_a_model_may_be_named_exactly_when_it_can_answer_some_request(
    models: list[dict[str, Any]], tenant: dict[str, Any], by_level: dict[str, list[str]]
) -> None:
    # Given any catalog, tenant, required modes and modes by classification, and the tenant's listing
    policy = policy_of(models, tenant, by_level, {"name": "r", "models": MODEL_IDS})
    listed = {named.id for named in nameable(policy, policy.tenant_by_id["t"])}
    for model in policy.models:
        # When the tenant pins each model with the least demanding request (public, no region)
        outcome = pinned(policy, model.id)
        # Then a refused pin is one the listing left out, and an accepted one is listed and never
        # excluded for a reason that would mean it can never answer
        if isinstance(outcome, str):
            assert (outcome, model.id in listed) == ("pin_not_allowed", False)
        else:
            assert model.id in listed
            assert not outcome & _NEVER_ANSWERS
