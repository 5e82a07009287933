"""The chi-square distribution and Fisher's exact test, in pure Python (the Lambda layer has no scipy).

* :func:`chi2_sf` is ``P(X >= x)`` for ``X ~ χ²(df)``: the regularized upper incomplete gamma function
  ``Q(df/2, x/2)``, by its power series below ``a + 1`` and its continued fraction (modified Lentz)
  above, as in Numerical Recipes §6.2; ``df = 1`` and ``df = 2`` use their closed forms.
* :func:`chi2_isf` is its inverse (the critical value at a level), by bisection.
* :func:`fisher_exact` is the two-sided p-value of a 2×2 table: the sum of the hypergeometric
  probabilities of every table with the same margins that is no more likely than the observed one
  (scipy's definition, with the same relative tolerance).

Accuracy: about 1e-12 relative against scipy over df 1–50 (``tests/unit/test_drift_chisquare.py``).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["MAX_STATISTIC", "chi2_isf", "chi2_sf", "fisher_exact"]

MAX_STATISTIC: Final = 1e6
"""Statistics are capped here (a certain change, such as two constant costs that differ, is infinite)."""
_EPSILON: Final = 1e-15
"""Relative size of the last term a series or continued fraction adds before it stops."""
_MAX_TERMS: Final = 100_000
"""Terms a series or continued fraction may take at most (they converge in far fewer)."""
_TINY: Final = 1e-300
"""Lentz's guard against a zero denominator."""
_BISECTIONS: Final = 200
"""Halvings of the bracket in :func:`chi2_isf` (each halves it; 200 exhaust a double)."""
_FISHER_TOLERANCE: Final = 1 + 1e-7
"""A table counts as no more likely than the observed one within this relative tolerance (scipy's)."""


def _series_p(a: float, x: float) -> float:
    """Regularized lower incomplete gamma ``P(a, x)`` by its series (converges fast for ``x < a + 1``)."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_TERMS):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPSILON:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _fraction_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma ``Q(a, x)`` by its continued fraction (for ``x >= a + 1``)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPSILON:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(statistic: float, df: int) -> float:
    """``P(X >= statistic)`` for ``X ~ χ²(df)``: the p-value of a chi-square statistic.

    Raises:
        ValueError: ``df`` is below 1, or the statistic is not a number.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df}")
    if math.isnan(statistic):
        raise ValueError("the statistic is not a number")
    if statistic <= 0.0:
        return 1.0
    if math.isinf(statistic):
        return 0.0
    if df == 1:
        return math.erfc(math.sqrt(statistic / 2.0))
    if df == 2:
        return math.exp(-statistic / 2.0)
    a, x = df / 2.0, statistic / 2.0
    if x <= 0.0:  # a subnormal statistic halves to zero
        return 1.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _series_p(a, x))
    return min(1.0, _fraction_q(a, x))


def chi2_isf(p_value: float, df: int) -> float:
    """The statistic whose :func:`chi2_sf` is ``p_value``: the critical value at level ``p_value``.

    Raises:
        ValueError: ``p_value`` is not in (0, 1), or ``df`` is below 1.
    """
    if not 0.0 < p_value < 1.0:
        raise ValueError(f"a level must be in (0, 1), not {p_value}")
    low, high = 0.0, float(max(df, 1))
    while chi2_sf(high, df) > p_value:
        low, high = high, high * 2.0
        if high > MAX_STATISTIC:
            return MAX_STATISTIC
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if chi2_sf(middle, df) > p_value:
            low = middle
        else:
            high = middle
    return high


def _log_hypergeometric(k: int, row: int, column: int, total: int) -> float:
    """Log-probability of ``k`` in the first cell of a 2×2 table with these margins."""

    def log_choose(n: int, r: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)

    return log_choose(column, k) + log_choose(total - column, row - k) - log_choose(total, row)


def fisher_exact(table: tuple[tuple[int, int], tuple[int, int]]) -> float:
    """Two-sided p-value of Fisher's exact test on ``((a, b), (c, d))`` (rows: the two windows).

    Raises:
        ValueError: a count is negative.
    """
    (a, b), (c, d) = table
    if min(a, b, c, d) < 0:
        raise ValueError(f"counts must not be negative: {table}")
    if a + b > c + d:  # the test is the same for swapped rows or columns; the smaller margins first
        (a, b), (c, d) = (c, d), (a, b)  # make the loop below as short as it can be
    if a + c > b + d:
        a, b, c, d = b, a, d, c
    row, column, total = a + b, a + c, a + b + c + d
    if row in (0, total) or column in (0, total):
        return 1.0
    observed = _log_hypergeometric(a, row, column, total)
    relative = 0.0
    for k in range(max(0, row + column - total), min(row, column) + 1):
        difference = _log_hypergeometric(k, row, column, total) - observed
        if difference <= math.log(_FISHER_TOLERANCE):
            relative += math.exp(difference)
    return min(1.0, math.exp(observed) * relative)
