"""What a drift run says: the windows, what was compared and skipped, each shift past the threshold,
and per route its drift score and cost per successful outcome. JSON-able (``model_dump(mode="json")``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict

from modelrouter.drift.thresholds import DriftThresholds
from modelrouter.drift.windows import Window

__all__ = [
    "ANY_MODEL",
    "DriftFinding",
    "DriftMetric",
    "DriftReport",
    "RouteSummary",
    "SegmentRef",
    "SkippedSegment",
    "WindowSummary",
]

ANY_MODEL: Final = "*"
"""The ``model`` of a routing-share segment (the shares of every model of route × language × band)."""


class DriftMetric(StrEnum):
    """What is compared per segment."""

    ROUTING_SHARE = "routing_share"
    FALLBACK_RATE = "fallback_rate"
    RETRY_RATE = "retry_rate"
    CHECK_FAILURE_RATE = "check_failure_rate"
    FEEDBACK_QUALITY = "feedback_quality"
    COST_PER_SUCCESS = "cost_per_successful_request"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SegmentRef(_Model):
    """A segment: route × model × language × difficulty band."""

    route: str
    """Route name."""
    model: str
    """Chosen model; ``*`` for the routing shares of every model."""
    language: str
    """Language code."""
    band: str
    """Difficulty band."""

    def label(self) -> str:
        """``route / model / language / band``."""
        return f"{self.route} / {self.model} / {self.language} / {self.band}"


class DriftFinding(_Model):
    """One shift past the threshold."""

    segment: SegmentRef
    """Where."""
    metric: DriftMetric
    """What shifted."""
    baseline: float
    """The metric in the baseline window (routing: the share of the model named in ``detail``)."""
    recent: float
    """The metric in the recent window."""
    baseline_count: int
    """Requests behind the baseline value (rated ones for quality, successful ones for cost)."""
    recent_count: int
    """Requests behind the recent value."""
    change: float
    """The size of the shift: recent - baseline for rates and quality, relative for cost, the total
    variation distance of the shares for routing."""
    min_change: float
    """The smallest change reported for this metric."""
    statistic: float
    """χ² statistic of the test."""
    df: int
    """Its degrees of freedom."""
    method: str
    """``chi_square`` or ``fisher_exact``."""
    p_value: float
    """The test's p-value."""
    alpha: float
    """Level each test is held to: the family level divided by the number of tests (Bonferroni)."""
    threshold: float
    """χ²(df) critical value at ``alpha``: the statistic passed it."""
    detail: str | None = None
    """Routing: the model whose share moved most."""


class SkippedSegment(_Model):
    """A segment too thin to compare."""

    segment: SegmentRef
    """Which."""
    baseline_records: int
    """Its requests in the baseline window."""
    recent_records: int
    """Its requests in the recent window."""


class RouteSummary(_Model):
    """One route in the recent window."""

    route: str
    """Route name."""
    recent_records: int
    """Its records in the recent window (refusals included)."""
    spend_usd: float
    """Their cost."""
    successful_outcomes: int
    """Requests answered, passing their checks, and rated good where rated."""
    cost_per_successful_outcome: float | None
    """Spend / successful outcomes (None without one)."""
    tests: int
    """Tests run on its segments."""
    findings: int
    """Shifts past the threshold."""
    drift_score: float | None
    """Largest statistic / threshold of its tests (1 or more: statistically past the threshold); None
    without a test."""


class WindowSummary(_Model):
    """What was read of one window."""

    window: Window
    """The window."""
    records: int
    """Records read."""
    skipped: dict[str, int]
    """Records left out of every segment, by reason."""
    truncated: bool
    """The per-window cap stopped the read: the window was sampled, not read whole."""
    queries: int
    """DynamoDB queries the read took (pages included)."""


class DriftReport(_Model):
    """The result of one comparison."""

    baseline: WindowSummary
    """The baseline window."""
    recent: WindowSummary
    """The recent window."""
    thresholds: DriftThresholds
    """Levels and minimums used."""
    segments_compared: int
    """Segments (and routing groups) with enough requests in both windows."""
    segments_skipped: int
    """Segments (and routing groups) too thin in a window."""
    skipped_segments: list[SkippedSegment]
    """The thin segments with the most recent requests (at most a hundred)."""
    tests: int
    """Tests run (the Bonferroni divisor)."""
    test_alpha: float | None
    """Level each test is held to (None without a test)."""
    findings: list[DriftFinding]
    """Shifts past the threshold, by route, then largest first."""
    routes: list[RouteSummary]
    """Every route seen, by name."""

    @property
    def drifted(self) -> bool:
        """Whether any shift passed the threshold."""
        return bool(self.findings)
