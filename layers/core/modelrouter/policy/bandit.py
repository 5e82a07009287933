"""Bandit routes in a policy: Thompson sampling over a route's eligible candidates, per segment.

A ``bandit`` route learns from its own traffic. Each request falls into a *segment* (a key over request
features the policy names, e.g. language × difficulty band × tag); per segment and model the router keeps
a Beta posterior of the answers' quality (the implicit outcome, replaced by feedback when it arrives),
and draws the primary model by Thompson sampling on ``quality - cost_weight · estimated cost``. The
draw is deterministic per request id given the posteriors, bounded by ``min_share`` / ``max_share`` per
model and a cost cap, and its probability is recorded as the request's propensity.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from modelrouter.policy.common import Identifier, StrictModel
from modelrouter.policy.conditions import MetadataKey
from modelrouter.policy.learned import MappedRouterPin

__all__ = ["Bandit", "BanditPrior", "LearnedPrior", "Memory", "SegmentKey", "Segmentation"]

SegmentFeature = Literal["language", "difficulty", "tags", "tenant", "topic", "response_format", "has_tools"]
"""Request features a segment can be keyed by."""


class SegmentKey(StrictModel):
    """One part of a segment key: a feature, or a request ``metadata`` value from a closed list."""

    feature: SegmentFeature | None = None
    """A request feature: ``language`` (detected ISO code, ``und`` when unsure), ``difficulty`` (banded
    by ``bands``), ``tags`` (the first of ``values`` the request carries, else ``other``), ``tenant``,
    ``topic`` (the topic classifier's label, ``none`` without one), ``response_format``, ``has_tools``."""
    metadata: MetadataKey | None = None
    """A request ``metadata`` key; its value must be one of ``values`` (else the part reads ``other``)."""
    bands: list[Annotated[float, Field(gt=0, lt=1)]] | None = Field(default=None, min_length=1)
    """``difficulty``: the band edges, ascending (``[0.3, 0.6]`` gives bands 0, 1 and 2)."""
    values: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=64
    )
    """``tags``, ``metadata`` and (optionally) ``language``/``tenant``/``topic``: the values kept apart;
    anything else reads ``other``, so a client can never create more segments than the policy lists."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.feature is None) == (self.metadata is None):
            raise ValueError("give exactly one of 'feature' and 'metadata'")
        if self.feature == "difficulty" and self.bands is None:
            raise ValueError("a difficulty segment needs 'bands'")
        if self.bands is not None and self.feature != "difficulty":
            raise ValueError("'bands' applies to the difficulty feature only")
        if self.bands is not None and any(b >= a for b, a in zip(self.bands, self.bands[1:], strict=False)):
            raise ValueError("'bands' must be strictly ascending")
        if (self.feature == "tags" or self.metadata is not None) and self.values is None:
            raise ValueError("a tags or metadata segment needs its 'values' (the closed list kept apart)")
        return self


class Segmentation(StrictModel):
    """How requests are split into segments that learn separately; none: one segment for the route."""

    by: list[SegmentKey] = Field(default_factory=list, max_length=4)
    """The parts of the key, in order (the segment reads ``language=de|difficulty=1``)."""


class BanditPrior(StrictModel):
    """The Beta prior every (segment, model) starts from."""

    alpha: float = Field(default=1.0, gt=0, le=10_000)
    """Prior successes (pseudo-counts of quality)."""
    beta: float = Field(default=1.0, gt=0, le=10_000)
    """Prior failures."""


class LearnedPrior(MappedRouterPin):
    """Seed the priors from a learned router's predicted quality of each model for the request: the prior
    mean is the prediction and ``strength`` its weight in pseudo-observations."""

    strength: float = Field(default=10.0, gt=0, le=10_000)
    """Pseudo-observations the prediction is worth (alpha = strength · q, beta = strength · (1 - q))."""


class Memory(StrictModel):
    """How long evidence counts: outcomes are added to the window they happened in, and older windows
    weigh less (halved every ``half_life_seconds``), so a change of the best model is followed."""

    window_seconds: int = Field(default=3600, ge=60, le=86_400)
    """Width of one window of counts (one DynamoDB item per segment, model and window)."""
    half_life_seconds: int = Field(default=6 * 3600, ge=60, le=30 * 86_400)
    """Age at which a window's evidence counts half."""
    horizon_windows: int = Field(default=48, ge=1, le=500)
    """Windows read (older ones are ignored and expire from the table)."""


class Bandit(StrictModel):
    """A ``bandit`` route's learning: segments, reward, exploration bounds, priors and memory."""

    cost_weight: float = Field(default=0.0, ge=0)
    """λ: quality given up per USD; the reward of a model is its quality - λ · its estimated cost."""
    segments: Segmentation = Field(default_factory=Segmentation)
    """The segment key; each segment learns on its own."""
    min_share: dict[Identifier, Annotated[float, Field(ge=0, le=1)]] | float = 0.0
    """Least share of a segment's requests each model gets (one number for all, or per model)."""
    max_share: dict[Identifier, Annotated[float, Field(gt=0, le=1)]] | float = 1.0
    """Largest share each model may get (one number for all, or per model)."""
    max_cost_usd: float | None = Field(default=None, gt=0)
    """Cost cap: the expected estimated cost per request of the draw; mass moves to cheaper models
    until it fits (the shares' bounds still hold)."""
    prior: BanditPrior = Field(default_factory=BanditPrior)
    """The uninformed prior."""
    learned_prior: LearnedPrior | None = None
    """Optional: seed each request's priors from a learned router's predictions."""
    memory: Memory = Field(default_factory=Memory)
    """Windows and decay of the evidence."""
    refresh_seconds: float = Field(default=5.0, ge=0, le=300)
    """A container re-reads the posteriors at most this often (0: every request; tests)."""

    def min_share_of(self, model: str) -> float:
        """``min_share`` for ``model``."""
        return self.min_share if isinstance(self.min_share, float) else self.min_share.get(model, 0.0)

    def max_share_of(self, model: str) -> float:
        """``max_share`` for ``model``."""
        return self.max_share if isinstance(self.max_share, float) else self.max_share.get(model, 1.0)
