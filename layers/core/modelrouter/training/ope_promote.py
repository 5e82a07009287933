"""Champion-challenger evidence: should a ``weighted`` route's challenger replace its champion?

From the route's logged lines (with the propensities its split recorded), SNIPS estimates the mean quality
and cost of two deterministic policies: "every request to the champion's first eligible model" and "every
request to the challenger's" (each found by replaying the policy with the route reduced to that variant, so
eligibility is the engine's own). The gain (challenger - champion) has a paired interval: both arms are
estimated on the same requests. A request either arm cannot route is left out and counted.

Promotion needs, as the route's ``promote_when`` says: at least ``min_requests`` requests, the gain's lower
bound at ``confidence`` at least ``min_quality_gain``, and (if set) a mean cost increase of at most
``max_cost_increase_usd``. :func:`failed_conditions` says which do not hold, with the numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelrouter.policy.document import Policy
from modelrouter.policy.promotion import PromoteWhen
from modelrouter.policy.routes import Route, Strategy
from modelrouter.suggest import did_you_mean
from modelrouter.training.ope import Estimate, snips, snips_gain
from modelrouter.training.ope_replay import check_logged, replay, variant_policy
from modelrouter.training.outcomes import Outcome

__all__ = [
    "PromotionError",
    "PromotionEvidence",
    "failed_conditions",
    "promotable_route",
    "promotion_evidence",
]


class PromotionError(ValueError):
    """The route cannot be promoted at all (unknown, not weighted, no ``promote_when``, no logged lines)."""


@dataclass(frozen=True, slots=True)
class PromotionEvidence:
    """What the route's logged traffic says about its champion and challenger."""

    route: str
    """The route."""
    rule: PromoteWhen
    """Its ``promote_when``."""
    champion_models: tuple[str, ...]
    """The champion variant's models."""
    challenger_models: tuple[str, ...]
    """The challenger variant's models."""
    lines: int
    """Logged lines of the route."""
    excluded: Mapping[str, int]
    """Lines left out because an arm refuses them, by refusal code."""
    champion_quality: Estimate
    """Mean quality with every request to the champion's first eligible model (SNIPS)."""
    challenger_quality: Estimate
    """The same for the challenger."""
    gain: Estimate
    """Challenger minus champion mean quality, with the paired interval."""
    champion_cost: Estimate
    """Mean cost per request of the champion arm (SNIPS, USD)."""
    challenger_cost: Estimate
    """The same for the challenger."""
    cost_increase: Estimate
    """Challenger minus champion mean cost (USD), with the paired interval."""

    @property
    def requests(self) -> int:
        """Requests the estimates used."""
        return self.gain.n

    def as_json(self) -> dict[str, Any]:
        """The evidence as a JSON object."""
        return {
            "route": self.route,
            "promote_when": self.rule.model_dump(mode="json"),
            "champion_models": list(self.champion_models),
            "challenger_models": list(self.challenger_models),
            "lines": self.lines,
            "requests": self.requests,
            "excluded": dict(self.excluded),
            "champion_quality": self.champion_quality.as_json(),
            "challenger_quality": self.challenger_quality.as_json(),
            "gain": self.gain.as_json(),
            "champion_cost": self.champion_cost.as_json(),
            "challenger_cost": self.challenger_cost.as_json(),
            "cost_increase": self.cost_increase.as_json(),
            "failed": failed_conditions(self),
        }


def promotable_route(policy: Policy, name: str) -> tuple[Route, PromoteWhen]:
    """The route ``name`` and its ``promote_when``.

    Raises:
        PromotionError: no such route, not a ``weighted`` route, or no ``promote_when``.
    """
    route = policy.route_by_name.get(name)
    if route is None:
        names = list(policy.route_by_name)
        raise PromotionError(f"unknown route '{name}'{did_you_mean(name, names)}; routes: {', '.join(names)}")
    if route.strategy is not Strategy.WEIGHTED:
        raise PromotionError(
            f"route '{name}' is a {route.strategy} route: "
            "only weighted routes have a champion and a challenger"
        )
    if route.promote_when is None:
        raise PromotionError(f"route '{name}' has no promote_when: add one to say what evidence promotes")
    return route, route.promote_when


def promotion_evidence(policy: Policy, name: str, outcomes: Sequence[Outcome]) -> PromotionEvidence:
    """Estimate the champion's and challenger's value from the route's logged lines.

    Raises:
        PromotionError: see :func:`promotable_route`; or the log has no line of the route.
        OutcomesError: a line of the route without ``propensity`` or ``tenant`` (names the line).
        EstimatorError: too few requests, or an arm whose choices were never logged.
    """
    route, rule = promotable_route(policy, name)
    lines = [outcome for outcome in outcomes if outcome.route == name]
    if not lines:
        raise PromotionError(f"the logged outcomes have no line of route '{name}'")
    check_logged(lines)
    champion = replay(variant_policy(policy, route, rule.champion), lines)
    challenger = replay(variant_policy(policy, route, rule.challenger), lines)
    excluded: Counter[str] = Counter()
    used: list[tuple[Outcome, float, float]] = []
    for a, b in zip(champion.items, challenger.items, strict=True):
        if a.refusal is not None or b.refusal is not None:
            excluded[a.refusal or b.refusal or ""] += 1
            continue
        used.append((a.outcome, a.target, b.target))
    quality = [outcome.quality for outcome, _, _ in used]
    cost = [outcome.cost_usd for outcome, _, _ in used]
    propensity = [outcome.propensity or 1.0 for outcome, _, _ in used]
    base, cand = [t for _, t, _ in used], [t for _, _, t in used]
    level = rule.confidence
    variants = {variant.name: tuple(variant.models) for variant in route.variants or ()}
    return PromotionEvidence(
        route=name,
        rule=rule,
        champion_models=variants[rule.champion],
        challenger_models=variants[rule.challenger],
        lines=len(lines),
        excluded=dict(excluded),
        champion_quality=snips(quality, propensity, base, confidence=level),
        challenger_quality=snips(quality, propensity, cand, confidence=level),
        gain=snips_gain(quality, propensity, base, cand, confidence=level),
        champion_cost=snips(cost, propensity, base, confidence=level),
        challenger_cost=snips(cost, propensity, cand, confidence=level),
        cost_increase=snips_gain(cost, propensity, base, cand, confidence=level),
    )


def failed_conditions(evidence: PromotionEvidence) -> list[str]:
    """Each condition of the route's ``promote_when`` that the evidence does not meet, with its numbers
    (empty: promote)."""
    rule, failed = evidence.rule, []
    if evidence.requests < rule.min_requests:
        failed.append(f"too few requests: {evidence.requests} < min_requests {rule.min_requests}")
    gain = evidence.gain
    if gain.low < rule.min_quality_gain:
        failed.append(
            f"quality gain too small: lower bound {gain.low:+.4f} (gain {gain.value:+.4f}, "
            f"{rule.confidence:.0%} interval [{gain.low:+.4f}, {gain.high:+.4f}]) < min_quality_gain "
            f"{rule.min_quality_gain:+.4f}"
        )
    limit = rule.max_cost_increase_usd
    if limit is not None and evidence.cost_increase.value > limit:
        failed.append(
            f"cost increase too large: {evidence.cost_increase.value:.6f} USD per request > "
            f"max_cost_increase_usd {limit:.6f}"
        )
    return failed
