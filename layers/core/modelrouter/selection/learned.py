"""Learned routing at decision time: the loaded router scores the request once, and its predicted
qualities order a learned route's eligible candidates, give a threshold route its difficulty, or skip
the cascade tiers predicted below ``skip_below``.

Pure: the router was loaded with the policy; nothing here reads a file or the network. A router that
is missing or fails to score (anything raised, a missing or non-finite score) never fails the request:
the route falls back to its listed order (the hand-made difficulty, every cascade tier) with a note
saying why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from modelrouter.features.records import RequestFeatures
from modelrouter.learned.artifact import LearnedRouter
from modelrouter.learned.features import request_text
from modelrouter.policy.learned import (
    ArtifactRef,
    CascadeConfidence,
    LearnedDifficulty,
    LearnedRouting,
    MappedRouterPin,
)
from modelrouter.request import ChatRequest
from modelrouter.selection.decision import (
    Candidate,
    Exclusion,
    ExclusionReason,
    LearnedChoice,
    TierDifficulty,
)

__all__ = [
    "CascadeSkips",
    "LearnedOrder",
    "Prediction",
    "difficulty_for_tier",
    "order_by_prediction",
    "prediction_for",
    "skip_unconfident",
]

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


@dataclass(frozen=True, slots=True)
class CascadeSkips:
    """A cascade route's candidates once the tiers predicted below ``skip_below`` are skipped."""

    candidates: list[Candidate]
    """The tiers to try, cheapest first, each with its predicted quality (all of them, unscored, when
    the router could not score)."""
    skipped: list[Exclusion]
    """The tiers skipped (``predicted_below_skip``), each with its prediction."""
    notes: list[str]
    """Why nothing was skipped, when the router could not score."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """A router's predicted quality for the request, or why there is none."""

    router: LearnedRouter | None
    """The loaded router (None: it is not loaded)."""
    quality: dict[str, float] | None
    """Predicted quality per key (None: no router, or it could not score)."""
    error: Exception | None = None
    """What scoring raised."""

    def failure(self, router_key: str, fallback: str) -> str:
        """The note saying why there is no prediction and what was done instead."""
        return _failure(router_key, self.router, self.error, fallback)


def prediction_for(
    pin: MappedRouterPin | LearnedDifficulty,
    routers: Mapping[ArtifactRef, LearnedRouter],
    request: ChatRequest,
    features: RequestFeatures,
    candidates: Iterable[Candidate] = (),
) -> Prediction:
    """The predicted quality of each of ``candidates`` (a learned difficulty: of its ``model``) by
    ``pin``'s router, keyed by catalog id (the difficulty: by the artifact's name); never raises."""
    router = routers.get(pin.ref)
    if router is None:
        return Prediction(None, None)
    try:
        if isinstance(pin, LearnedDifficulty):
            names = {pin.model: pin.model}
        else:
            names = {c.model: pin.catalog_to_artifact[c.model] for c in candidates}
        return Prediction(router, _predict(router, request, features, names))
    except Exception as raised:  # a broken router must never fail the request
        return Prediction(router, None, raised)


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
    prediction = prediction_for(spec, routers, request, features, eligible)
    choice = LearnedChoice(
        router=spec.router,
        digest=prediction.router.digest if prediction.router is not None else None,
        objective="quality_target" if objective == "quality_target" else "cost_weight",
        value=value,
        applied=False,
    )
    predicted = prediction.quality
    if predicted is None:
        return LearnedOrder(
            eligible, choice, [prediction.failure(spec.router, "candidates kept in listed order")]
        )
    ranked = _rank(spec, eligible, predicted)
    ordered = [c.model_copy(update={"source": s, "predicted_quality": predicted[c.model]}) for c, s in ranked]
    return LearnedOrder(ordered, choice.model_copy(update={"applied": True}), [])


def skip_unconfident(
    spec: CascadeConfidence | None,
    routers: Mapping[ArtifactRef, LearnedRouter],
    request: ChatRequest,
    features: RequestFeatures,
    eligible: list[Candidate],
) -> CascadeSkips:
    """Skip each of a cascade route's ``eligible`` tiers (cheapest first) predicted below
    ``spec.skip_below``, except the last (the most expensive), which is always kept.

    The tiers kept carry their predicted quality; each skip is a ``predicted_below_skip`` exclusion
    with the prediction. A router that is missing or cannot score skips nothing, with a note. Without
    ``spec`` (a route with no ``cascade`` block, a pinned model) ``eligible`` is kept as it is.
    """
    if spec is None:
        return CascadeSkips(eligible, [], [])
    prediction = prediction_for(spec, routers, request, features, eligible)
    predicted = prediction.quality
    if predicted is None:
        return CascadeSkips(eligible, [], [prediction.failure(spec.router, "no cascade tier skipped")])
    kept: list[Candidate] = []
    skipped: list[Exclusion] = []
    for position, candidate in enumerate(eligible):
        quality = predicted[candidate.model]
        if quality < spec.skip_below and position < len(eligible) - 1:
            detail = f"predicted quality {quality:.3f} < skip_below {spec.skip_below:.3f} ({spec.router})"
            skipped.append(
                Exclusion(model=candidate.model, reason=ExclusionReason.PREDICTED_BELOW_SKIP, detail=detail)
            )
        else:
            kept.append(candidate.model_copy(update={"predicted_quality": quality}))
    return CascadeSkips(kept, skipped, [])


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
    prediction = prediction_for(spec, routers, request, features)
    if prediction.quality is None or prediction.router is None:
        return heuristic, [prediction.failure(spec.router, "the hand-made difficulty picked the tier")]
    learned = TierDifficulty(
        value=1.0 - prediction.quality[spec.model],
        source="learned",
        router=spec.router,
        digest=prediction.router.digest,
        model=spec.model,
    )
    return learned, []
