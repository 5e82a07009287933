"""The typed report of an evaluation (:mod:`modelrouter.training.evaluate`): curves, per-model scores,
slices (all requests, each tag) and their JSON form."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from modelrouter.training.gap import GapRecovery
from modelrouter.training.hull import Point

__all__ = ["COST_SHARE_LEVELS", "OVERALL", "Curve", "EvaluationReport", "ModelReport", "SliceReport"]

COST_SHARE_LEVELS: tuple[int, ...] = (90, 95, 100)
"""Percentages of the best single model's quality whose cheapest cost share is reported."""
OVERALL = "all"
"""Name of the slice holding every request."""


@dataclass(frozen=True, slots=True)
class Curve:
    """A set of operating points summarised by their non-decreasing upper convex hull."""

    points: list[Point]
    """The operating points (a λ sweep in λ order, or the single models in model order)."""
    hull: list[Point]
    """Vertices of their non-decreasing upper convex hull, by increasing cost."""
    aiq: float
    """Normalised area under the hull over the single models' cost range."""
    cost_shares: dict[int, float | None]
    """Per level of :data:`COST_SHARE_LEVELS` (% of the best single model's quality), the cheapest cost
    on the hull reaching it, as a share of that model's cost; None when the hull never reaches it."""
    lambdas: list[float] | None = None
    """The λ of each point, for a sweep (``inf``: cheapest predicted model)."""

    def to_json(self) -> dict[str, Any]:
        """JSON values: points as ``[cost, quality]``, λ = ∞ as null."""
        data: dict[str, Any] = {
            "aiq": self.aiq,
            "cost_shares": {str(level): share for level, share in self.cost_shares.items()},
            "hull": [list(p) for p in self.hull],
            "points": [list(p) for p in self.points],
        }
        if self.lambdas is not None:
            data["lambdas"] = [lam if math.isfinite(lam) else None for lam in self.lambdas]
        return data


@dataclass(frozen=True, slots=True)
class ModelReport:
    """One model on a slice: its single-model point and how well its quality was predicted."""

    model: str
    """The model's name in the outcomes."""
    point: Point
    """Mean true cost and quality of always calling it."""
    auc: float | None
    """AUC of the predicted quality for success (quality ≥ 0.5); None with one class only."""
    brier: float
    """Brier score of the predicted quality."""
    ece: float
    """Expected calibration error (10 equal-width bins)."""

    def to_json(self) -> dict[str, Any]:
        """JSON values."""
        return {
            "auc": self.auc,
            "brier": self.brier,
            "cost": self.point.cost,
            "ece": self.ece,
            "model": self.model,
            "quality": self.point.quality,
        }


@dataclass(frozen=True, slots=True)
class SliceReport:
    """The evaluation on a set of requests: all of them, or those with one tag."""

    name: str
    """``all``, or the tag."""
    requests: int
    """How many requests."""
    models: list[ModelReport]
    """Every model, in the outcomes' column order."""
    best_model: str
    """The single model of highest mean quality (the cheaper on a tie): the cost shares' reference."""
    cost_range: tuple[float, float]
    """Cheapest and dearest single model's mean cost: the AIQ's range."""
    router: Curve
    """The router's λ sweep."""
    zero_router: Curve
    """The single models and their hull."""
    oracle: Point
    """Per request the best true quality at the lowest true cost."""
    oracle_curve: Curve
    """The λ sweep with the truth as the prediction."""
    gap: GapRecovery | None
    """RouteLLM's metrics, for two-model outcomes."""

    def to_json(self) -> dict[str, Any]:
        """JSON values."""
        return {
            "best_model": self.best_model,
            "cost_range": list(self.cost_range),
            "gap_recovery": self.gap.to_json() if self.gap is not None else None,
            "models": [model.to_json() for model in self.models],
            "name": self.name,
            "oracle": list(self.oracle),
            "oracle_curve": self.oracle_curve.to_json(),
            "requests": self.requests,
            "router": self.router.to_json(),
            "zero_router": self.zero_router.to_json(),
        }


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """A router's evaluation on counterfactual outcomes, overall and per tag."""

    models: list[str]
    """The models, in column order."""
    overall: SliceReport
    """Every request."""
    by_tag: dict[str, SliceReport]
    """The requests of each tag (a request with several tags is in each), by tag name."""

    def slices(self) -> list[SliceReport]:
        """The overall slice, then each tag's."""
        return [self.overall, *self.by_tag.values()]

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON values."""
        return {
            "by_tag": {tag: report.to_json() for tag, report in self.by_tag.items()},
            "models": list(self.models),
            "overall": self.overall.to_json(),
        }
