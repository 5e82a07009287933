"""Replaying counterfactual outcomes: a router's cost–quality curve against every single model, the zero
router and the oracle, overall and per tag.

Inputs are request × model matrices of the true quality and cost (every model observed on every
request: counterfactual outcomes) and of the router's predicted quality and cost. For each
willingness-to-pay λ the router sends each request to argmax(predicted quality - λ · predicted cost)
(ties: the cheaper predicted cost) and lands on (mean true cost, mean true quality). The curves are
summarised by their non-decreasing upper convex hull (:mod:`modelrouter.training.hull`): its AIQ and the
cheapest cost share reaching 90, 95 and 100 % of the best single model's quality.

- *Single models*: always calling one model.
- *Zero router*: the hull of the single models (mixing two models at random lies on the segment between
  them, so "random mixes" are that hull's segments).
- *Oracle*: per request the best true quality at the lowest true cost; the *oracle curve* is the λ sweep
  with the truth as the prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from modelrouter.training.gap import gap_recovery
from modelrouter.training.hull import Point, aiq, cheapest_cost_reaching, upper_hull
from modelrouter.training.metrics import auc, brier, calibration_error
from modelrouter.training.report import (
    COST_SHARE_LEVELS,
    OVERALL,
    Curve,
    EvaluationReport,
    ModelReport,
    SliceReport,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from modelrouter.training.outcomes import OutcomeTable

__all__ = [  # the report's types are re-exported: callers need only this module
    "COST_SHARE_LEVELS",
    "OVERALL",
    "Curve",
    "EvaluationError",
    "EvaluationReport",
    "ModelReport",
    "PredictionMatrices",
    "SliceReport",
    "check_counterfactual",
    "evaluate",
    "evaluate_table",
    "lambda_grid",
    "route",
]

LAMBDA_GRID_POINTS = 120
"""Geometric grid points between λ = 0 and λ = ∞."""
LAMBDA_QUANTILES = (0.005, 0.995)
"""The grid spans these quantiles of the rates at which the predicted best model changes."""
GRID_SAMPLE_ROWS = 20_000
"""At most this many requests (evenly spaced) are read to place the grid."""
TIE_TOLERANCE = 1e-12
"""Utilities this close count as a tie (broken by the cheaper predicted cost)."""


class EvaluationError(ValueError):
    """The outcomes or predictions cannot be evaluated (not counterfactual, shapes that disagree)."""


class PredictionMatrices(Protocol):
    """Predicted quality and cost, requests × models (what ``fit.predict`` and ``cross_validate`` give)."""

    @property
    def quality(self) -> NDArray[np.float64]:
        """Predicted quality."""

    @property
    def cost(self) -> NDArray[np.float64]:
        """Predicted cost, USD."""


def lambda_grid(
    predicted_quality: NDArray[np.float64],
    predicted_cost: NDArray[np.float64],
    points: int = LAMBDA_GRID_POINTS,
) -> list[float]:
    """0, a geometric grid across the rates (quality per USD) at which the predicted best model of a
    request changes, and ∞."""
    step = max(1, math.ceil(len(predicted_quality) / GRID_SAMPLE_ROWS))
    q, c = predicted_quality[::step], predicted_cost[::step]
    dq = q[:, None, :] - q[:, :, None]
    dc = c[:, None, :] - c[:, :, None]
    rising = (dq > 0) & (dc > 0)
    rates = dq[rising] / dc[rising]
    if not len(rates):
        return [0.0, math.inf]
    low, high = (float(v) for v in np.quantile(rates, LAMBDA_QUANTILES))
    grid = [low] if low == high else [float(v) for v in np.geomspace(low, high, points)]
    return [0.0, *grid, math.inf]


def route(
    predicted_quality: NDArray[np.float64], predicted_cost: NDArray[np.float64], lam: float
) -> NDArray[np.intp]:
    """The column each request goes to at λ: argmax(quality - λ · cost), ties to the cheaper cost (then
    the first column); at λ = ∞ the cheapest, ties to the higher quality."""
    if math.isinf(lam):
        cheapest = predicted_cost.min(axis=1, keepdims=True)
        tied = predicted_cost <= cheapest + TIE_TOLERANCE
        cheapest_first: NDArray[np.intp] = np.argmax(np.where(tied, predicted_quality, -np.inf), axis=1)
        return cheapest_first
    utility = predicted_quality - lam * predicted_cost
    best = utility.max(axis=1, keepdims=True)
    tied = utility >= best - TIE_TOLERANCE * (1.0 + np.abs(best))
    chosen: NDArray[np.intp] = np.argmin(np.where(tied, predicted_cost, np.inf), axis=1)
    return chosen


def check_counterfactual(
    quality: NDArray[np.float64], models: Sequence[str], request_ids: Sequence[str]
) -> None:
    """Refuse outcomes where some request lacks some model's outcome.

    Raises:
        EvaluationError: naming how many requests are incomplete and the first of them.
    """
    missing = np.isnan(quality)
    if not missing.any():
        return
    rows = np.nonzero(missing.any(axis=1))[0]
    row = int(rows[0])
    model = models[int(np.nonzero(missing[row])[0][0])]
    name = request_ids[row] if row < len(request_ids) else f"#{row + 1}"
    raise EvaluationError(
        f"outcomes are not counterfactual: {len(rows):,} of {len(quality):,} requests lack an outcome for "
        f"some model (request '{name}' has none for '{model}'); evaluation replays every model on every "
        "request, so it needs every (request, model) outcome"
    )


def evaluate_table(table: OutcomeTable, predictions: PredictionMatrices) -> EvaluationReport:
    """:func:`evaluate` on an outcome table and predictions in its column order."""
    return evaluate(
        np.asarray(table.quality, dtype=np.float64),
        np.asarray(table.cost, dtype=np.float64),
        np.asarray(predictions.quality, dtype=np.float64),
        np.asarray(predictions.cost, dtype=np.float64),
        models=table.models,
        tags=table.tags,
        request_ids=table.request_ids,
    )


def evaluate(
    quality: NDArray[np.float64],
    cost: NDArray[np.float64],
    predicted_quality: NDArray[np.float64],
    predicted_cost: NDArray[np.float64],
    *,
    models: Sequence[str],
    tags: Sequence[Sequence[str]] | None = None,
    request_ids: Sequence[str] = (),
    lambdas: Sequence[float] | None = None,
) -> EvaluationReport:
    """Evaluate predictions against counterfactual outcomes (all matrices requests × models).

    Raises:
        EvaluationError: shapes that disagree, no requests, a missing true outcome (not counterfactual),
            or a prediction that is not a finite number.
    """
    shape = (len(quality), len(models))
    for name, matrix in (
        ("cost", cost),
        ("predicted quality", predicted_quality),
        ("predicted cost", predicted_cost),
    ):
        if matrix.shape != quality.shape:
            raise EvaluationError(f"{name} is {matrix.shape}, quality is {quality.shape}")
    if quality.ndim != 2 or quality.shape != shape or not shape[0] or not shape[1]:
        raise EvaluationError(f"quality is {quality.shape}; expected (requests ≥ 1, {len(models)} models)")
    check_counterfactual(quality, models, request_ids)
    check_counterfactual(cost, models, request_ids)
    if not (np.isfinite(predicted_quality).all() and np.isfinite(predicted_cost).all()):
        raise EvaluationError("predictions must be finite numbers")
    grid = list(lambdas) if lambdas is not None else lambda_grid(predicted_quality, predicted_cost)
    truth_grid = lambda_grid(quality, cost)
    matrices = _Matrices(
        quality,
        cost,
        predicted_quality,
        np.stack([route(predicted_quality, predicted_cost, lam) for lam in grid]),
        np.stack([route(quality, cost, lam) for lam in truth_grid]),
        list(models),
    )
    everything = np.arange(shape[0])
    overall = _slice(OVERALL, everything, matrices, grid, truth_grid)
    request_tags = list(tags) if tags is not None else [()] * shape[0]
    names = sorted({tag for request in request_tags for tag in request})
    by_tag = {
        tag: _slice(
            tag, np.array([i for i, t in enumerate(request_tags) if tag in t]), matrices, grid, truth_grid
        )
        for tag in names
    }
    return EvaluationReport(list(models), overall, by_tag)


@dataclass(frozen=True, slots=True)
class _Matrices:
    quality: NDArray[np.float64]
    cost: NDArray[np.float64]
    predicted: NDArray[np.float64]
    choices: NDArray[np.intp]
    """λ × requests: the router's column."""
    oracle_choices: NDArray[np.intp]
    """λ × requests: the column with the truth as prediction."""
    models: list[str]


