"""Fitting a learned router: per-model calibrated predictors of answer quality from the request alone.

The model (see ``docs/learning.md``):

- **Features**: :func:`modelrouter.learned.features.text_indices` buckets, each valued ``1/sqrt(n)``,
  plus the router's own features (:data:`~modelrouter.learned.features.DENSE_FEATURES`). The same code
  builds them here and at request time.
- **Shared difficulty head**: a ridge regression of the mean quality across models, fitted on every
  request. Models fail together on hard prompts, so this one signal, learned from all models' outcomes,
  is less noisy than any model's own.
- **Per-model heads**: logistic regressions of each model's quality (fractional quality is fitted as a
  weighted pair of a success and a failure) on the same features plus the shared head's output, whose
  weight is each model's sensitivity to difficulty.
- **Calibration**: Platt scaling of each head's logit on out-of-fold predictions, so predicted quality
  reads as a probability; the same out-of-fold predictions give the metrics stored in the artifact.
- **Cost**: per model, a least-squares line of cost on estimated prompt tokens (an estimate for the
  evaluation's λ sweep; at request time the router prices candidates from the catalog).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.learned.artifact import ARTIFACT_FORMAT, LearnedRouter, encode_weights
from modelrouter.learned.features import DENSE_FEATURES, FeatureRecipe, dense_features, text_indices
from modelrouter.training.outcomes import OutcomeTable

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = [
    "DEFAULT_FOLDS",
    "HEAD_C",
    "SHARED_ALPHA",
    "SHARED_SCALE",
    "Predictions",
    "cross_validate",
    "fit_router",
    "folds_of",
    "platt_scaling",
    "predict",
]

HEAD_C = 0.5
"""Inverse L2 strength of the per-model logistic heads (chosen by 5-fold CV on RouterBench; smaller
shrinks every model toward its mean quality for prompts like the request)."""
SHARED_ALPHA = 1.0
"""L2 strength of the shared difficulty ridge regression."""
SHARED_SCALE = 4.0
"""The shared head's output is multiplied by this before the per-model heads see it, so their L2
penalty barely shrinks its weight (it is one strong feature among thousands of weak ones)."""
DEFAULT_FOLDS = 5
"""Folds of the cross-validation that calibrates the heads and measures them."""
_MIN_WEIGHT = 1e-6


@dataclass(frozen=True, slots=True)
class Predictions:
    """Predicted quality and cost per (request, model), in the table's row and column order."""

    quality: np.ndarray
    """Predicted quality in [0, 1], shape (requests, models)."""
    cost: np.ndarray
    """Predicted cost in USD, shape (requests, models)."""


def folds_of(request_ids: Sequence[str], folds: int, seed: int = 0) -> list[int]:
    """A fold number per request, stable for a request id and seed (so folds never split a request)."""
    import zlib

    return [zlib.crc32(f"{seed}:{request_id}".encode()) % folds for request_id in request_ids]


def design_matrix(texts: Sequence[str], features: Sequence[Any], recipe: FeatureRecipe) -> csr_matrix:
    """The feature matrix: hashed text buckets valued ``1/sqrt(n)``, then the dense router features."""
    from scipy.sparse import csr_matrix

    data: list[float] = []
    columns: list[int] = []
    pointers = [0]
    for text, request_features in zip(texts, features, strict=True):
        indices = text_indices(text, recipe)
        scale = 1.0 / math.sqrt(len(indices)) if indices else 0.0
        dense = dense_features(request_features)
        columns.extend(indices)
        data.extend([scale] * len(indices))
        columns.extend(range(recipe.size, recipe.width))
        data.extend(dense)
        pointers.append(len(columns))
    return csr_matrix((data, columns, pointers), shape=(len(texts), recipe.width))


@dataclass
class _Fitted:
    shared_coef: np.ndarray
    shared_bias: float
    head_coefs: list[np.ndarray]
    head_biases: list[float]
    head_shared: list[float]


