"""From learning-state items to Beta posteriors: per segment and model, decayed evidence and its cost.

Pure. Each learning-state item counts one (window, segment, model): ``quality_sum`` (Σ reward in [0, 1]),
``pulls`` (outcomes) and ``cost_sum`` (Σ USD) of the requests that started in that window. A window's
counts weigh ``0.5 ** (age / half_life_seconds)``, its age measured from the window's end (the window
in progress weighs 1), and windows before the route's horizon are ignored. The decayed sums are the
evidence: ``alpha = prior alpha + Σ w · quality_sum``, ``beta = prior beta + Σ w · (pulls - quality_sum)``,
and the mean observed cost ``Σ w · cost_sum / Σ w · pulls``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from modelrouter.policy.bandit import Memory

__all__ = [
    "BetaPosterior",
    "Evidence",
    "WindowCounts",
    "decay_weight",
    "decayed_evidence",
    "horizon_of",
    "posterior",
]


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """One learning-state item: the counts of one segment and model in one window."""

    window: int
    """Window number (``floor(epoch seconds / window_seconds)`` of the requests' start)."""
    segment: str
    """The segment key."""
    model: str
    """The model id."""
    quality_sum: float
    """Σ reward of the outcomes counted."""
    pulls: float
    """Outcomes counted."""
    cost_sum: float
    """Σ cost (USD) of the outcomes counted."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Decayed counts of one segment and model."""

    successes: float
    """Σ weight · quality_sum."""
    outcomes: float
    """Σ weight · pulls: how many outcomes the posterior holds, decayed."""
    cost_sum: float
    """Σ weight · cost_sum (USD)."""

    @property
    def failures(self) -> float:
        """Σ weight · (pulls - quality_sum)."""
        return max(0.0, self.outcomes - self.successes)

    @property
    def mean_cost_usd(self) -> float | None:
        """Mean observed cost of an outcome (None without evidence)."""
        return self.cost_sum / self.outcomes if self.outcomes > 0 else None


@dataclass(frozen=True, slots=True)
class BetaPosterior:
    """Beta(alpha, beta) belief about a model's quality in a segment."""

    alpha: float
    """Prior successes plus evidence."""
    beta: float
    """Prior failures plus evidence."""

    @property
    def mean(self) -> float:
        """The posterior mean quality."""
        return self.alpha / (self.alpha + self.beta)


def horizon_of(as_of: float, memory: Memory) -> tuple[int, int]:
    """The first and last window read at epoch second ``as_of`` (the horizon, the current window last)."""
    last = int(as_of) // memory.window_seconds
    return last - memory.horizon_windows + 1, last


def decay_weight(window: int, as_of: float, memory: Memory) -> float:
    """The weight of ``window``'s counts at epoch second ``as_of``."""
    age = max(0.0, as_of - (window + 1) * memory.window_seconds)
    return float(0.5 ** (age / memory.half_life_seconds))


def decayed_evidence(
    items: Iterable[WindowCounts], *, as_of: float, memory: Memory
) -> dict[tuple[str, str], Evidence]:
    """Per ``(segment, model)``: the decayed evidence of ``items`` at epoch second ``as_of``.

    Items outside the horizon are ignored; counts a concurrent adjustment left out of range (a reward sum
    below 0 or above the pulls) are clamped, so a posterior is always a valid Beta.
    """
    first, last = horizon_of(as_of, memory)
    sums: dict[tuple[str, str], list[float]] = {}
    for item in items:
        if not first <= item.window <= last or item.pulls <= 0:
            continue
        weight = decay_weight(item.window, as_of, memory)
        quality = min(max(item.quality_sum, 0.0), item.pulls)
        total = sums.setdefault((item.segment, item.model), [0.0, 0.0, 0.0])
        total[0] += weight * quality
        total[1] += weight * item.pulls
        total[2] += weight * max(item.cost_sum, 0.0)
    return {key: Evidence(s, n, c) for key, (s, n, c) in sums.items()}


def posterior(evidence: Evidence | None, prior_alpha: float, prior_beta: float) -> BetaPosterior:
    """The Beta posterior of a prior and the evidence (the prior alone without evidence)."""
    if evidence is None:
        return BetaPosterior(prior_alpha, prior_beta)
    return BetaPosterior(prior_alpha + evidence.successes, prior_beta + evidence.failures)
