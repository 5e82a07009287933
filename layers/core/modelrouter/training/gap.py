"""RouteLLM's two-model metrics (arXiv 2406.18665): how much of the quality gap between a weak and a
strong model a router recovers for a given share of calls to the strong one.

The router is run the way RouteLLM runs its routers: a request goes to the strong model when its score
(here the predicted quality gain, strong - weak) reaches a threshold, and sweeping the threshold gives
one operating point per distinct score. Requests with equal scores move together; between two
operating points the curve is linear (splitting a tie at random, in expectation).

- PGR(s), the *performance gap recovered* with a share ``s`` of strong calls:
  (quality(s) - weak quality) / (strong quality - weak quality).
- CPT(x), the *call-performance threshold*: the smallest share of strong calls whose PGR reaches x.
- APGR, the *average PGR*: the area under PGR(s) for s from 0 to 1 (0.5 for a random router).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["REPORTED_SHARES", "GapRecovery", "gap_recovery"]

REPORTED_SHARES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Shares of strong-model calls at which the report gives the PGR."""
_CPT_LEVELS = (0.5, 0.8)


@dataclass(frozen=True, slots=True)
class GapRecovery:
    """RouteLLM's metrics of a router between two models."""

    strong: str
    """The model with the higher mean quality (the more expensive one on a tie)."""
    weak: str
    """The other model."""
    strong_quality: float
    """Mean quality of always calling the strong model."""
    weak_quality: float
    """Mean quality of always calling the weak model."""
    shares: list[float]
    """Share of strong calls at each operating point (0 … 1, increasing)."""
    pgr: list[float]
    """PGR at each operating point."""
    cpt_50: float | None
    """Share of strong calls needed to recover 50 % of the gap (None if never)."""
    cpt_80: float | None
    """Share of strong calls needed to recover 80 % of the gap (None if never)."""
    apgr: float
    """Average PGR over the share of strong calls from 0 to 1."""

    def pgr_at(self, share: float) -> float:
        """PGR with ``share`` of the calls sent to the strong model."""
        return float(np.interp(share, self.shares, self.pgr))

    def to_json(self) -> dict[str, Any]:
        """The metrics as JSON values (the PGR at :data:`REPORTED_SHARES`, not every point)."""
        return {
            "strong": self.strong,
            "weak": self.weak,
            "strong_quality": self.strong_quality,
            "weak_quality": self.weak_quality,
            "cpt_50": self.cpt_50,
            "cpt_80": self.cpt_80,
            "apgr": self.apgr,
            "pgr_at_share": {f"{share:g}": self.pgr_at(share) for share in REPORTED_SHARES},
        }


def _cpt(shares: NDArray[np.float64], pgr: NDArray[np.float64], level: float) -> float | None:
    reached = np.nonzero(pgr >= level - 1e-12)[0]
    if not len(reached):
        return None
    i = int(reached[0])
    if i == 0:
        return float(shares[0])
    step = (level - pgr[i - 1]) / (pgr[i] - pgr[i - 1])
    return float(shares[i - 1] + min(1.0, max(0.0, step)) * (shares[i] - shares[i - 1]))


def gap_recovery(
    quality: NDArray[np.float64], cost: NDArray[np.float64], predicted: NDArray[np.float64], models: list[str]
) -> GapRecovery | None:
    """RouteLLM's metrics for two models (columns of ``quality``, ``cost`` and ``predicted`` quality).

    None when there are not exactly two models, no requests, or both have the same mean quality (no
    gap to recover).
    """
    if len(models) != 2 or not len(quality):
        return None
    means = quality.mean(axis=0)
    costs = cost.mean(axis=0)
    strong = 0 if (means[0], costs[0]) > (means[1], costs[1]) else 1
    weak = 1 - strong
    gap = float(means[strong] - means[weak])
    if gap <= 0:
        return None
    score = predicted[:, strong] - predicted[:, weak]
    order = np.argsort(-score, kind="mergesort")
    gains = np.concatenate([[0.0], np.cumsum(quality[order, strong] - quality[order, weak])])
    ordered = score[order]
    n = len(score)
    cuts = np.concatenate([[0], np.nonzero(ordered[1:] != ordered[:-1])[0] + 1, [n]])
    shares = cuts / n
    pgr = gains[cuts] / n / gap
    apgr = float(np.sum((shares[1:] - shares[:-1]) * (pgr[1:] + pgr[:-1]) / 2))
    return GapRecovery(
        strong=models[strong],
        weak=models[weak],
        strong_quality=float(means[strong]),
        weak_quality=float(means[weak]),
        shares=[float(s) for s in shares],
        pgr=[float(p) for p in pgr],
        cpt_50=_cpt(shares, pgr, _CPT_LEVELS[0]),
        cpt_80=_cpt(shares, pgr, _CPT_LEVELS[1]),
        apgr=apgr,
    )