def _fit_heads(matrix: csr_matrix, quality: np.ndarray, seed: int) -> _Fitted:
    import numpy as np
    from scipy.sparse import csr_matrix, hstack, vstack
    from sklearn.linear_model import LogisticRegression, Ridge

    observed = ~np.isnan(quality)
    # The shared head learns how much better or worse than usual models do on a request: each outcome
    # minus its model's mean. On counterfactual data that is the mean quality shifted by a constant; on
    # logged traffic (one model per request) it keeps the logging policy's choice of model (a strong
    # model sent the hard requests) from passing for the request's difficulty.
    residual = np.where(observed, quality - np.nanmean(np.where(observed, quality, np.nan), axis=0), np.nan)
    mean_quality = np.nanmean(residual, axis=1)
    has_any = ~np.isnan(mean_quality)
    shared = Ridge(alpha=SHARED_ALPHA).fit(matrix[has_any], mean_quality[has_any])
    # The heads learn on the shared head's out-of-fold output, as they will see it on new requests.
    shared_out = np.zeros(matrix.shape[0])
    inner = np.array(folds_of([str(i) for i in range(matrix.shape[0])], DEFAULT_FOLDS, seed + 1))
    for fold in range(DEFAULT_FOLDS):
        train = has_any & (inner != fold)
        if train.sum() == 0:
            shared_out[inner == fold] = shared.predict(matrix[inner == fold])
            continue
        part = Ridge(alpha=SHARED_ALPHA).fit(matrix[train], mean_quality[train])
        shared_out[inner == fold] = part.predict(matrix[inner == fold])
    augmented = hstack([matrix, csr_matrix(shared_out[:, None] * SHARED_SCALE)]).tocsr()
    coefs, biases, shared_weights = [], [], []
    for column in range(quality.shape[1]):
        rows = observed[:, column]
        target = quality[rows, column]
        stacked = vstack([augmented[rows], augmented[rows]])
        labels = np.r_[np.ones(rows.sum()), np.zeros(rows.sum())]
        weights = np.r_[target, 1.0 - target] + _MIN_WEIGHT
        if target.min() == target.max():  # one class only: a constant head at that quality
            coefs.append(np.zeros(matrix.shape[1]))
            biases.append(_logit(float(target[0])))
            shared_weights.append(0.0)
            continue
        head = LogisticRegression(C=HEAD_C, max_iter=3000).fit(stacked, labels, sample_weight=weights)
        coefs.append(head.coef_[0, :-1].copy())
        biases.append(float(head.intercept_[0]))
        shared_weights.append(float(head.coef_[0, -1]) * SHARED_SCALE)
    return _Fitted(shared.coef_.copy(), float(shared.intercept_), coefs, biases, shared_weights)


