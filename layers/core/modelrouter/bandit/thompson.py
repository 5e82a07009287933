"""Thompson sampling's choice distribution, bounded, and the primary drawn from it by request id.

Pure. For each eligible model (an :class:`Arm`: its Beta posterior and the cost its reward is charged),
:data:`DRAWS` posterior draws of its quality come from a deterministic RNG seeded by the posterior, the
route, the segment and the model, so the same posteriors always give the same draws (they are cached per
container, and so is the estimate for the same arms and costs: a snapshot's posteriors serve until its
next refresh). The share of draws in which a model has the highest ``theta - cost_weight · cost``
estimates the probability that Thompson sampling picks it. That distribution is then

1. projected onto the share bounds (``min_share`` <= p <= ``max_share``; water-filling: the Euclidean
   projection ``clip(p - tau)`` with the one ``tau`` that makes the shares sum to 1). When the eligible
   models cannot meet the bounds (the least shares add up to more than 1, or the largest to less), the
   bounds are scaled until they can, with a note;
2. held under the cost cap: probability moves from the most expensive models to the cheapest, within
   the bounds, until the expected cost fits (or, with a note, as far as the bounds allow).

The primary is drawn from the final distribution with the request id's stable point in [0, 1)
(:func:`modelrouter.selection.strategies.bucket`), so the recorded propensity is exactly the probability
it was drawn with.
"""

from __future__ import annotations

import hashlib
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DRAWS", "Arm", "ThompsonChoice", "cap_cost", "draw", "project_shares", "thompson_choice"]

DRAWS = 512
"""Posterior draws per model that estimate the choice distribution (standard error <= 0.022)."""
_DRAW_CACHE_SIZE = 2048
"""Draw vectors kept per container (4 KiB each)."""
_CHOICE_CACHE_SIZE = 1024
"""Estimated distributions kept per container (the same arms and costs between two refreshes)."""
_BISECTION_STEPS = 64
_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class Arm:
    """One eligible model: its posterior, the cost its reward is charged, and its share bounds."""

    model: str
    """Model id."""
    alpha: float
    """Beta posterior alpha (> 0)."""
    beta: float
    """Beta posterior beta (> 0)."""
    cost_usd: float
    """Cost charged against its quality in the reward, and counted by the cost cap."""
    min_share: float = 0.0
    """Least probability of being drawn."""
    max_share: float = 1.0
    """Largest probability of being drawn."""


@dataclass(frozen=True, slots=True)
class ThompsonChoice:
    """The choice distribution and the primary drawn from it."""

    sampled: dict[str, float]
    """Thompson sampling's distribution as estimated from the draws (before bounds and cap)."""
    probabilities: dict[str, float]
    """The distribution the primary was drawn from (bounds and cap applied); sums to 1."""
    primary: str
    """The model drawn."""
    propensity: float
    """Its probability in :attr:`probabilities`."""
    notes: tuple[str, ...]
    """Bounds relaxed, or a cost cap that could not be met."""


