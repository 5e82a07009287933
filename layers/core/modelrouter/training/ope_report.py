"""The report of ``modelrouter policy evaluate``: a table, its JSON and a quality-vs-cost plot.

The plot needs matplotlib (the ``learn`` extra), imported only when a plot is drawn, with the Agg backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrouter.training.ope import Estimate
from modelrouter.training.ope_evaluate import LoggedEstimates, PolicyEstimates

__all__ = ["FIGURE_DPI", "FIGURE_INCHES", "EvaluationReport", "plot_evaluation", "render_evaluation"]

FIGURE_INCHES = (8.0, 5.5)
"""Width and height of the figure."""
FIGURE_DPI = 120
"""Pixels per inch of the PNG."""
_TOP_MODELS = 6
"""Models named in a policy's expected shares (the rest are summed up as others)."""


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """Everything ``policy evaluate`` found."""

    outcomes: str
    """The logged outcomes file(s)."""
    confidence: float
    """Two-sided confidence level of every interval."""
    logged: LoggedEstimates
    """The logging policy's value: the plain means of the logged lines."""
    candidate_source: str
    """Where the candidate policy came from."""
    candidate: PolicyEstimates
    """The candidate's estimates."""
    quality_model: str
    """DR's reward model for quality, in words."""
    cost_model: str
    """DR's reward model for cost, in words."""
    current_source: str | None = None
    """Where the current policy came from, when it was replayed too."""
    current: PolicyEstimates | None = None
    """The current policy's estimates when it was replayed (a check on the logged propensities)."""

    def policies(self) -> list[tuple[str, PolicyEstimates]]:
        """The replayed policies with their labels: the current one (if replayed), then the candidate."""
        rows: list[tuple[str, PolicyEstimates]] = []
        if self.current is not None:
            rows.append((f"current {self.current_source}", self.current))
        rows.append((f"candidate {self.candidate_source}", self.candidate))
        return rows

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON object."""
        return {
            "outcomes": self.outcomes,
            "confidence": self.confidence,
            "quality_model": self.quality_model,
            "cost_model": self.cost_model,
            "logged": {
                "quality": self.logged.quality.as_json(),
                "cost_usd": self.logged.cost.as_json(),
                "models": dict(self.logged.models),
            },
            "candidate": {"source": self.candidate_source, **_policy_json(self.candidate)},
            "current": (
                {"source": self.current_source, **_policy_json(self.current)}
                if self.current is not None
                else None
            ),
        }


def _policy_json(estimates: PolicyEstimates) -> dict[str, Any]:
    return {
        "quality": {"snips": estimates.quality_snips.as_json(), "dr": estimates.quality_dr.as_json()},
        "cost_usd": {"snips": estimates.cost_snips.as_json(), "dr": estimates.cost_dr.as_json()},
        "requests": estimates.requests,
        "refused": dict(estimates.refusals),
        "unlogged_models": dict(estimates.unlogged_models),
        "expected_requests_per_model": dict(estimates.choices),
    }


def _row(label: str, method: str, quality: Estimate, cost: Estimate, width: int) -> str:
    ess = f"{quality.effective_n:,.0f}" if quality.effective_n is not None else f"{quality.n:,}"
    return (
        f"  {label:<{width}} {method:<6} {quality.value:7.4f} [{quality.low:.4f}, {quality.high:.4f}]  "
        f"{cost.value:10.6f} [{cost.low:.6f}, {cost.high:.6f}]  {ess:>7}"
    )


def _counts(counts: Mapping[str, float], unit: str = "") -> str:
    return ", ".join(f"{name} {count:,.0f}{unit}" for name, count in counts.items())


def render_evaluation(report: EvaluationReport) -> str:
    """The report as text: one table of estimates, then each policy's support problems."""
    logged = report.logged
    width = max(len("logged (as served)"), *(len(label) for label, _ in report.policies()))
    lines = [
        f"{logged.quality.n:,} logged requests ({report.outcomes}); {report.confidence:.0%} intervals",
        f"DR reward model: {report.quality_model}; cost model: {report.cost_model}",
        "",
        f"  {'policy':<{width}} {'method':<6} {'quality':>7} {'interval':<16}  {'USD/request':>10} "
        f"{'interval':<20}  {'ESS':>7}",
        _row("logged (as served)", "mean", logged.quality, logged.cost, width),
    ]
    for label, estimates in report.policies():
        lines.append(_row(label, "SNIPS", estimates.quality_snips, estimates.cost_snips, width))
        lines.append(_row("", "DR", estimates.quality_dr, estimates.cost_dr, width))
    lines.append("")
    for label, estimates in report.policies():
        refused = sum(estimates.refusals.values())
        if refused:
            lines.append(
                f"{label}: refuses {refused:,} of {estimates.requests:,} logged requests "
                f"({_counts(estimates.refusals)}); left out of its estimates"
            )
        if estimates.unlogged_models:
            unlogged = _counts(estimates.unlogged_models, " requests")
            lines.append(
                f"{label}: would choose models never logged ({unlogged}): "
                "the estimates cannot see those choices"
            )
        shares = dict(list(estimates.choices.items())[:_TOP_MODELS])
        routed = sum(estimates.choices.values()) or 1.0
        lines.append(
            f"{label}: expected share of routed requests: "
            + ", ".join(f"{model} {count / routed:.1%}" for model, count in shares.items())
        )
    lines.append(
        "intervals: mean: sample variance; SNIPS: delta method (sandwich variance of the ratio); "
        "DR: sample variance of the DR terms"
    )
    return "\n".join(lines)


def plot_evaluation(
    report: EvaluationReport, path: str | Path, *, title: str = "Off-policy evaluation"
) -> Path:
    """Draw quality (y) against cost per request (x), each estimate with its interval bars, as a PNG.

    Raises:
        ImportError: matplotlib is not installed (the ``learn`` extra).
        OSError: the file cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points: list[tuple[str, Estimate, Estimate, str]] = [
        ("logged (mean)", report.logged.quality, report.logged.cost, "o")
    ]
    for label, estimates in report.policies():
        points.append((f"{label} SNIPS", estimates.quality_snips, estimates.cost_snips, "s"))
        points.append((f"{label} DR", estimates.quality_dr, estimates.cost_dr, "D"))
    figure, axes = plt.subplots(figsize=FIGURE_INCHES, dpi=FIGURE_DPI)
    try:
        for label, quality, cost, marker in points:
            axes.errorbar(
                cost.value,
                quality.value,
                xerr=cost.half_width,
                yerr=quality.half_width,
                fmt=marker,
                capsize=4,
                label=label,
            )
        axes.set_xlabel("mean cost per request (USD)")
        axes.set_ylabel("mean quality")
        axes.set_title(f"{title} ({report.confidence:.0%} intervals)")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8, loc="best")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return Path(path)
