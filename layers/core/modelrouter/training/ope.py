"""Off-policy estimators: what a candidate policy's mean quality (or cost) would have been on logged traffic.

Each logged request ``i`` carries the value observed for the model the logging policy chose (``v_i``:
quality, or cost), the probability it chose that model (the propensity ``p_i``), and the probability the
candidate would choose the same model (``t_i``, from replaying the candidate). The importance weight is
``w_i = t_i / p_i``.

- **SNIPS** (self-normalized inverse propensity scoring): ``V = sum(w v) / sum(w)``. Its interval is the
  delta method's (the sandwich variance of a ratio estimator): with ``psi_i = w_i (v_i - V) / mean(w)``,
  ``Var(V) ~ sum(psi^2) / (n (n - 1))``.
- **Doubly robust**: a reward model ``q(x, a)`` gives, per request, the candidate's predicted value
  ``d_i = sum_a t(a|x_i) q(x_i, a)`` and the prediction for the logged model ``q_i``; each request's term
  is ``d_i + w_i (v_i - q_i)`` and ``V`` is their mean; its interval uses the sample variance of the terms
  (``Var(V) = s^2 / n``). Unbiased when either the propensities or the reward model are right.
- **Paired gain**: the difference of two SNIPS estimates on the same requests (``challenger - champion``),
  with the delta method's variance of the difference (the two influence terms are subtracted per request,
  so what the arms share cancels).

Intervals are two-sided normal intervals at ``confidence``. Pure Python (``statistics.NormalDist``): the
Lambda layer and ``policy promote`` need no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, Literal

__all__ = [
    "MIN_PROPENSITY",
    "MIN_REQUESTS",
    "Estimate",
    "EstimatorError",
    "Method",
    "doubly_robust",
    "effective_sample_size",
    "sample_mean",
    "snips",
    "snips_gain",
    "z_value",
]

MIN_REQUESTS = 2
MIN_PROPENSITY = 1e-12
"""Smallest propensity an estimate accepts: its importance weight (up to 1e12) squared and summed stays
far inside a float's range. No router logs a choice it made with a smaller probability."""
"""Fewest requests an interval can be computed from (a variance needs two)."""

Method = Literal["mean", "snips", "dr", "snips_gain"]
"""How an estimate was computed: the plain mean of logged values, SNIPS, doubly robust, a SNIPS gain."""

_INTERVALS: dict[str, str] = {
    "mean": "sample variance of the logged values",
    "snips": "delta method (sandwich variance of the self-normalized ratio)",
    "dr": "sample variance of the doubly robust terms",
    "snips_gain": "delta method on the paired difference of two SNIPS ratios",
}


class EstimatorError(ValueError):
    """The logged requests cannot support an estimate (too few, or none the candidate would route alike)."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its two-sided confidence interval."""

    value: float
    """The estimate."""
    low: float
    """Lower bound of the interval."""
    high: float
    """Upper bound of the interval."""
    confidence: float
    """Two-sided confidence level of the interval."""
    n: int
    """Logged requests the estimate used."""
    method: Method
    """How it was computed."""
    effective_n: float | None = None
    """Importance-weighted estimators: the effective sample size ``sum(w)^2 / sum(w^2)``."""

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2

    def within(self, lowest: float, highest: float = math.inf) -> Estimate:
        """The estimate with its interval clipped to the range the quantity can take (a quality lies in
        [0, 1], a cost is at least 0): a normal interval near a bound can reach past it."""
        return replace(self, low=max(self.low, lowest), high=min(self.high, highest))

    @property
    def interval_method(self) -> str:
        """How the interval was computed, in words."""
        return _INTERVALS[self.method]

    def as_json(self) -> dict[str, Any]:
        """The estimate as a JSON object."""
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "half_width": self.half_width,
            "confidence": self.confidence,
            "n": self.n,
            "method": self.method,
            "interval": self.interval_method,
            "effective_n": self.effective_n,
        }


def z_value(confidence: float) -> float:
    """The standard normal quantile of a two-sided interval at ``confidence`` (1.96 at 0.95).

    Raises:
        ValueError: ``confidence`` is not within (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def effective_sample_size(weights: Sequence[float]) -> float:
    """Kish's effective sample size of importance weights: ``sum(w)^2 / sum(w^2)`` (0 without weight)."""
    squares = math.fsum(w * w for w in weights)
    return math.fsum(weights) ** 2 / squares if squares > 0 else 0.0


def _interval(
    value: float, variance: float, n: int, *, confidence: float, method: Method, ess: float | None = None
) -> Estimate:
    half = z_value(confidence) * math.sqrt(max(variance, 0.0))
    return Estimate(value, value - half, value + half, confidence, n, method, ess)


