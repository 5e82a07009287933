"""Readable text of ``learn fit`` and ``learn evaluate``: the fit's cross-validated metrics, and an
evaluation's AIQ, cost shares, prediction scores and RouteLLM metrics, overall and per tag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelrouter.cli.render import table

if TYPE_CHECKING:
    from modelrouter.learned import LearnedRouter
    from modelrouter.training.report import EvaluationReport, SliceReport

__all__ = ["render_evaluation", "render_fit"]


def _number(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


def _share(value: float | None) -> str:
    return "never" if value is None else f"{value:.1%}"


def render_fit(router: LearnedRouter, path: str, size: int) -> str:
    """What ``learn fit`` prints: the artifact written and each model's cross-validated metrics."""
    training = router.document.get("training", {})
    metrics = router.metrics
    per_model = metrics.get("models", {})
    rows = [
        (
            model,
            f"{per_model.get(model, {}).get('requests', 0):,}",
            _number(per_model.get(model, {}).get("mean_quality")),
            _number(per_model.get(model, {}).get("auc")),
            _number(per_model.get(model, {}).get("brier")),
            _number(per_model.get(model, {}).get("calibration_error")),
        )
        for model in router.models
    ]
    header = (
        f"wrote {path}: {size:,} bytes, {len(router.models)} models, "
        f"{training.get('requests', 0):,} requests, {training.get('observations', 0):,} observations"
    )
    folds = metrics.get("cv_folds", "?")
    return "\n".join(
        [
            header,
            f"sha256: {router.digest.removeprefix('sha256:')}  (a policy pins it as learned.sha256)",
            f"cross-validated ({folds} folds; out-of-fold predictions, success = quality ≥ 0.5):",
            table(["model", "requests", "mean quality", "AUC", "Brier", "calibration error"], rows),
        ]
    )


def _aiq_rows(slices: list[SliceReport]) -> list[tuple[object, ...]]:
    return [
        (
            part.name,
            f"{part.requests:,}",
            _number(part.router.aiq),
            _number(part.zero_router.aiq),
            f"{part.router.aiq - part.zero_router.aiq:+.3f}",
            _number(part.oracle_curve.aiq),
        )
        for part in slices
    ]


def _share_rows(slices: list[SliceReport]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for part in slices:
        cells = [
            f"{_share(part.router.cost_shares[level])} | {_share(part.zero_router.cost_shares[level])}"
            for level in part.router.cost_shares
        ]
        rows.append((part.name, part.best_model, *cells))
    return rows


def _auc_table(report: EvaluationReport) -> str:
    slices = report.slices()
    by_slice = {part.name: {m.model: m.auc for m in part.models} for part in slices}
    if len(slices) > len(report.models):  # many tags: one row per tag
        rows = [(name, *(_number(aucs[m]) for m in report.models)) for name, aucs in by_slice.items()]
        return table(["slice", *report.models], rows)
    rows = [(model, *(_number(by_slice[p.name][model]) for p in slices)) for model in report.models]
    return table(["model", *(p.name for p in slices)], rows)


def render_evaluation(report: EvaluationReport, how: str) -> str:
    """What ``learn evaluate`` prints."""
    slices = report.slices()
    overall = report.overall
    levels = [f"{level} %" for level in overall.router.cost_shares]
    model_rows = [
        (
            m.model,
            _number(m.point.quality),
            f"${m.point.cost:.6f}",
            _number(m.auc),
            _number(m.brier),
            _number(m.ece),
        )
        for m in overall.models
    ]
    lines = [
        f"{overall.requests:,} requests × {len(report.models)} models; predictions from {how}",
        "",
        "AIQ: area under the non-decreasing cost–quality hull over the single models' cost range, normalised",
        table(["slice", "requests", "router", "zero router", "gain", "oracle"], _aiq_rows(slices)),
        "",
        "cheapest cost reaching a share of the best single model's quality, as a share of its cost"
        " (router | zero router):",
        table(["slice", "best model", *levels], _share_rows(slices)),
        "",
        "predicted quality per model, all requests (AUC: success = quality ≥ 0.5; ECE: 10 bins):",
        table(["model", "mean quality", "mean cost", "AUC", "Brier", "ECE"], model_rows),
        "",
        "AUC per model and slice:",
        _auc_table(report),
    ]
    gaps = [(part.name, part.gap) for part in slices if part.gap is not None]
    if gaps:
        rows = [
            (name, gap.strong, gap.weak, _share(gap.cpt_50), _share(gap.cpt_80), _number(gap.apgr))
            for name, gap in gaps
        ]
        lines += [
            "",
            "RouteLLM metrics (share of calls to the strong model; threshold on predicted strong - weak):",
            table(["slice", "strong", "weak", "CPT(50 %)", "CPT(80 %)", "APGR"], rows),
        ]
    return "\n".join(lines)
