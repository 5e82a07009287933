"""A ``bandit`` route at decision time: the request's segment, each eligible model's posterior, and the
primary drawn by Thompson sampling (:mod:`modelrouter.bandit.thompson`).

Pure: the learning state arrives as a :class:`~modelrouter.bandit.snapshot.BanditSnapshot` the service
read before deciding (none: the priors alone, with a note). The same snapshot and request id always give
the same candidates. The drawn primary goes first (source ``bandit:draw``); the other eligible models
follow by posterior reward (mean quality - ``cost_weight`` · cost), best first (``bandit:posterior``).

The cost a model's reward is charged is its mean observed cost in the segment once the posterior holds
:data:`MIN_COST_EVIDENCE` outcomes, else the request's estimated cost (catalog prices, the prompt, the
policy's expected answer length).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from modelrouter.bandit.posteriors import BetaPosterior, Evidence, posterior
from modelrouter.bandit.segments import segment_of
from modelrouter.bandit.snapshot import BanditSnapshot, state_key_of
from modelrouter.bandit.thompson import DRAWS, Arm, thompson_choice
from modelrouter.features.records import RequestFeatures
from modelrouter.learned.artifact import LearnedRouter
from modelrouter.policy.bandit import Bandit
from modelrouter.policy.learned import ArtifactRef
from modelrouter.policy.routes import Route, Strategy
from modelrouter.request import ChatRequest
from modelrouter.selection.context import RequestContext
from modelrouter.selection.decision import BanditChoice, Candidate, ChoiceDistribution
from modelrouter.selection.learned import prediction_for
from modelrouter.selection.strategies import bucket, weighted_choice

__all__ = ["DRAWN", "MIN_COST_EVIDENCE", "RANKED", "StochasticOrder", "order_by_bandit", "stochastic_order"]

DRAWN = "bandit:draw"
"""Source of the primary drawn by Thompson sampling."""
RANKED = "bandit:posterior"
"""Source of the other candidates, by posterior reward."""
MIN_COST_EVIDENCE = 3.0
"""Decayed outcomes after which a model's mean observed cost replaces the request's estimate."""
_PREDICTION_RANGE = (0.005, 0.995)
"""A learned prediction is held inside this range, so a prior is always a proper Beta."""


@dataclass(frozen=True, slots=True)
class StochasticOrder:
    """A stochastic route's candidates, the distribution the primary was drawn from, and (a bandit) what
    it knew."""

    candidates: list[Candidate]
    """The eligible candidates, the primary first."""
    choice: ChoiceDistribution | None
    """The choice distribution: a bandit's Monte Carlo one (bounded and capped), a weighted split's exact
    one; None for deterministic strategies and pinned models."""
    propensity: float
    """Probability of the primary in :attr:`choice`."""
    bandit: BanditChoice | None
    """Bandit routes: segment, evidence, posterior means and costs."""
    notes: list[str]
    """Priors only, a stale copy, relaxed bounds, an unmet cost cap, a learned prior that could not
    score."""


@dataclass(frozen=True, slots=True)
class _Priors:
    """Per model the prior ``(alpha, beta)``, where they came from, and notes."""

    by_model: dict[str, tuple[float, float]]
    predicted: dict[str, float] | None
    kind: Literal["uniform", "learned"]
    notes: list[str]


def _priors(
    settings: Bandit,
    eligible: list[Candidate],
    routers: Mapping[ArtifactRef, LearnedRouter],
    request: ChatRequest,
    features: RequestFeatures,
) -> _Priors:
    uniform = {c.model: (settings.prior.alpha, settings.prior.beta) for c in eligible}
    spec = settings.learned_prior
    if spec is None:
        return _Priors(uniform, None, "uniform", [])
    prediction = prediction_for(spec, routers, request, features, eligible)
    if prediction.quality is None:
        return _Priors(uniform, None, "uniform", [prediction.failure(spec.router, "uniform priors used")])
    low, high = _PREDICTION_RANGE
    learned = {}
    for model, quality in prediction.quality.items():
        held = min(max(quality, low), high)
        learned[model] = (spec.strength * held, spec.strength * (1.0 - held))
    return _Priors(learned, prediction.quality, "learned", [])


def _cost(candidate: Candidate, evidence: Evidence | None) -> float:
    if evidence is not None and evidence.outcomes >= MIN_COST_EVIDENCE:
        return evidence.mean_cost_usd or 0.0
    return candidate.estimated_cost_usd


def _snapshot_notes(route: Route, snapshot: BanditSnapshot | None) -> list[str]:
    if snapshot is None:
        return [f"bandit route '{route.name}' has no learning state here: priors only"]
    return list(snapshot.notes)


def order_by_bandit(
    route: Route,
    policy_name: str,
    eligible: list[Candidate],
    snapshot: BanditSnapshot | None,
    *,
    routers: Mapping[ArtifactRef, LearnedRouter],
    request: ChatRequest,
    features: RequestFeatures,
    context: RequestContext,
) -> StochasticOrder:
    """Draw the primary of a bandit route among ``eligible`` (in the route's order) and order the rest."""
    settings = route.bandit_settings
    segment = segment_of(settings.segments, features, context, request.metadata)
    priors = _priors(settings, eligible, routers, request, features)
    evidence = snapshot.evidence if snapshot is not None else {}
    found = {c.model: evidence.get((segment, c.model)) for c in eligible}
    beliefs: dict[str, BetaPosterior] = {
        c.model: posterior(found[c.model], *priors.by_model[c.model]) for c in eligible
    }
    costs = {c.model: _cost(c, found[c.model]) for c in eligible}
    arms = [
        Arm(
            model=c.model,
            alpha=beliefs[c.model].alpha,
            beta=beliefs[c.model].beta,
            cost_usd=costs[c.model],
            min_share=settings.min_share_of(c.model),
            max_share=settings.max_share_of(c.model),
        )
        for c in eligible
    ]
    drawn = thompson_choice(
        arms,
        cost_weight=settings.cost_weight,
        route=route.name,
        segment=segment,
        point=bucket(route.name, context.request_id),
        max_cost_usd=settings.max_cost_usd,
    )
    position = {c.model: index for index, c in enumerate(eligible)}

    def reward(c: Candidate) -> tuple[float, int]:
        return -(beliefs[c.model].mean - settings.cost_weight * costs[c.model]), position[c.model]

    primary = next(c for c in eligible if c.model == drawn.primary)
    rest = sorted((c for c in eligible if c is not primary), key=reward)
    predicted = priors.predicted or {}
    candidates = [
        c.model_copy(update={"source": source, "predicted_quality": predicted.get(c.model)})
        for c, source in [(primary, DRAWN), *((c, RANKED) for c in rest)]
    ]
    memory = settings.memory
    choice = BanditChoice(
        segment=segment,
        state_key=state_key_of(policy_name, route.name),
        window_seconds=memory.window_seconds,
        horizon_seconds=memory.window_seconds * memory.horizon_windows,
        cost_weight=settings.cost_weight,
        evidence={model: item.outcomes if item is not None else 0.0 for model, item in found.items()},
        posterior_mean={model: belief.mean for model, belief in beliefs.items()},
        estimated_cost_usd=costs,
        state_age_s=snapshot.age_s if snapshot is not None else None,
        prior=priors.kind,
    )
    distribution = ChoiceDistribution(
        probabilities=drawn.probabilities,
        method="monte_carlo" if len(eligible) > 1 else "exact",
        draws=DRAWS if len(eligible) > 1 else None,
    )
    notes = [*_snapshot_notes(route, snapshot), *priors.notes, *drawn.notes]
    return StochasticOrder(candidates, distribution, drawn.propensity, choice, notes)


def stochastic_order(
    route: Route,
    policy_name: str,
    eligible: list[Candidate],
    states: Mapping[str, BanditSnapshot] | None,
    *,
    pinned: bool,
    routers: Mapping[ArtifactRef, LearnedRouter],
    request: ChatRequest,
    features: RequestFeatures,
    context: RequestContext,
) -> StochasticOrder:
    """The choice of a stochastic route among its ``eligible`` candidates (already ordered by the
    strategy): a bandit route's draw (:func:`order_by_bandit`, with its snapshot from ``states``), or a
    weighted split's exact distribution of the primary; ``eligible`` as it is, without a distribution
    and with propensity 1, for deterministic strategies and pinned models."""
    if pinned or route.strategy not in {Strategy.BANDIT, Strategy.WEIGHTED}:
        return StochasticOrder(eligible, None, 1.0, None, [])
    if route.strategy is Strategy.BANDIT:
        snapshot = (states or {}).get(state_key_of(policy_name, route.name))
        return order_by_bandit(route, policy_name, eligible, snapshot, routers=routers, request=request,
                               features=features, context=context)  # fmt: skip
    exact = ChoiceDistribution(probabilities=weighted_choice(route, [c.model for c in eligible]),
                               method="exact")  # fmt: skip
    return StochasticOrder(eligible, exact, exact.probabilities[eligible[0].model], None, [])