def _check_lengths(n: int, *columns: Sequence[float]) -> None:
    if any(len(column) != n for column in columns):
        raise ValueError("every column must have one entry per logged request")
    if n < MIN_REQUESTS:
        raise EstimatorError(f"{n} logged request(s): an interval needs at least {MIN_REQUESTS}")


def _weights(propensities: Sequence[float], targets: Sequence[float]) -> list[float]:
    if any(not MIN_PROPENSITY <= p <= 1.0 for p in propensities):
        raise ValueError(f"propensities must be within (0, 1], and at least {MIN_PROPENSITY:g}")
    return [t / p for t, p in zip(targets, propensities, strict=True)]


def sample_mean(values: Sequence[float], *, confidence: float = 0.95) -> Estimate:
    """The plain mean of ``values`` (the logging policy's own value) with its normal interval.

    Raises:
        EstimatorError: fewer than :data:`MIN_REQUESTS` values.
    """
    n = len(values)
    _check_lengths(n)
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1) / n
    return _interval(mean, variance, n, confidence=confidence, method="mean")


def _snips_parts(values: Sequence[float], weights: Sequence[float]) -> tuple[float, list[float], float]:
    """SNIPS value, its per-request influence terms and the effective sample size."""
    total = math.fsum(weights)
    if total <= 0:
        raise EstimatorError(
            "the candidate would choose the logged model on none of the logged requests (no support)"
        )
    n = len(values)
    value = math.fsum(w * v for w, v in zip(weights, values, strict=True)) / total
    mean_weight = total / n
    influence = [w * (v - value) / mean_weight for w, v in zip(weights, values, strict=True)]
    return value, influence, effective_sample_size(weights)


def snips(
    values: Sequence[float],
    propensities: Sequence[float],
    targets: Sequence[float],
    *,
    confidence: float = 0.95,
) -> Estimate:
    """Self-normalized IPS estimate of the candidate's mean value, with the delta method's interval.

    Raises:
        EstimatorError: fewer than :data:`MIN_REQUESTS` requests, or no request where the candidate
            would choose the logged model.
        ValueError: columns of different lengths, or a propensity outside (0, 1].
    """
    n = len(values)
    _check_lengths(n, propensities, targets)
    value, influence, ess = _snips_parts(values, _weights(propensities, targets))
    variance = math.fsum(psi * psi for psi in influence) / (n * (n - 1))
    return _interval(value, variance, n, confidence=confidence, method="snips", ess=ess)


def doubly_robust(
    values: Sequence[float],
    propensities: Sequence[float],
    targets: Sequence[float],
    predicted: Sequence[float],
    direct: Sequence[float],
    *,
    confidence: float = 0.95,
) -> Estimate:
    """Doubly robust estimate of the candidate's mean value.

    ``predicted[i]`` is the reward model's value for the logged model of request ``i``; ``direct[i]`` the
    reward model's value of the candidate's choice on it (``sum_a t(a|x_i) q(x_i, a)``).

    Raises:
        EstimatorError: fewer than :data:`MIN_REQUESTS` requests.
        ValueError: columns of different lengths, or a propensity outside (0, 1].
    """
    n = len(values)
    _check_lengths(n, propensities, targets, predicted, direct)
    weights = _weights(propensities, targets)
    terms = [d + w * (v - q) for d, w, v, q in zip(direct, weights, values, predicted, strict=True)]
    mean = math.fsum(terms) / n
    variance = math.fsum((term - mean) ** 2 for term in terms) / (n - 1) / n
    return _interval(
        mean, variance, n, confidence=confidence, method="dr", ess=effective_sample_size(weights)
    )


def snips_gain(
    values: Sequence[float],
    propensities: Sequence[float],
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    confidence: float = 0.95,
) -> Estimate:
    """SNIPS of ``candidate`` minus SNIPS of ``baseline`` on the same requests, with the paired interval.

    ``baseline`` and ``candidate`` are each policy's probability of choosing the logged model. The
    effective sample size reported is the smaller of the two arms'.

    Raises:
        EstimatorError: fewer than :data:`MIN_REQUESTS` requests, or an arm with no support.
        ValueError: columns of different lengths, or a propensity outside (0, 1].
    """
    n = len(values)
    _check_lengths(n, propensities, baseline, candidate)
    base_value, base_influence, base_ess = _snips_parts(values, _weights(propensities, baseline))
    cand_value, cand_influence, cand_ess = _snips_parts(values, _weights(propensities, candidate))
    paired = [c - b for c, b in zip(cand_influence, base_influence, strict=True)]
    variance = math.fsum(psi * psi for psi in paired) / (n * (n - 1))
    ess = min(base_ess, cand_ess)
    return _interval(
        cand_value - base_value, variance, n, confidence=confidence, method="snips_gain", ess=ess
    )
