"""A PNG of an evaluation: cost (x) against quality (y) for the router's λ sweep and its hull, the zero
router's hull, every single model, the oracle point and the oracle curve.

matplotlib is imported only when a plot is drawn (the ``learn`` extra), with the Agg backend, so no
display is needed.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrouter.training.hull import Point
from modelrouter.training.report import OVERALL, EvaluationReport, SliceReport

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["FIGURE_DPI", "FIGURE_INCHES", "plot_report"]

FIGURE_INCHES = (9.0, 6.0)
"""Width and height of the figure."""
FIGURE_DPI = 120
"""Pixels per inch of the PNG."""
_SEGMENT_STEPS = 40
"""Points drawn along each hull segment, so straight mixes read right on a log cost axis."""
_LABEL_POINTS = 8
"""Font size of the models' names."""


def _hull_line(hull: Sequence[Point], last_cost: float) -> tuple[list[float], list[float]]:
    """The hull as a polyline (densified between vertices), flat from its best point to ``last_cost``."""
    xs: list[float] = []
    ys: list[float] = []
    for a, b in itertools.pairwise(hull):
        for step in range(_SEGMENT_STEPS):
            share = step / _SEGMENT_STEPS
            xs.append(a.cost + share * (b.cost - a.cost))
            ys.append(a.quality + share * (b.quality - a.quality))
    if hull:
        xs.append(hull[-1].cost)
        ys.append(hull[-1].quality)
        if last_cost > hull[-1].cost:
            xs.append(last_cost)
            ys.append(hull[-1].quality)
    return xs, ys


def _slice(report: EvaluationReport, name: str) -> SliceReport:
    if name == OVERALL:
        return report.overall
    if name not in report.by_tag:
        raise ValueError(f"no tag '{name}' in the report (tags: {', '.join(report.by_tag) or 'none'})")
    return report.by_tag[name]


def plot_report(
    report: EvaluationReport, path: str | Path, *, slice_name: str = OVERALL, title: str = "Learned router"
) -> Path:
    """Draw one slice of ``report`` (``all`` or a tag) as a PNG at ``path``; returns the path.

    Raises:
        ValueError: an unknown tag.
        OSError: the file cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    part = _slice(report, slice_name)
    points = list(part.router.points) + [m.point for m in part.models] + [part.oracle]
    log_x = all(p.cost > 0 for p in points + part.oracle_curve.points)
    right = max(p.cost for p in points)
    figure, axes = plt.subplots(figsize=FIGURE_INCHES, dpi=FIGURE_DPI)
    try:
        axes.plot(
            *_hull_line(part.oracle_curve.hull, right), ":", color="#2ca02c", lw=1.2, label="oracle curve"
        )
        axes.plot(
            *_hull_line(part.zero_router.hull, right),
            "--",
            color="#7f7f7f",
            lw=1.6,
            label=f"zero router (hull of single models), AIQ {part.zero_router.aiq:.3f}",
        )
        sweep = sorted(set(part.router.points))
        axes.plot(
            [p.cost for p in sweep],
            [p.quality for p in sweep],
            ".",
            color="#1f77b4",
            alpha=0.55,
            ms=5,
            label="router, one point per λ",
        )
        axes.plot(
            *_hull_line(part.router.hull, right),
            "-",
            color="#1f77b4",
            lw=2.2,
            label=f"router hull, AIQ {part.router.aiq:.3f}",
        )
        axes.scatter(
            [m.point.cost for m in part.models],
            [m.point.quality for m in part.models],
            color="#d62728",
            s=28,
            zorder=5,
            label="single models",
        )
        axes.scatter(*part.oracle, marker="*", s=180, color="#2ca02c", zorder=6, label="oracle")
        _decorate(axes, part, title, log_x)
        figure.tight_layout()
        _label_models(axes, part)
        target = Path(path)
        figure.savefig(target)
    finally:
        plt.close(figure)
    return target


def _label_models(axes: Any, part: SliceReport) -> None:
    """Name each single model beside its point, where the name covers no other name or point."""
    pixels = FIGURE_DPI / 72
    frame = axes.get_window_extent()
    to_display = axes.transData.transform
    obstacles = [tuple(to_display(p)) for p in [m.point for m in part.models] + [part.oracle]]
    placed: list[tuple[float, float, float, float]] = []
    height = _LABEL_POINTS * 1.3 * pixels
    for model in sorted(part.models, key=lambda m: m.point):
        x, y = to_display(model.point)
        width = len(model.model) * _LABEL_POINTS * 0.55 * pixels
        options = []
        for dy in (3 * pixels, -height - 3 * pixels, height + 6 * pixels, -2 * height - 6 * pixels):
            options += [(6 * pixels, dy, x + 6 * pixels), (-6 * pixels, dy, x - 6 * pixels - width)]
        chosen = options[0]
        for option in options:
            left, bottom = option[2], y + option[1]
            box = (left, bottom, left + width, bottom + height)
            inside = frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1] and box[3] <= frame.y1
            if (
                inside
                and not any(_overlap(box, other) for other in placed)
                and not any(
                    box[0] - 4 <= ox <= box[2] + 4 and box[1] - 4 <= oy <= box[3] + 4 for ox, oy in obstacles
                )
            ):
                chosen = option
                break
        left, bottom = chosen[2], y + chosen[1]
        placed.append((left, bottom, left + width, bottom + height))
        axes.annotate(
            model.model,
            model.point,
            xytext=(chosen[0] / pixels, chosen[1] / pixels),
            textcoords="offset points",
            ha="left" if chosen[0] > 0 else "right",
            va="bottom",
            fontsize=_LABEL_POINTS,
            color="#5a1010",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75},
            zorder=7,
        )


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _decorate(axes: Any, part: SliceReport, title: str, log_x: bool) -> None:
    reach = ", ".join(f"{level} % → {_share(value)}" for level, value in part.router.cost_shares.items())
    where = "all requests" if part.name == OVERALL else f"tag '{part.name}'"
    axes.set_title(
        f"{title}: {where} ({part.requests:,} requests)\n"
        f"router's cost, as a share of {part.best_model}'s, to reach its quality: {reach}",
        fontsize=10,
    )
    if log_x:
        axes.set_xscale("log")
    axes.set_xlabel("mean cost per request, USD" + (" (log scale)" if log_x else ""))
    axes.set_ylabel("mean quality (0 to 1)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, fontsize=8, frameon=False)


def _share(value: float | None) -> str:
    return "never" if value is None else f"{value:.0%}"
