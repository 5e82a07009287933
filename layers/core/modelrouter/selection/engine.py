"""The decision engine: policy + request + context in, a :class:`Decision` out. Pure: no I/O, no clock.

The same request id and policy always give the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping

from modelrouter.bandit.snapshot import BanditSnapshot
from modelrouter.errors import NoEligibleModelError, RequestDeniedError
from modelrouter.features import extract_features
from modelrouter.features.records import RequestFeatures, TopicGuess
from modelrouter.learned.artifact import LearnedRouter
from modelrouter.learned.topics import TopicClassifier
from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import AnswerFormat, Capability
from modelrouter.policy.document import Policy
from modelrouter.policy.learned import ArtifactRef
from modelrouter.policy.routes import Route, Strategy
from modelrouter.policy.tenants import Tenant
from modelrouter.pricing import cost_usd
from modelrouter.request import ChatRequest
from modelrouter.selection.bandit import stochastic_order
from modelrouter.selection.compliance import Clearance, classify
from modelrouter.selection.context import RequestContext
from modelrouter.selection.decision import (
    Candidate,
    Decision,
    Exclusion,
    ExclusionReason,
    LearnedChoice,
    RouteMatch,
    RouteTrace,
    TierDifficulty,
    WhenClause,
)
from modelrouter.selection.eligibility import Demand, Sizing, assess
from modelrouter.selection.learned import difficulty_for_tier, order_by_prediction, skip_unconfident
from modelrouter.selection.matching import RequestView, explain_when, when_matches
from modelrouter.selection.naming import AUTO, model_refusal, route_refusal
from modelrouter.selection.strategies import order_candidates
from modelrouter.selection.topics import guess_topic

__all__ = ["AUTO", "decide"]

# A language is only held against models without "multilingual" when the detector is this sure.
_LANGUAGE_CONFIDENCE = 0.6
_FORMAT_STRICTNESS = {AnswerFormat.TEXT: 0, AnswerFormat.JSON_OBJECT: 1, AnswerFormat.JSON_SCHEMA: 2}
_FORMAT_CAPABILITY = {
    AnswerFormat.JSON_OBJECT: Capability.JSON_OBJECT,
    AnswerFormat.JSON_SCHEMA: Capability.JSON_SCHEMA,
}


def decide(
    policy: Policy,
    request: ChatRequest,
    context: RequestContext,
    *,
    features: RequestFeatures | None = None,
    policy_version: str = "",
    routers: Mapping[ArtifactRef, LearnedRouter] | None = None,
    topics: TopicClassifier | None = None,
    explain: bool = False,
    bandit_states: Mapping[str, BanditSnapshot] | None = None,
) -> Decision:
    """Choose the route and the ordered candidate models for ``request``.

    ``routers`` are the learned routers loaded with the policy (by key and pin); a learned route or
    learned difficulty whose router is not there falls back to the listed order (the hand-made
    difficulty), with a note. ``topics`` is the policy's topic classifier, loaded with it: it gives the
    request its ``topic`` when a route's ``when.topics`` is first reached, so a request that matches
    earlier pays nothing for it (without a classifier, no topic, with a note); the decision's features
    carry the topic when it was scored. ``explain`` adds the trace of the routes tried and their
    conditions. A cascade route with a ``cascade`` block skips the tiers its router predicts below
    ``skip_below`` (never the last, never a pinned model; without its router, none, with a note).

    ``bandit_states``: the learning state of the policy's bandit routes by state key (a route without
    one decides on its priors, with a note). A bandit or weighted route's decision carries its choice
    distribution and the propensity of its primary.

    Raises:
        RequestDeniedError: unknown tenant, classification above the tenant's clearance, a pin the
            policy does not allow, an unknown model name, no route, a prompt over the route's limit,
            a missing required output format, or an exhausted budget with no downgrade route.
        NoEligibleModelError: the route has models but none may serve this request.
    """
    tenant = policy.tenant_by_id.get(context.tenant_id)
    if tenant is None:
        raise RequestDeniedError("unknown_tenant", f"tenant '{context.tenant_id}' is not in the policy")
    features = features if features is not None else extract_features(request)
    classified = classify(policy.defaults, tenant, context, features)
    classification, notes = classified.level, list(classified.notes)
    clearance = Clearance.of(policy.defaults, tenant, classification, context.region)
    topic_notes: list[str] = []

    def topic_of() -> TopicGuess | None:
        topic, why_none = guess_topic(policy, request, topics)
        topic_notes.extend(why_none)
        return topic

    view = RequestView(request, features, context, classification, topic_of)
    route, matched_by, pinned_model = _choose_route(policy, tenant, request.model, view)
    trace = _trace(policy, view) if explain else ()
    if view.topic_scored and view.topic is not None:
        features = features.model_copy(update={"topic": view.topic})
    notes.extend(topic_notes)
    _check_route_limits(route, features)

    demand = Demand(
        clearance=clearance,
        capabilities=_required_capabilities(route, features),
        prompt_tokens=features.prompt_tokens,
        requested_output_tokens=request.answer_token_limit,
        expected_output_tokens=policy.defaults.expected_output_tokens,
        limits=route.limits,
        cooling_down=context.cooling_down,
        default_output_tokens=route.limits.default_max_tokens or policy.execution.default_max_tokens,
    )
    catalog = policy.model_by_id
    routers = routers if routers is not None else {}
    tier_difficulty: TierDifficulty | None = None
    if pinned_model is not None:
        ordered, set_aside, tier, variant = [(pinned_model, "pinned")], [], None, None
    else:
        if route.strategy is Strategy.THRESHOLD:
            tier_difficulty, fallback_notes = difficulty_for_tier(
                route.learned_difficulty, routers, request, features
            )
            notes.extend(fallback_notes)
        ordering = order_candidates(
            route,
            tier_difficulty.value if tier_difficulty is not None else features.difficulty.score,
            context.request_id,
            lambda model_id: _expected_cost(policy, catalog[model_id], features.prompt_tokens),
        )
        ordered, set_aside, tier, variant = (
            ordering.ordered,
            ordering.set_aside,
            ordering.tier,
            ordering.variant,
        )

    candidates, exclusions = _assess_all(catalog, ordered, demand)
    if set_aside and tier_difficulty is not None:
        detail = f"difficulty {tier_difficulty.value:.3f} ({tier_difficulty.source}) selected tier '{tier}'"
        exclusions.extend(
            Exclusion(model=model_id, reason=ExclusionReason.OTHER_TIER, detail=detail)
            for model_id in set_aside
        )
    if not candidates:
        raise NoEligibleModelError(route.name, exclusions)
    learned: LearnedChoice | None = None
    if route.learned is not None and pinned_model is None:
        by_prediction = order_by_prediction(route.learned, routers, request, features, candidates)
        candidates, learned = by_prediction.candidates, by_prediction.choice
        notes.extend(by_prediction.notes)
    drawn = stochastic_order(route, policy.name, candidates, bandit_states, pinned=pinned_model is not None,
                             routers=routers, request=request, features=features,
                             context=context)  # fmt: skip
    candidates = drawn.candidates
    notes.extend(drawn.notes)
    cascade = skip_unconfident(
        route.cascade if pinned_model is None else None, routers, request, features, candidates
    )
    return Decision(
        request_id=context.request_id,
        tenant=tenant.id,
        policy=policy.name,
        policy_version=policy_version,
        route=route.name,
        matched_by=matched_by,
        strategy=route.strategy,
        tier=tier,
        variant=variant,
        tier_difficulty=tier_difficulty,
        learned=learned,
        choice=drawn.choice,
        propensity=drawn.propensity,
        bandit=drawn.bandit,
        classification=classification,
        compliance=classified.basis(clearance),
        required_capabilities=tuple(sorted(demand.capabilities)),
        candidates=tuple(cascade.candidates),
        exclusions=(*exclusions, *cascade.skipped),
        latency_budget_ms=route.limits.latency_budget_ms,
        attempt_timeout_ms=route.limits.attempt_timeout_ms or policy.execution.attempt_timeout_ms,
        first_byte_timeout_ms=route.limits.first_byte_timeout_ms or policy.execution.first_byte_timeout_ms,
        checks=route.checks,
        streaming=route.streaming,
        features=features,
        notes=(*notes, *cascade.notes),
        when_trace=trace,
    )


def _trace(policy: Policy, view: RequestView) -> tuple[RouteTrace, ...]:
    """The routes in policy order up to the first whose ``when`` holds, each condition explained."""
    traces: list[RouteTrace] = []
    for route in policy.routes:
        clauses = tuple(
            WhenClause(clause=o.clause, matched=o.matched, detail=o.detail)
            for o in explain_when(route.when, view)
        )
        matched = all(clause.matched for clause in clauses)
        traces.append(RouteTrace(route=route.name, matched=matched, clauses=clauses))
        if matched:
            break
    return tuple(traces)


def _choose_route(
    policy: Policy, tenant: Tenant, requested: str, view: RequestView
) -> tuple[Route, RouteMatch, str | None]:
    if view.context.over_budget:
        if tenant.over_budget_route is None:
            raise RequestDeniedError("budget_exhausted", f"tenant '{tenant.id}' has exhausted its budget")
        return policy.route_by_name[tenant.over_budget_route], RouteMatch.OVER_BUDGET, None
    if requested != AUTO:
        if requested in policy.route_by_name:
            if refused := route_refusal(policy, tenant, requested):
                raise RequestDeniedError("pin_not_allowed", refused, "model")
            return policy.route_by_name[requested], RouteMatch.PINNED_ROUTE, None
        if requested in policy.model_by_id:
            if refused := model_refusal(policy, tenant, requested):
                raise RequestDeniedError("pin_not_allowed", refused, "model")
            route, _ = _match(policy, tenant, view)
            return route, RouteMatch.PINNED_MODEL, requested
        raise RequestDeniedError(
            "model_not_found", f"'{requested}' is neither 'auto' nor a route or model of this policy", "model"
        )
    route, matched_by = _match(policy, tenant, view)
    return route, matched_by, None


def _match(policy: Policy, tenant: Tenant, view: RequestView) -> tuple[Route, RouteMatch]:
    for route in policy.routes:
        if when_matches(route.when, view):
            return route, RouteMatch.WHEN
    if tenant.default_route is not None:
        return policy.route_by_name[tenant.default_route], RouteMatch.TENANT_DEFAULT
    if policy.defaults.route is not None:
        return policy.route_by_name[policy.defaults.route], RouteMatch.POLICY_DEFAULT
    raise RequestDeniedError(
        "no_route", "no route of the policy matches this request and there is no default"
    )


def _check_route_limits(route: Route, features: RequestFeatures) -> None:
    limit = route.limits.max_prompt_tokens
    if limit is not None and features.prompt_tokens > limit:
        raise RequestDeniedError(
            "prompt_too_long",
            f"prompt ≈{features.prompt_tokens} tokens exceeds route '{route.name}' limit of {limit}",
            "messages",
        )
    required = route.limits.output_format
    asked = AnswerFormat(features.response_format)
    if required is not None and _FORMAT_STRICTNESS[asked] < _FORMAT_STRICTNESS[required]:
        raise RequestDeniedError(
            "output_format_required",
            f"route '{route.name}' requires response_format '{required}', the request asks for '{asked}'",
            "response_format",
        )


def _required_capabilities(route: Route, features: RequestFeatures) -> frozenset[Capability]:
    needed = set(route.require_capabilities)
    if features.has_tools:
        needed.add(Capability.TOOLS)
    if features.has_images:
        needed.add(Capability.VISION)
    if features.documents:
        needed.add(Capability.DOCUMENTS)
    for answer_format in (AnswerFormat(features.response_format), route.limits.output_format):
        if answer_format in _FORMAT_CAPABILITY:
            needed.add(_FORMAT_CAPABILITY[answer_format])
    language = features.language
    if language.code not in {"en", "und"} and language.confidence >= _LANGUAGE_CONFIDENCE:
        needed.add(Capability.MULTILINGUAL)
    return frozenset(needed)


def _expected_cost(policy: Policy, model: ModelSpec, prompt_tokens: int) -> float:
    output = min(policy.defaults.expected_output_tokens, model.max_output_tokens)
    return cost_usd(model, prompt_tokens, output)


def _assess_all(
    catalog: Mapping[str, ModelSpec], ordered: list[tuple[str, str]], demand: Demand
) -> tuple[list[Candidate], list[Exclusion]]:
    """The ordered models that may serve the request as candidates, and the others' exclusions."""
    candidates: list[Candidate] = []
    exclusions: list[Exclusion] = []
    for model_id, source in ordered:
        model = catalog[model_id]
        outcome = assess(model, demand)
        if isinstance(outcome, Exclusion):
            exclusions.append(outcome)
            continue
        candidates.append(_candidate(model, source, outcome))
    return candidates, exclusions


def _candidate(model: ModelSpec, source: str, sizing: Sizing) -> Candidate:
    return Candidate(
        model=model.id,
        provider=model.provider,
        provider_model_id=model.model_id,
        residency=model.residency,
        deployment_mode=model.deployment_mode,
        source=source,
        max_output_tokens=sizing.max_output_tokens,
        estimated_cost_usd=sizing.estimated_cost_usd,
        max_cost_usd=sizing.max_cost_usd,
    )