def _logits(fitted: _Fitted, matrix: csr_matrix) -> np.ndarray:
    import numpy as np

    shared = matrix @ fitted.shared_coef + fitted.shared_bias
    columns = [
        matrix @ coef + bias + weight * shared
        for coef, bias, weight in zip(fitted.head_coefs, fitted.head_biases, fitted.head_shared, strict=True)
    ]
    return np.column_stack(columns)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def platt_scaling(logits: np.ndarray, quality: np.ndarray) -> tuple[float, float]:
    """Platt parameters ``(slope, intercept)`` mapping a head's out-of-fold logits to calibrated quality
    (NaN quality: unobserved, ignored).

    Never decreasing: when the held-out logits rank outcomes backwards (noise, on little data), the
    slope would be negative and turn the head's ranking upside down; the calibration then predicts the
    observed mean quality for every request instead (slope 0).
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = ~np.isnan(quality)
    target = quality[rows]
    if rows.sum() < 2 or target.min() == target.max():
        return 1.0, 0.0
    x = np.r_[logits[rows], logits[rows]][:, None]
    labels = np.r_[np.ones(rows.sum()), np.zeros(rows.sum())]
    weights = np.r_[target, 1.0 - target] + _MIN_WEIGHT
    model = LogisticRegression(C=1e4).fit(x, labels, sample_weight=weights)
    slope = float(model.coef_[0, 0])
    if slope <= 0.0:
        return 0.0, _logit(float(target.mean()))
    return slope, float(model.intercept_[0])


def _cost_lines(table: OutcomeTable, rows: np.ndarray) -> list[tuple[float, float]]:
    import numpy as np

    tokens = np.array([f.prompt_tokens for f in table.features], dtype=float)[rows]
    cost = np.array(table.cost, dtype=float)[rows]
    lines = []
    for column in range(cost.shape[1]):
        seen = ~np.isnan(cost[:, column])
        if seen.sum() >= 2 and np.ptp(tokens[seen]) > 0:
            slope, base = np.polyfit(tokens[seen], cost[seen, column], 1)
        else:
            slope, base = 0.0, float(np.nanmean(cost[seen, column])) if seen.any() else 0.0
        lines.append((float(base), float(slope)))
    return lines


def _cost_matrix(lines: list[tuple[float, float]], table: OutcomeTable, rows: np.ndarray) -> np.ndarray:
    import numpy as np

    tokens = np.array([f.prompt_tokens for f in table.features], dtype=float)[rows]
    return np.column_stack([np.maximum(0.0, base + slope * tokens) for base, slope in lines])


def cross_validate(
    table: OutcomeTable, folds: int, *, seed: int = 0, recipe: FeatureRecipe | None = None
) -> Predictions:
    """Out-of-fold predictions: each request is predicted by heads fitted on the other folds (folds by
    request id), then calibrated by Platt parameters fitted on the other folds' out-of-fold logits.

    Those two parameters per model come from heads that saw the held-out fold, a negligible leak that
    saves fitting a second, nested cross-validation.

    Raises:
        ValueError: fewer than two folds or fewer requests than folds.
    """
    return _out_of_fold(table, folds, seed, recipe or FeatureRecipe())[0]


def _out_of_fold(
    table: OutcomeTable, folds: int, seed: int, recipe: FeatureRecipe
) -> tuple[Predictions, np.ndarray, csr_matrix]:
    import numpy as np

    if folds < 2 or len(table.request_ids) < folds:
        raise ValueError(f"cross-validation needs 2 ≤ folds ≤ requests; got {folds} folds")
    matrix = design_matrix(table.texts, table.features, recipe)
    quality = np.array(table.quality, dtype=float)
    fold_of = np.array(folds_of(table.request_ids, folds, seed))
    logits = np.zeros_like(quality)
    cost = np.zeros_like(quality)
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        if not test.any():
            continue
        logits[test] = _logits(_fit_heads(matrix[train], quality[train], seed), matrix[test])
        cost[test] = _cost_matrix(_cost_lines(table, train), table, test)
    predicted = np.zeros_like(quality)
    for fold in range(folds):
        test = fold_of == fold
        for column in range(quality.shape[1]):
            slope, intercept = platt_scaling(logits[~test, column], quality[~test, column])
            predicted[test, column] = _sigmoid(slope * logits[test, column] + intercept)
    return Predictions(predicted, cost), logits, matrix


def _sigmoid(z: np.ndarray) -> np.ndarray:
    import numpy as np

    result: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
    return result


def fit_router(
    table: OutcomeTable,
    *,
    recipe: FeatureRecipe | None = None,
    cv_folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    sources: Sequence[str] = (),
) -> dict[str, Any]:
    """Fit a router on every request of ``table`` and return its artifact document (JSON-ready).

    A ``cv_folds``-fold cross-validation first gives out-of-fold logits, which calibrate the final heads
    (Platt) and measure them: AUC, Brier score and calibration error per model, overall and per tag.

    Raises:
        ValueError: fewer requests than folds.
    """
    import numpy as np

    recipe = recipe or FeatureRecipe()
    held_out, logits, matrix = _out_of_fold(table, cv_folds, seed, recipe)
    quality = np.array(table.quality, dtype=float)
    fitted = _fit_heads(matrix, quality, seed)
    rows = np.ones(len(table.request_ids), dtype=bool)
    costs = _cost_lines(table, rows)
    heads: dict[str, Any] = {}
    for column, model in enumerate(table.models):
        slope, intercept = platt_scaling(logits[:, column], quality[:, column])
        coef = fitted.head_coefs[column]
        heads[model] = {
            "bias": fitted.head_biases[column],
            "text_weights": encode_weights(coef[: recipe.size]),
            "dense_weights": [round(float(v), 6) for v in coef[recipe.size :]],
            "shared_weight": fitted.head_shared[column],
            "calibration": [slope, intercept],
        }
    return {
        "format": ARTIFACT_FORMAT,
        "feature_recipe": recipe.to_json(),
        "dense_features": list(DENSE_FEATURES),
        "models": list(table.models),
        "heads": heads,
        "shared": {
            "bias": fitted.shared_bias,
            "text_weights": encode_weights(fitted.shared_coef[: recipe.size]),
            "dense_weights": [round(float(v), 6) for v in fitted.shared_coef[recipe.size :]],
        },
        "cost_model": {
            model: {"base_usd": base, "per_prompt_token_usd": slope}
            for model, (base, slope) in zip(table.models, costs, strict=True)
        },
        "metrics": _metrics(table, held_out, cv_folds),
        "training": {
            "data_sha256": table.digest,
            "requests": len(table.request_ids),
            "observations": int((~np.isnan(quality)).sum()),
            "sources": list(sources),
            "fitted_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seed": seed,
            "hyperparameters": {"head_c": HEAD_C, "shared_alpha": SHARED_ALPHA, "shared_scale": SHARED_SCALE},
        },
    }


def _metrics(table: OutcomeTable, held_out: Predictions, folds: int) -> dict[str, Any]:
    import numpy as np

    from modelrouter.training.metrics import auc, brier, calibration_error

    quality = np.array(table.quality, dtype=float)
    tags = sorted({tag for request_tags in table.tags for tag in request_tags})

    def scores(rows: np.ndarray, column: int) -> dict[str, Any]:
        p, q = held_out.quality[rows, column], quality[rows, column]
        found = auc(p, q)
        return {
            "auc": None if found is None else round(found, 4),
            "brier": round(brier(p, q), 4),
            "calibration_error": round(calibration_error(p, q), 4),
            "mean_quality": round(float(np.nanmean(q)), 4),
            "requests": int((~np.isnan(q)).sum()),
        }

    every = np.ones(len(table.request_ids), dtype=bool)
    per_model: dict[str, Any] = {}
    for column, model in enumerate(table.models):
        entry = scores(every, column)
        entry["by_tag"] = {tag: scores(np.array([tag in t for t in table.tags]), column) for tag in tags}
        per_model[model] = entry
    return {"cv_folds": folds, "models": per_model}


def predict(router: LearnedRouter, table: OutcomeTable) -> Predictions:
    """The router's predicted quality and cost for every (request, model) of ``table``.

    Raises:
        ValueError: a model of ``table`` the router does not know (named).
    """
    import numpy as np

    unknown = [model for model in table.models if model not in router.heads]
    if unknown:
        raise ValueError(
            f"the router does not know model '{unknown[0]}' (it knows {', '.join(router.models)})"
        )
    quality = np.zeros((len(table.request_ids), len(table.models)))
    cost = np.zeros_like(quality)
    for row, (text, features) in enumerate(zip(table.texts, table.features, strict=True)):
        scores = router.score(text, features)
        for column, model in enumerate(table.models):
            quality[row, column] = scores[model]
            cost[row, column] = router.expected_cost(model, features.prompt_tokens)
    return Predictions(quality, cost)