def _seed(*parts: object) -> int:
    digest = hashlib.blake2b("\x00".join(map(repr, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@lru_cache(maxsize=_DRAW_CACHE_SIZE)
def _draws(where: tuple[str, str, str], alpha: float, beta: float, count: int) -> array[float]:
    """``count`` draws of Beta(alpha, beta) for ``where`` = (route, segment, model): always the same."""
    rng = random.Random(_seed(*where, alpha, beta, count))
    return array("d", (rng.betavariate(alpha, beta) for _ in range(count)))


@lru_cache(maxsize=_CHOICE_CACHE_SIZE)
def _sampled(
    arms: tuple[Arm, ...], cost_weight: float, route: str, segment: str, draws: int
) -> dict[str, float]:
    """The share of ``draws`` in which each arm has the highest ``theta - cost_weight · cost`` (ties go to
    the first arm). Cached: callers must not change the dict."""
    if len(arms) == 1:
        return {arms[0].model: 1.0}
    columns = [
        [
            theta - cost_weight * arm.cost_usd
            for theta in _draws((route, segment, arm.model), arm.alpha, arm.beta, draws)
        ]
        for arm in arms
    ]
    wins = [0] * len(arms)
    for row in zip(*columns, strict=True):
        wins[row.index(max(row))] += 1
    return {arm.model: count / draws for arm, count in zip(arms, wins, strict=True)}


def _feasible_bounds(arms: Sequence[Arm]) -> tuple[list[float], list[float], list[str]]:
    """Per arm ``(min, max)`` shares, scaled when the eligible arms cannot meet them, with notes."""
    lows = [min(arm.min_share, arm.max_share) for arm in arms]
    highs = [arm.max_share for arm in arms]
    notes: list[str] = []
    if (low_total := sum(lows)) > 1.0:
        lows = [low / low_total for low in lows]
        notes.append(f"the eligible models' min_share add up to {low_total:.3f} > 1: scaled down to fit")
    if (high_total := sum(highs)) < 1.0:
        highs = [high / high_total for high in highs]
        notes.append(f"the eligible models' max_share add up to {high_total:.3f} < 1: scaled up to fit")
    return lows, highs, notes


def project_shares(probabilities: Sequence[float], arms: Sequence[Arm]) -> tuple[list[float], list[str]]:
    """``probabilities`` (aligned with ``arms``) projected onto the arms' share bounds, and notes when
    the bounds had to be relaxed to be feasible."""
    lows, highs, notes = _feasible_bounds(arms)

    def shares(tau: float) -> list[float]:
        return [min(max(p - tau, low), high) for p, low, high in zip(probabilities, lows, highs, strict=True)]

    # sum(shares(tau)) falls as tau grows: find the tau where it crosses 1.
    below = min(p - high for p, high in zip(probabilities, highs, strict=True)) - 1.0
    above = max(p - low for p, low in zip(probabilities, lows, strict=True)) + 1.0
    for _ in range(_BISECTION_STEPS):
        middle = (below + above) / 2
        if sum(shares(middle)) > 1.0:
            below = middle
        else:
            above = middle
    projected = shares((below + above) / 2)
    total = sum(projected)
    return [share / total for share in projected], notes


def cap_cost(
    probabilities: Sequence[float], arms: Sequence[Arm], max_cost_usd: float | None
) -> tuple[list[float], list[str]]:
    """Move probability from the most expensive arms to the cheapest (within their bounds) until the
    expected cost is at most ``max_cost_usd``; a note when the bounds do not allow it."""
    shares = list(probabilities)
    if max_cost_usd is None:
        return shares, []
    lows, highs, _ = _feasible_bounds(arms)
    costs = [arm.cost_usd for arm in arms]
    by_cost = sorted(range(len(arms)), key=lambda i: costs[i])
    excess = sum(p * c for p, c in zip(shares, costs, strict=True)) - max_cost_usd
    for giver in reversed(by_cost):
        for taker in by_cost:
            if excess <= _EPSILON or costs[taker] >= costs[giver]:
                break
            room = min(shares[giver] - lows[giver], highs[taker] - shares[taker])
            moved = min(room, excess / (costs[giver] - costs[taker]))
            if moved > 0:
                shares[giver] -= moved
                shares[taker] += moved
                excess -= moved * (costs[giver] - costs[taker])
    if excess > _EPSILON:
        expected = max_cost_usd + excess
        return shares, [
            f"cost cap ${max_cost_usd:.6f} not met within the share bounds: expected cost ${expected:.6f}"
        ]
    return shares, []


def draw(probabilities: Sequence[float], point: float) -> int:
    """The index whose cumulative probability first exceeds ``point`` in [0, 1) (never one of
    probability 0; rounding left over goes to the last one that has any)."""
    cumulative = 0.0
    for index, probability in enumerate(probabilities):
        cumulative += probability
        if probability > 0 and point < cumulative:
            return index
    return max(index for index, probability in enumerate(probabilities) if probability > 0)


def thompson_choice(
    arms: Sequence[Arm],
    *,
    cost_weight: float,
    route: str,
    segment: str,
    point: float,
    max_cost_usd: float | None = None,
    draws: int = DRAWS,
) -> ThompsonChoice:
    """Thompson sampling over ``arms`` (in the route's order), bounded and capped, and the arm ``point``
    draws from the result (see the module's steps)."""
    sampled = dict(_sampled(tuple(arms), cost_weight, route, segment, draws))
    bounded, notes = project_shares([sampled[arm.model] for arm in arms], arms)
    capped, cap_notes = cap_cost(bounded, arms, max_cost_usd)
    chosen = draw(capped, point)
    probabilities = {arm.model: share for arm, share in zip(arms, capped, strict=True)}
    return ThompsonChoice(
        sampled=sampled,
        probabilities=probabilities,
        primary=arms[chosen].model,
        propensity=capped[chosen],
        notes=(*notes, *cap_notes),
    )
