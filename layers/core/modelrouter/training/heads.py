"""The model inside a learned router, fitted with numpy and scikit-learn: the design matrix, the shared
difficulty head, the per-model logistic heads, Platt calibration and the per-model cost lines.

:mod:`modelrouter.training.fit` runs these over folds and writes the artifact; the model is described there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.learned.features import FeatureRecipe, dense_features, text_indices
from modelrouter.training.outcomes import OutcomeTable

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = [
    "DEFAULT_FOLDS",
    "HEAD_C",
    "SHARED_ALPHA",
    "SHARED_SCALE",
    "FittedHeads",
    "cost_lines",
    "cost_matrix",
    "design_matrix",
    "fit_heads",
    "folds_of",
    "head_logits",
    "platt_scaling",
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
class FittedHeads:
    shared_coef: np.ndarray
    shared_bias: float
    head_coefs: list[np.ndarray]
    head_biases: list[float]
    head_shared: list[float]


def fit_heads(matrix: csr_matrix, quality: np.ndarray, seed: int) -> FittedHeads:
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
    return FittedHeads(shared.coef_.copy(), float(shared.intercept_), coefs, biases, shared_weights)


def head_logits(fitted: FittedHeads, matrix: csr_matrix) -> np.ndarray:
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


def cost_lines(table: OutcomeTable, rows: np.ndarray) -> list[tuple[float, float]]:
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


def cost_matrix(lines: list[tuple[float, float]], table: OutcomeTable, rows: np.ndarray) -> np.ndarray:
    import numpy as np

    tokens = np.array([f.prompt_tokens for f in table.features], dtype=float)[rows]
    return np.column_stack([np.maximum(0.0, base + slope * tokens) for base, slope in lines])
