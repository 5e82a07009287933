"""How good a model's predicted quality is: AUC, Brier score and expected calibration error."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CALIBRATION_BINS", "auc", "brier", "calibration_error"]

CALIBRATION_BINS = 10
"""Equal-width bins of predicted quality for the expected calibration error."""


def auc(predicted: np.ndarray, quality: np.ndarray) -> float | None:
    """Area under the ROC curve for telling success (quality ≥ 0.5) from failure; ``None`` with one
    class only. Ties count half (the Mann–Whitney statistic)."""
    import numpy as np
    from scipy.stats import rankdata

    keep = ~np.isnan(quality)
    success = quality[keep] >= 0.5
    positives, negatives = int(success.sum()), int((~success).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(predicted[keep])
    return float((ranks[success].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def brier(predicted: np.ndarray, quality: np.ndarray) -> float:
    """Mean squared error between predicted and observed quality."""
    import numpy as np

    keep = ~np.isnan(quality)
    return float(np.mean((predicted[keep] - quality[keep]) ** 2))


def calibration_error(predicted: np.ndarray, quality: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: |mean predicted - mean observed| per equal-width bin, weighted by
    the bin's share of predictions."""
    import numpy as np

    keep = ~np.isnan(quality)
    p, q = predicted[keep], quality[keep]
    if p.size == 0:
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.mean() * abs(p[members].mean() - q[members].mean())
    return float(total)
