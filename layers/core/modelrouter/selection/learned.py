"""Learned routing at decision time: the loaded router scores the request once, and its predicted
qualities order a learned route's eligible candidates or give a threshold route its difficulty.

Pure: the router was loaded with the policy; nothing here reads a file or the network. A router that
is missing or fails to score (anything raised, a missing or non-finite score) never fails the request:
the route falls back to its listed order (or to the hand-made difficulty) with a note saying why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from modelrouter.features.model import RequestFeatures
from modelrouter.learned.artifact import LearnedRouter
from modelrouter.learned.features import request_text
from modelrouter.policy.learned import ArtifactRef, LearnedDifficulty, LearnedRouting
from modelrouter.request import ChatRequest
from modelrouter.selection.decision import Candidate, LearnedChoice, TierDifficulty

__all__ = ["LearnedOrder", "difficulty_for_tier", "order_by_prediction"]

TARGET = "learned:target"
"""Source of the cheapest candidate predicted to reach the quality target."""
BEST = "learned:best"
"""Source of the best-predicted candidate when none reaches the target."""
UTILITY = "learned:utility"
"""Source of candidates ordered by predicted utility."""


@dataclass(frozen=True, slots=True)
class LearnedOrder:
    """A learned route's candidates in order, how they were ordered, and notes on any fallback."""

    candidates: list[Candidate]
    """The eligible candidates, best first (the listed order if the router could not score)."""
    choice: LearnedChoice
    """Router, objective and whether it was applied."""
    notes: list[str]
    """Why the listed order was used, when it was."""


def _predict(
    router: LearnedRouter, request: ChatRequest, features: RequestFeatures, names: Mapping[str, str]
) -> dict[str, float]:
    """Predicted quality per key of ``names`` (its values are the artifact's model names).

    Raises:
        Exception: whatever scoring raises; ``ValueError`` for a missing, non-finite or out-of-range score.
    """
    scores = router.score(request_text(request), features)
    predicted: dict[str, float] = {}
    for key, name in names.items():
        value = float(scores[name])
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"score of '{name}' is {value}")
        predicted[key] = value
    return predicted


def _failure(router_key: str, router: LearnedRouter | None, error: Exception | None, fallback: str) -> str:
    if router is None:
        return f"learned router {router_key} is not loaded: {fallback}"
    return f"learned router {router_key} could not score the request ({type(error).__name__}): {fallback}"


def order_by_prediction(
    spec: LearnedRouting,
    routers: Mapping[ArtifactRef, LearnedRouter],
    request: ChatRequest,
    features: RequestFeatures,
    eligible: list[Candidate],
) -> LearnedOrder:
    """Order ``eligible`` (in the route's listed order) by the route's objective.

    ``quality_target``: the cheapest candidate (by estimated cost) predicted to reach the target
    first, or the best predicted when none does; ``cost_weight`` λ: by predicted quality - λ · estimated
    cost. The others follow by predicted utility (quality, then cheaper first; ties keep list order).
    """
    objective, value = spec.objective
    router = routers.get(spec.ref)
    choice = LearnedChoice(
        router=spec.router,
        digest=router.digest if router is not None else None,
        objective="quality_target" if objective == "quality_target" else "cost_weight",
        value=value,
        applied=False,
    )
    error: Exception | None = None
    if router is not None:
        try:
            names = {c.model: spec.catalog_to_artifact[c.model] for c in eligible}
            predicted = _predict(router, request, features, names)
        except Exception as raised:  # a broken router must never fail the request
            error = raised
        else:
            ranked = _rank(spec, eligible, predicted)
            ordered = [
                c.model_copy(update={"source": s, "predicted_quality": predicted[c.model]}) for c, s in ranked
            ]
            return LearnedOrder(ordered, choice.model_copy(update={"applied": True}), [])
    note = _failure(spec.router, router, error, "candidates kept in listed order")
    return LearnedOrder(eligible, choice, [note])


def _rank(
    spec: LearnedRouting, eligible: list[Candidate], predicted: Mapping[str, float]
) -> list[tuple[Candidate, str]]:
    position = {c.model: index for index, c in enumerate(eligible)}

    def by_utility(c: Candidate) -> tuple[float, float, int]:
        return -predicted[c.model], c.estimated_cost_usd, position[c.model]

    if spec.quality_target is None:
        weight = spec.cost_weight or 0.0

        def by_weighted(c: Candidate) -> tuple[float, float, int]:
            return (
                -(predicted[c.model] - weight * c.estimated_cost_usd),
                c.estimated_cost_usd,
                position[c.model],
            )

        return [(c, UTILITY) for c in sorted(eligible, key=by_weighted)]
    reaching = [c for c in eligible if predicted[c.model] >= spec.quality_target]
    if reaching:
        first, source = min(reaching, key=lambda c: (c.estimated_cost_usd, position[c.model])), TARGET
    else:
        first, source = min(eligible, key=by_utility), BEST
    rest = sorted((c for c in eligible if c is not first), key=by_utility)
    return [(first, source), *((c, UTILITY) for c in rest)]


def difficulty_for_tier(
    spec: LearnedDifficulty | None,
    routers: Mapping[ArtifactRef, LearnedRouter],
    request: ChatRequest,
    features: RequestFeatures,
) -> tuple[TierDifficulty, list[str]]:
    """The difficulty a threshold route picks its tier by: 1 - the predicted quality of ``spec.model``
    when the route has a learned difficulty that scores, else the hand-made score (with a note)."""
    heuristic = TierDifficulty(value=features.difficulty.score, source="features")
    if spec is None:
        return heuristic, []
    router = routers.get(spec.ref)
    error: Exception | None = None
    if router is not None:
        try:
            quality = _predict(router, request, features, {spec.model: spec.model})[spec.model]
        except Exception as raised:  # a broken router must never fail the request
            error = raised
        else:
            learned = TierDifficulty(
                value=1.0 - quality,
                source="learned",
                router=spec.router,
                digest=router.digest,
                model=spec.model,
            )
            return learned, []
    return heuristic, [_failure(spec.router, router, error, "the hand-made difficulty picked the tier")]
