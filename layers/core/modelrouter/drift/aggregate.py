"""A window's records folded into per-segment counts, one record at a time (memory grows with the
number of segments, never with the number of records)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from modelrouter.drift.observations import Observation, SkipReason, bin_name, observe, route_spend

__all__ = [
    "COST_BINS_PER_OCTAVE",
    "FEEDBACK_BINS",
    "RouteSpend",
    "Segment",
    "SegmentCounts",
    "WindowStats",
    "cost_bin",
    "feedback_bin",
]

FEEDBACK_BINS: Final = (("0-0.25", 0.0), ("0.25-0.5", 0.25), ("0.5-0.75", 0.5), ("0.75-1", 0.75))
"""Feedback rewards are compared as counts in these bins (each name and its lowest reward)."""
COST_BINS_PER_OCTAVE: Final = 2
"""Cost bins are this many per doubling (half octaves: each bin's costs within a factor √2)."""


def cost_bin(cost: float, successful: bool) -> str:
    """The category a request falls in for the cost-per-success test: its outcome and cost bin
    (``ok 3``: successful, cost in [2^(3/2), 2^(4/2)) dollars; ``ok 0$``: free)."""
    outcome = "ok" if successful else "not ok"
    if cost <= 0.0:
        return f"{outcome} 0$"
    return f"{outcome} {math.floor(math.log2(cost) * COST_BINS_PER_OCTAVE)}"


def feedback_bin(reward: float) -> str:
    """The name of the bin ``reward`` (in [0, 1]) falls in."""
    return bin_name(reward, FEEDBACK_BINS)


class Segment(NamedTuple):
    """route × model × language × difficulty band."""

    route: str
    """Route name."""
    model: str
    """Chosen model."""
    language: str
    """Language code."""
    band: str
    """Difficulty band."""

    @property
    def group(self) -> tuple[str, str, str]:
        """``(route, language, band)``: the segments whose models share the routing."""
        return self.route, self.language, self.band


@dataclass
class SegmentCounts:
    """One segment's counts in one window."""

    records: int = 0
    """Requests."""
    fallbacks: int = 0
    """Requests that called a model other than the chosen one."""
    retries: int = 0
    """Requests that called a model more than once."""
    check_failures: int = 0
    """Requests with an answer that failed a check."""
    feedback: Counter[str] = field(default_factory=Counter)
    """Rated requests by :data:`FEEDBACK_BINS` bin."""
    feedback_sum: float = 0.0
    """Σ feedback reward."""
    successes: int = 0
    """Successful outcomes."""
    cost: float = 0.0
    """Σ cost."""
    cost_bins: Counter[str] = field(default_factory=Counter)
    """Requests by outcome and cost bin (:func:`cost_bin`)."""

    def add(self, observation: Observation) -> None:
        """Count one request."""
        self.records += 1
        self.fallbacks += observation.fallback
        self.retries += observation.retried
        self.check_failures += observation.check_failed
        if observation.feedback is not None:
            self.feedback[feedback_bin(observation.feedback)] += 1
            self.feedback_sum += observation.feedback
        self.cost += observation.cost_usd
        self.successes += observation.successful
        self.cost_bins[cost_bin(observation.cost_usd, observation.successful)] += 1

    @property
    def rated(self) -> int:
        """Requests with feedback."""
        return sum(self.feedback.values())

    @property
    def cost_per_success(self) -> float | None:
        """Spend per successful request (None without one)."""
        return self.cost / self.successes if self.successes else None


@dataclass
class RouteSpend:
    """A route's spend and successful outcomes in a window (refused requests included)."""

    records: int = 0
    """Records of the route."""
    spend_usd: float = 0.0
    """Σ cost."""
    successes: int = 0
    """Successful outcomes."""

    @property
    def cost_per_successful_outcome(self) -> float | None:
        """Spend divided by successful outcomes (None without one)."""
        return self.spend_usd / self.successes if self.successes else None


@dataclass
class WindowStats:
    """Everything drift detection keeps of one window."""

    records: int = 0
    """Records seen."""
    segments: dict[Segment, SegmentCounts] = field(default_factory=dict)
    """Counts per segment."""
    routes: dict[str, RouteSpend] = field(default_factory=dict)
    """Spend per route."""
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    """Records left out of every segment, by reason."""
    truncated: bool = False
    """The reader stopped at its cap: the window was sampled (set by whoever read it)."""
    queries: int = 0
    """Queries the read took (set by whoever read it)."""

    @classmethod
    def of(cls, records: Iterable[Any]) -> WindowStats:
        """``records`` folded."""
        stats = cls()
        for record in records:
            stats.add(record)
        return stats

    def add(self, record: Any) -> None:
        """Fold one record in (a malformed one is counted by its skip reason)."""
        self.records += 1
        spend = route_spend(record)
        if spend is not None:
            route, cost, successful = spend
            totals = self.routes.setdefault(route, RouteSpend())
            totals.records += 1
            totals.spend_usd += cost
            totals.successes += successful
        observation = observe(record)
        if isinstance(observation, SkipReason):
            self.skipped[observation] += 1
            return
        segment = Segment(observation.route, observation.model, observation.language, observation.band)
        counts = self.segments.get(segment)
        if counts is None:
            counts = self.segments[segment] = SegmentCounts()
        counts.add(observation)

    def routing(self) -> dict[tuple[str, str, str], Counter[str]]:
        """Requests per chosen model within each ``(route, language, band)``."""
        groups: dict[tuple[str, str, str], Counter[str]] = {}
        for segment, counts in self.segments.items():
            groups.setdefault(segment.group, Counter())[segment.model] += counts.records
        return groups
