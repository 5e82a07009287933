"""When a shift counts as drift: the family-wise level, the minimum counts and the minimum changes.

A shift is reported when its test's p-value is at most ``family_alpha / tests`` (Bonferroni: the chance
that a run reports anything on unshifted traffic is at most ``family_alpha``) **and** the change is at
least the metric's minimum (on heavy traffic a test finds changes too small to act on).
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FAMILY_ALPHA",
    "MIN_COST_CHANGE",
    "MIN_QUALITY_CHANGE",
    "MIN_RATED",
    "MIN_RATE_CHANGE",
    "MIN_RECORDS",
    "MIN_SHARE_CHANGE",
    "MIN_SUCCESSES",
    "DriftThresholds",
]

FAMILY_ALPHA: Final = 0.01
"""Chance that a run reports drift on traffic that did not shift, at most (all tests together)."""
MIN_RECORDS: Final = 30
"""Requests a segment needs in each window to be compared (else it is skipped as thin)."""
MIN_RATED: Final = 20
"""Rated requests a segment needs in each window for its feedback quality to be compared."""
MIN_SUCCESSES: Final = 20
"""Successful requests a segment needs in each window for its cost per success to be compared."""
MIN_SHARE_CHANGE: Final = 0.05
"""Routing: the smallest total variation distance between the model shares that is reported."""
MIN_RATE_CHANGE: Final = 0.02
"""Fallback, retry and check-failure rates: the smallest absolute change reported (2 points)."""
MIN_QUALITY_CHANGE: Final = 0.05
"""Feedback quality: the smallest change of the mean reward reported."""
MIN_COST_CHANGE: Final = 0.10
"""Cost per successful request: the smallest relative change reported (10 %)."""


class DriftThresholds(BaseModel):
    """The levels and minimums a run uses (the defaults are the named constants of this module)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    family_alpha: float = Field(default=FAMILY_ALPHA, gt=0.0, le=0.2)
    """Largest chance of reporting drift on unshifted traffic, over all of a run's tests."""
    min_records: int = Field(default=MIN_RECORDS, ge=5)
    """Requests a segment needs in each window to be compared."""
    min_rated: int = Field(default=MIN_RATED, ge=5)
    """Rated requests a segment needs in each window for feedback quality."""
    min_successes: int = Field(default=MIN_SUCCESSES, ge=5)
    """Successful requests a segment needs in each window for cost per success."""
    min_share_change: float = Field(default=MIN_SHARE_CHANGE, ge=0.0, le=1.0)
    """Smallest routing shift reported (total variation distance of the model shares)."""
    min_rate_change: float = Field(default=MIN_RATE_CHANGE, ge=0.0, le=1.0)
    """Smallest absolute change of a fallback, retry or check-failure rate reported."""
    min_quality_change: float = Field(default=MIN_QUALITY_CHANGE, ge=0.0, le=1.0)
    """Smallest change of the mean feedback reward reported."""
    min_cost_change: float = Field(default=MIN_COST_CHANGE, ge=0.0)
    """Smallest relative change of the cost per successful request reported."""