def _points(m: _Matrices, choices: NDArray[np.intp], rows: NDArray[np.intp]) -> list[Point]:
    picked = choices[:, rows]
    cost = m.cost[rows[None, :], picked].mean(axis=1)
    quality = m.quality[rows[None, :], picked].mean(axis=1)
    return [Point(float(c), float(q)) for c, q in zip(cost, quality, strict=True)]


def _curve(
    points: list[Point], cost_range: tuple[float, float], best: Point, lambdas: list[float] | None = None
) -> Curve:
    hull = upper_hull(points)
    shares: dict[int, float | None] = {}
    for level in COST_SHARE_LEVELS:
        reached = cheapest_cost_reaching(hull, best.quality * level / 100)
        shares[level] = None if reached is None or best.cost <= 0 else reached / best.cost
    return Curve(points, hull, aiq(points, *cost_range), shares, lambdas)


def _slice(
    name: str, rows: NDArray[np.intp], m: _Matrices, grid: list[float], truth_grid: list[float]
) -> SliceReport:
    quality, cost, predicted = m.quality[rows], m.cost[rows], m.predicted[rows]
    singles = [
        Point(float(c), float(q)) for c, q in zip(cost.mean(axis=0), quality.mean(axis=0), strict=True)
    ]
    best = min(range(len(singles)), key=lambda i: (-singles[i].quality, singles[i].cost, i))
    cost_range = (min(p.cost for p in singles), max(p.cost for p in singles))
    reference = singles[best]
    models = [
        ModelReport(
            model,
            singles[j],
            auc(predicted[:, j], quality[:, j]),
            brier(predicted[:, j], quality[:, j]),
            calibration_error(predicted[:, j], quality[:, j]),
        )
        for j, model in enumerate(m.models)
    ]
    oracle = _points(m, m.oracle_choices[:1], rows)[0]  # λ = 0 first: best quality, then lowest cost
    return SliceReport(
        name=name,
        requests=len(rows),
        models=models,
        best_model=m.models[best],
        cost_range=cost_range,
        router=_curve(_points(m, m.choices, rows), cost_range, reference, grid),
        zero_router=_curve(singles, cost_range, reference),
        oracle=oracle,
        oracle_curve=_curve(_points(m, m.oracle_choices, rows), cost_range, reference, truth_grid),
        gap=gap_recovery(quality, cost, predicted, m.models),
    )
