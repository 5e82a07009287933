"""Cost–quality curves: the non-decreasing upper convex hull of (cost, quality) points, its area (AIQ)
and the cheapest cost at which it reaches a quality.

A router's operating points can be mixed: sending each request to point A with probability p and to
point B otherwise lands, in expectation, on the segment between them. So every point under the upper
convex hull of a set of operating points is reachable, and paying more never has to lower quality: the
curve is *non-decreasing* (past its best point it stays flat). Below its cheapest point it is undefined
and counts as quality 0. The normalised area under it over a cost range is RouterBench's AIQ (average
improvement in quality, arXiv 2403.12031).

Pure Python (no numpy), so it is cheap to test and to use from anywhere.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from typing import NamedTuple

__all__ = ["Point", "aiq", "cheapest_cost_reaching", "hull_quality_at", "upper_hull"]

QUALITY_TOLERANCE = 1e-12
"""A hull "reaches" a quality that it misses by at most this much (float sums in another order)."""


class Point(NamedTuple):
    """One operating point: mean cost per request (USD) and mean quality."""

    cost: float
    """Mean cost per request, USD."""
    quality: float
    """Mean quality, 0 to 1."""


def _turns_left_or_straight(o: Point, a: Point, b: Point) -> bool:
    """Whether o → a → b does not turn right, i.e. ``a`` is on or below the chord o–b."""
    return (a.cost - o.cost) * (b.quality - o.quality) - (a.quality - o.quality) * (b.cost - o.cost) >= 0


def upper_hull(points: Iterable[tuple[float, float]]) -> list[Point]:
    """The vertices of the non-decreasing upper convex hull of ``points``, by increasing cost.

    Starts at the cheapest point (the best of the cheapest, when several cost the same) and ends at the
    cheapest point of highest quality; quality strictly increases and slopes strictly decrease along it.
    An empty input gives an empty hull.
    """
    ordered = sorted((Point(float(c), float(q)) for c, q in points), key=lambda p: (p.cost, -p.quality))
    hull: list[Point] = []
    for point in ordered:
        if hull and point.cost == hull[-1].cost:
            continue  # same cost, no better (sorted best first)
        while len(hull) >= 2 and _turns_left_or_straight(hull[-2], hull[-1], point):
            hull.pop()
        hull.append(point)
    if not hull:
        return hull
    best = max(range(len(hull)), key=lambda i: (hull[i].quality, -i))
    return hull[: best + 1]


def hull_quality_at(hull: Sequence[Point], cost: float) -> float:
    """The curve's quality at ``cost``: 0 below the hull's cheapest point, flat after its last."""
    if not hull or cost < hull[0].cost:
        return 0.0
    if cost >= hull[-1].cost:
        return hull[-1].quality
    i = bisect.bisect_right([p.cost for p in hull], cost)
    left, right = hull[i - 1], hull[i]
    share = (cost - left.cost) / (right.cost - left.cost)
    return left.quality + share * (right.quality - left.quality)


def aiq(points: Iterable[tuple[float, float]], c_min: float, c_max: float) -> float:
    """Area under the non-decreasing upper convex hull of ``points`` over ``[c_min, c_max]``, divided
    by ``c_max - c_min`` (the hull's quality at ``c_min`` when the range is a single cost).

    Raises:
        ValueError: ``c_max < c_min``.
    """
    if c_max < c_min:
        raise ValueError(f"empty cost range [{c_min}, {c_max}]")
    hull = upper_hull(points)
    if c_max == c_min:
        return hull_quality_at(hull, c_min)
    inner = [p.cost for p in hull if c_min < p.cost < c_max]
    stops = [c_min, *inner, c_max]
    area = 0.0
    for a, b in itertools.pairwise(stops):
        if not hull or b <= hull[0].cost:
            continue  # the curve is 0 left of its first point (which is a stop when inside the range)
        area += (b - a) * (hull_quality_at(hull, a) + hull_quality_at(hull, b)) / 2
    return area / (c_max - c_min)


def cheapest_cost_reaching(hull: Sequence[Point], quality: float) -> float | None:
    """The lowest cost at which the curve reaches ``quality`` (None when it never does)."""
    target = quality - QUALITY_TOLERANCE
    for i, point in enumerate(hull):
        if point.quality >= target:
            if i == 0:
                return point.cost
            left = hull[i - 1]
            share = min(1.0, max(0.0, (quality - left.quality) / (point.quality - left.quality)))
            return left.cost + share * (point.cost - left.cost)
    return None
