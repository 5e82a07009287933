"""Fitting a learned router: per-model calibrated predictors of answer quality from the request alone.

The model (see ``docs/learning.md``):

- **Features**: :func:`modelrouter.learned.features.text_indices` buckets, each valued ``1/sqrt(n)``,
  plus the router's own features (:data:`~modelrouter.learned.features.DENSE_FEATURES`). The same code
  builds them here and at request time.
- **Shared difficulty head**: a ridge regression, fitted on every request, of how much better or worse
  than their usual the models did on it (the mean over its outcomes of quality minus that model's mean).
  Models fail together on hard prompts, so this one signal, learned from all models' outcomes, is less
  noisy than any model's own.
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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.learned.artifact import ARTIFACT_FORMAT, LearnedRouter, encode_weights
from modelrouter.learned.features import DENSE_FEATURES, FeatureRecipe
from modelrouter.training.heads import (
    DEFAULT_FOLDS,
    HEAD_C,
    SHARED_ALPHA,
    SHARED_SCALE,
    cost_lines,
    cost_matrix,
    design_matrix,
    fit_heads,
    folds_of,
    head_logits,
    platt_scaling,
)
from modelrouter.training.outcomes import OutcomeTable

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = [
    "DEFAULT_FOLDS",
    "FittedRouter",
    "Predictions",
    "cross_validate",
    "fit_router",
    "fit_with_held_out",
    "folds_of",
    "platt_scaling",
    "predict",
]


@dataclass(frozen=True, slots=True)
class Predictions:
    """Predicted quality and cost per (request, model), in the table's row and column order."""

    quality: np.ndarray
    """Predicted quality in [0, 1], shape (requests, models)."""
    cost: np.ndarray
    """Predicted cost in USD, shape (requests, models)."""


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
        logits[test] = head_logits(fit_heads(matrix[train], quality[train], seed), matrix[test])
        cost[test] = cost_matrix(cost_lines(table, train), table, test)
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
    return fit_with_held_out(table, recipe=recipe, cv_folds=cv_folds, seed=seed, sources=sources).document


@dataclass(frozen=True, slots=True)
class FittedRouter:
    """A fit's artifact document and the cross-validation that calibrated and measured it."""

    document: dict[str, Any]
    """The artifact document (JSON-ready)."""
    held_out: Predictions
    """The out-of-fold predictions: what :func:`cross_validate` gives with the same folds and recipe."""


def fit_with_held_out(
    table: OutcomeTable,
    *,
    recipe: FeatureRecipe | None = None,
    cv_folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    sources: Sequence[str] = (),
) -> FittedRouter:
    """:func:`fit_router`, also returning its out-of-fold predictions, so a caller that evaluates the
    fit need not cross-validate a second time.

    Raises:
        ValueError: fewer requests than folds.
    """
    import numpy as np

    recipe = recipe or FeatureRecipe()
    held_out, logits, matrix = _out_of_fold(table, cv_folds, seed, recipe)
    quality = np.array(table.quality, dtype=float)
    fitted = fit_heads(matrix, quality, seed)
    rows = np.ones(len(table.request_ids), dtype=bool)
    costs = cost_lines(table, rows)
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
    document = {
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
    return FittedRouter(document, held_out)


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
        known = ", ".join(router.models)
        raise ValueError(f"the router does not know model '{unknown[0]}' of the outcomes (it knows {known})")
    quality = np.zeros((len(table.request_ids), len(table.models)))
    cost = np.zeros_like(quality)
    for row, (text, features) in enumerate(zip(table.texts, table.features, strict=True)):
        scores = router.score(text, features)
        for column, model in enumerate(table.models):
            quality[row, column] = scores[model]
            cost[row, column] = router.expected_cost(model, features.prompt_tokens)
    return Predictions(quality, cost)
