"""Compare a recent window with a baseline: every test, one Bonferroni level, the report.

Per routing group (route × language × band): the shares of the chosen models (:func:`homogeneity`).
Per segment (route × model × language × band): fallback, retry and check-failure rates (each a 2 × 2
:func:`homogeneity`), feedback quality (over the feedback bins) and spend per successful request (over
outcome × cost bins: a change of either moves it). A group or segment with fewer than ``min_records``
requests in a window is skipped as thin; quality and cost need ``min_rated`` and ``min_successes`` of
their own.

With ``m`` tests run, each is held to ``family_alpha / m``, so that the chance of reporting any drift on
unshifted traffic is at most ``family_alpha``. A test past its level is reported when its change is at
least the metric's minimum too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final

from modelrouter.drift.aggregate import SegmentCounts, WindowStats
from modelrouter.drift.chisquare import MAX_STATISTIC, chi2_isf
from modelrouter.drift.contingency import Evidence, homogeneity
from modelrouter.drift.report import (
    ANY_MODEL,
    DriftFinding,
    DriftMetric,
    DriftReport,
    RouteSummary,
    SegmentRef,
    SkippedSegment,
    WindowSummary,
)
from modelrouter.drift.thresholds import DriftThresholds
from modelrouter.drift.windows import DriftWindows, Window

__all__ = ["MAX_LISTED_SKIPPED", "detect_drift"]

MAX_LISTED_SKIPPED: Final = 100
"""Thin segments listed in a report at most (all are counted)."""
_ROUNDING: Final = 1e-12
"""A change equal to its minimum up to rounding (0.06 - 0.05 < 0.01 in floats) is reported."""
_RATES: Final = (
    (DriftMetric.FALLBACK_RATE, "fallbacks"),
    (DriftMetric.RETRY_RATE, "retries"),
    (DriftMetric.CHECK_FAILURE_RATE, "check_failures"),
)


@dataclass(frozen=True, slots=True)
class _Test:
    """A test run, before the level is known."""

    segment: SegmentRef
    metric: DriftMetric
    evidence: Evidence
    baseline: float
    recent: float
    counts: tuple[int, int]
    change: float
    detail: str | None = None


def _routing_test(ref: SegmentRef, before: Counter[str], after: Counter[str]) -> _Test | None:
    evidence = homogeneity(before, after)
    if evidence is None:
        return None
    total_before, total_after = before.total(), after.total()
    shares = {m: (before[m] / total_before, after[m] / total_after) for m in sorted(before | after)}
    model, (share_before, share_after) = max(shares.items(), key=lambda item: abs(item[1][1] - item[1][0]))
    distance = sum(abs(new - old) for old, new in shares.values()) / 2.0
    counts = (total_before, total_after)
    return _Test(ref, DriftMetric.ROUTING_SHARE, evidence, share_before, share_after, counts, distance,
                 f"share of {model}")  # fmt: skip


def _rate_tests(ref: SegmentRef, before: SegmentCounts, after: SegmentCounts) -> list[_Test]:
    tests = []
    for metric, attribute in _RATES:
        events = (getattr(before, attribute), getattr(after, attribute))
        evidence = homogeneity(
            {"yes": events[0], "no": before.records - events[0]},
            {"yes": events[1], "no": after.records - events[1]},
        )
        if evidence is not None:
            rates = events[0] / before.records, events[1] / after.records
            counts = (before.records, after.records)
            tests.append(_Test(ref, metric, evidence, *rates, counts, rates[1] - rates[0]))
    return tests


def _quality_test(ref: SegmentRef, before: SegmentCounts, after: SegmentCounts) -> _Test | None:
    evidence = homogeneity(before.feedback, after.feedback)
    if evidence is None:
        return None
    means = before.feedback_sum / before.rated, after.feedback_sum / after.rated
    counts = (before.rated, after.rated)
    return _Test(ref, DriftMetric.FEEDBACK_QUALITY, evidence, *means, counts, means[1] - means[0])


def _cost_test(ref: SegmentRef, before: SegmentCounts, after: SegmentCounts) -> _Test | None:
    old, new = before.cost_per_success, after.cost_per_success
    evidence = homogeneity(before.cost_bins, after.cost_bins)
    if evidence is None or old is None or new is None:
        return None
    change = (new - old) / old if old > 0.0 else (0.0 if new == 0.0 else MAX_STATISTIC)  # relative
    counts = (before.successes, after.successes)
    return _Test(ref, DriftMetric.COST_PER_SUCCESS, evidence, old, new, counts, change)


def _min_change(metric: DriftMetric, thresholds: DriftThresholds) -> float:
    if metric is DriftMetric.ROUTING_SHARE:
        return thresholds.min_share_change
    if metric is DriftMetric.FEEDBACK_QUALITY:
        return thresholds.min_quality_change
    if metric is DriftMetric.COST_PER_SUCCESS:
        return thresholds.min_cost_change
    return thresholds.min_rate_change


@dataclass
class _Plan:
    """The tests of a run, and the segments compared and skipped."""

    tests: list[_Test]
    compared: int
    skipped: list[SkippedSegment]


def _plan(baseline: WindowStats, recent: WindowStats, thresholds: DriftThresholds) -> _Plan:
    plan = _Plan([], 0, [])
    least = thresholds.min_records

    def thin(ref: SegmentRef, counts: tuple[int, int]) -> bool:
        if min(counts) >= least:
            plan.compared += 1
            return False
        plan.skipped.append(SkippedSegment(segment=ref, baseline_records=counts[0], recent_records=counts[1]))
        return True

    before_groups, after_groups = baseline.routing(), recent.routing()
    for route, language, band in sorted(before_groups.keys() | after_groups.keys()):
        before = before_groups.get((route, language, band), Counter())
        after = after_groups.get((route, language, band), Counter())
        ref = SegmentRef(route=route, model=ANY_MODEL, language=language, band=band)
        if not thin(ref, (before.total(), after.total())):
            routing = _routing_test(ref, before, after)
            plan.tests.extend([routing] if routing is not None else [])
    for segment in sorted(baseline.segments.keys() | recent.segments.keys()):
        old = baseline.segments.get(segment) or SegmentCounts()
        new = recent.segments.get(segment) or SegmentCounts()
        ref = SegmentRef(
            route=segment.route, model=segment.model, language=segment.language, band=segment.band
        )
        if thin(ref, (old.records, new.records)):
            continue
        plan.tests.extend(_rate_tests(ref, old, new))
        if min(old.rated, new.rated) >= thresholds.min_rated:
            quality = _quality_test(ref, old, new)
            plan.tests.extend([quality] if quality is not None else [])
        if min(old.successes, new.successes) >= thresholds.min_successes:
            cost = _cost_test(ref, old, new)
            plan.tests.extend([cost] if cost is not None else [])
    return plan


def _summary(window: Window, stats: WindowStats) -> WindowSummary:
    skipped = {reason.value: count for reason, count in sorted(stats.skipped.items())}
    return WindowSummary(
        window=window,
        records=stats.records,
        skipped=skipped,
        truncated=stats.truncated,
        queries=stats.queries,
    )


def _routes(recent: WindowStats, tests: list[_Test], findings: list[DriftFinding],
            scores: dict[str, float]) -> list[RouteSummary]:  # fmt: skip
    tested = Counter(test.segment.route for test in tests)
    found = Counter(finding.segment.route for finding in findings)
    summaries = []
    for route in sorted(recent.routes.keys() | tested.keys()):
        spend = recent.routes.get(route)
        summaries.append(
            RouteSummary(
                route=route,
                recent_records=spend.records if spend else 0,
                spend_usd=spend.spend_usd if spend else 0.0,
                successful_outcomes=spend.successes if spend else 0,
                cost_per_successful_outcome=spend.cost_per_successful_outcome if spend else None,
                tests=tested[route],
                findings=found[route],
                drift_score=scores.get(route),
            )
        )
    return summaries


def detect_drift(
    baseline: WindowStats,
    recent: WindowStats,
    windows: DriftWindows,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    """Compare ``recent`` with ``baseline`` (folded from ``windows``) and report every shift past the
    threshold (see the module's docstring)."""
    thresholds = thresholds or DriftThresholds()
    plan = _plan(baseline, recent, thresholds)
    alpha = thresholds.family_alpha / len(plan.tests) if plan.tests else None
    critical: dict[int, float] = {}
    findings: list[tuple[float, DriftFinding]] = []
    scores: dict[str, float] = {}
    for test in plan.tests:
        assert alpha is not None
        evidence = test.evidence
        threshold = critical.setdefault(evidence.df, chi2_isf(alpha, evidence.df))
        score = evidence.statistic / threshold
        scores[test.segment.route] = max(scores.get(test.segment.route, 0.0), score)
        least = _min_change(test.metric, thresholds)
        if evidence.p_value > alpha or abs(test.change) < least - _ROUNDING:
            continue
        finding = DriftFinding(
            segment=test.segment, metric=test.metric, baseline=test.baseline, recent=test.recent,
            baseline_count=test.counts[0], recent_count=test.counts[1], change=test.change, min_change=least,
            statistic=evidence.statistic, df=evidence.df, method=evidence.method, p_value=evidence.p_value,
            alpha=alpha, threshold=threshold, detail=test.detail,
        )  # fmt: skip
        findings.append((score, finding))
    findings.sort(key=lambda item: (item[1].segment.route, -item[0]))
    ordered = [finding for _, finding in findings]
    listed = sorted(plan.skipped, key=lambda skip: (-skip.recent_records, skip.segment.label()))
    return DriftReport(
        baseline=_summary(windows.baseline, baseline),
        recent=_summary(windows.recent, recent),
        thresholds=thresholds,
        segments_compared=plan.compared,
        segments_skipped=len(plan.skipped),
        skipped_segments=listed[:MAX_LISTED_SKIPPED],
        tests=len(plan.tests),
        test_alpha=alpha,
        findings=ordered,
        routes=_routes(recent, plan.tests, ordered, scores),
    )
