"""Champion–challenger by evidence: when a ``weighted`` route's challenger may replace its champion.

``modelrouter policy promote ROUTE`` estimates, from logged outcomes of the route (off-policy, with the
propensities the split recorded), the mean quality of sending every request to the challenger's models
and of sending every request to the champion's, and promotes only when the evidence says so.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from modelrouter.policy.common import Identifier, StrictModel

__all__ = ["PromoteWhen"]


class PromoteWhen(StrictModel):
    """What evidence promotes a ``weighted`` route's challenger variant to champion."""

    champion: Identifier = "champion"
    """The variant now serving most traffic."""
    challenger: Identifier = "challenger"
    """The variant being tried."""
    min_requests: int = Field(default=1000, ge=1)
    """Fewest logged requests of the route (with propensities) the estimate needs."""
    min_quality_gain: float = Field(default=0.0, ge=-1, le=1)
    """The lower confidence bound of (challenger - champion) mean quality must reach this."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    """Two-sided confidence level of the interval of the gain."""
    max_cost_increase_usd: float | None = Field(default=None, ge=0)
    """Optional: refuse when the challenger's estimated mean cost per request exceeds the champion's by
    more than this (USD)."""

    @model_validator(mode="after")
    def _two_variants(self) -> Self:
        if self.champion == self.challenger:
            raise ValueError("champion and challenger must be different variants")
        return self
