"""Drift detection on synthetic traffic: each kind of shift is found where it happened, unshifted traffic
is reported as drifted in at most 5 % of runs, thin segments are skipped, and hostile records are counted
as skipped, never raised on.

``python -m tests.unit.test_drift_detect [WINDOWS]`` prints the false-positive rate over more windows.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.drift_traffic import Traffic, records, shifted

from modelrouter.drift import (
    DriftMetric,
    DriftReport,
    DriftThresholds,
    DriftWindows,
    SkipReason,
    WindowStats,
    detect_drift,
    observe,
)
from modelrouter.drift.aggregate import Segment, SegmentCounts
from modelrouter.drift.thresholds import FAMILY_ALPHA

WINDOWS = DriftWindows.ending(datetime(2026, 3, 2, 12, tzinfo=UTC))
BASELINE_RECORDS = 6_000
"""Records in a generated baseline window (the 24 h window holds more than the recent hour)."""
RECENT_RECORDS = 1_500
"""Records in a generated recent window."""
RUNS = 50
"""Seeded unshifted windows the false-positive rate is measured over."""
BASE = Traffic()
SHIFTS = {
    DriftMetric.ROUTING_SHARE: shifted(
        BASE, "support", routes={**BASE.routes, "support": {"small": 0.45, "large": 0.55}}
    ),
    DriftMetric.FALLBACK_RATE: shifted(BASE, "support", fallback=0.20),
    DriftMetric.COST_PER_SUCCESS: shifted(BASE, "support", cost={**BASE.cost, "small": 0.0015}),
    DriftMetric.FEEDBACK_QUALITY: shifted(BASE, "support", good=0.45),
}
ALSO_MOVED = {DriftMetric.FEEDBACK_QUALITY: {DriftMetric.COST_PER_SUCCESS}}
"""Metrics a shift moves too: a request rated bad is no successful outcome, so its cost per success rises."""


def run(baseline: Traffic, recent: Traffic, seed: int) -> DriftReport:
    """One comparison of generated windows (baseline and recent drawn with their own seeds)."""
    before = WindowStats.of(records(baseline, BASELINE_RECORDS, 2 * seed))
    after = WindowStats.of(records(recent, RECENT_RECORDS, 2 * seed + 1))
    return detect_drift(before, after, WINDOWS)


def false_positive_rate(runs: int, first_seed: int = 1_000) -> tuple[float, Counter[str]]:
    """Share of runs on unshifted traffic that report any drift, and the metrics they reported."""
    reported: Counter[str] = Counter()
    drifted = 0
    for seed in range(first_seed, first_seed + runs):
        report = run(BASE, BASE, seed)
        drifted += report.drifted
        reported.update(finding.metric.value for finding in report.findings)
    return drifted / runs, reported


def test_unshifted_traffic_is_reported_as_drifted_in_at_most_5_percent_of_runs() -> None:
    # Given 50 seeded pairs of windows drawn from the same traffic
    # When each pair is compared
    rate, reported = false_positive_rate(RUNS)
    print(f"\nfalse-positive rate over {RUNS} unshifted windows: {rate:.1%} {dict(reported)}")
    # Then at most 5 % of the runs report any drift
    assert rate <= 0.05


@pytest.mark.parametrize("metric", list(SHIFTS), ids=str)
def test_each_kind_of_shift_is_found_where_it_happened(metric: DriftMetric) -> None:
    # Given the support route shifted in one way, the coding route not
    report = run(BASE, SHIFTS[metric], seed=7)
    # Then drift is found, of that kind, on the support route only
    assert report.drifted
    found = {finding.metric for finding in report.findings}
    assert metric in found
    assert found <= {metric} | ALSO_MOVED.get(metric, set())
    assert {finding.segment.route for finding in report.findings} == {"support"}
    # And each finding passed its level and its minimum change, the level being the family's over the tests
    assert report.test_alpha == pytest.approx(FAMILY_ALPHA / report.tests)
    for finding in report.findings:
        assert finding.p_value <= finding.alpha == report.test_alpha
        assert finding.statistic >= finding.threshold * (1 - 1e-9)
        assert abs(finding.change) >= finding.min_change
    routes = {route.route: route for route in report.routes}
    assert routes["support"].findings == len(report.findings)
    assert (routes["support"].drift_score or 0) >= 1.0 > (routes["coding"].drift_score or 0)


def test_the_shifts_go_the_way_they_were_made() -> None:
    # Given each shift, Then the finding's recent value moved the way the traffic did
    direction = {
        DriftMetric.FALLBACK_RATE: 1, DriftMetric.COST_PER_SUCCESS: 1, DriftMetric.FEEDBACK_QUALITY: -1,
    }  # fmt: skip
    for metric, sign in direction.items():
        report = run(BASE, SHIFTS[metric], seed=8)
        moved = [finding for finding in report.findings if finding.metric is metric]
        assert moved, metric
        assert all((finding.recent - finding.baseline) * sign > 0 for finding in moved), metric
    routing = list(run(BASE, SHIFTS[DriftMetric.ROUTING_SHARE], seed=8).findings)
    assert routing
    assert all(f.detail in {"share of small", "share of large"} for f in routing)


def stats_of(counts: dict[Segment, SegmentCounts]) -> WindowStats:
    return WindowStats(records=sum(c.records for c in counts.values()), segments=counts)


def test_a_significant_change_smaller_than_the_minimum_is_not_reported() -> None:
    # Given a fallback rate going from 5 % to 6 % over 200,000 requests a window: certain, but small
    segment = Segment("support", "small", "en", "easy")
    before = stats_of({segment: SegmentCounts(records=200_000, fallbacks=10_000)})
    after = stats_of({segment: SegmentCounts(records=200_000, fallbacks=12_000)})
    # When compared
    report = detect_drift(before, after, WINDOWS)
    # Then the test passed its threshold (score above 1) but nothing is reported: 1 point < 2 points
    assert not report.findings
    (route,) = report.routes
    assert route.drift_score is not None
    assert route.drift_score > 1.0
    # And with a minimum of 1 point it is
    loose = detect_drift(before, after, WINDOWS, DriftThresholds(min_rate_change=0.01))
    assert [finding.metric for finding in loose.findings] == [DriftMetric.FALLBACK_RATE]


def test_thin_segments_are_skipped_and_listed_with_their_counts() -> None:
    # Given a segment with 29 recent requests (the minimum is 30) and one with 30
    thin, enough = Segment("r", "m", "en", "hard"), Segment("r", "n", "en", "hard")
    before = stats_of({thin: SegmentCounts(records=500), enough: SegmentCounts(records=500)})
    after = stats_of({thin: SegmentCounts(records=29, fallbacks=29), enough: SegmentCounts(records=30)})
    # When compared
    report = detect_drift(before, after, WINDOWS)
    # Then the thin one is skipped (even though every request fell back), the other compared
    skipped = {(s.segment.model, s.baseline_records, s.recent_records) for s in report.skipped_segments}
    assert skipped == {("m", 500, 29)}
    assert report.segments_skipped == 1
    assert report.segments_compared == 2  # the other segment and the routing group (59 ≥ 30 recent)
    assert not report.findings


def record(**fields: Any) -> dict[str, Any]:
    """A valid routed record, with ``fields`` replaced."""
    base: dict[str, Any] = {
        "route": "support", "chosen_model": "small", "model": "small", "outcome": "success",
        "cost_usd": 0.001, "features": {"language": "en", "difficulty": 0.2},
        "attempts": [{"model": "small", "outcome": "success", "checks": [{"name": "json", "passed": True}]}],
        "reward": {"value": 1.0, "source": "implicit"},
    }  # fmt: skip
    return {**base, **fields}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"outcome": "refused", "attempts": []}, SkipReason.REFUSED),
        ({"route": None}, SkipReason.NO_ROUTE),
        ({"route": "a" * 500}, SkipReason.NO_ROUTE),
        ({"route": "sup\nport"}, SkipReason.NO_ROUTE),
        ({"chosen_model": 7, "attempts": []}, SkipReason.NO_MODEL),
        ({"features": None}, SkipReason.NO_FEATURES),
        ({"features": {"language": "<script>", "difficulty": 0.1}}, SkipReason.BAD_LANGUAGE),
        ({"features": {"language": "en", "difficulty": "hard"}}, SkipReason.BAD_DIFFICULTY),
        ({"features": {"language": "en", "difficulty": float("nan")}}, SkipReason.BAD_DIFFICULTY),
        ({"features": {"language": "en", "difficulty": True}}, SkipReason.BAD_DIFFICULTY),
        ({"features": {"language": "en", "difficulty": 1.5}}, SkipReason.BAD_DIFFICULTY),
        ({"attempts": "many"}, SkipReason.BAD_ATTEMPTS),
        ({"attempts": [{"model": "small"}]}, SkipReason.BAD_ATTEMPTS),
        ({"cost_usd": -1}, SkipReason.BAD_COST),
        ({"cost_usd": 10**400}, SkipReason.BAD_COST),
        ({"cost_usd": Decimal("sNaN")}, SkipReason.BAD_COST),
        ({"cost_usd": "0.1"}, SkipReason.BAD_COST),
        ({"reward": {"value": 7, "source": "feedback"}}, SkipReason.BAD_REWARD),
    ],
)
def test_a_record_with_a_missing_or_odd_field_is_skipped_with_its_reason(
    fields: dict[str, Any], reason: SkipReason
) -> None:
    assert observe(record(**fields)) is reason


def test_what_a_record_says_about_fallback_retry_and_checks() -> None:
    # Given the chosen model failing a check, repaired, then erroring, and another model answering
    attempts = [
        {"model": "small", "outcome": "check_failed", "checks": [{"name": "json", "passed": False}]},
        {"model": "small", "outcome": "error", "checks": []},
        {"model": "tiny", "outcome": "skipped", "checks": []},
        {"model": "large", "outcome": "success", "checks": [{"name": "json", "passed": True}]},
    ]
    observation = observe(record(attempts=attempts, model="large", cost_usd=Decimal("0.004")))
    assert not isinstance(observation, SkipReason)
    # Then it fell back (large was called), retried (small twice), failed a check; a skip is no call
    assert (observation.fallback, observation.retried, observation.check_failed) == (True, True, True)
    assert (observation.model, observation.band, observation.cost_usd) == ("small", "easy", 0.004)
    # And a plain answer is none of them
    plain = observe(record())
    assert not isinstance(plain, SkipReason)
    assert (plain.fallback, plain.retried, plain.check_failed, plain.feedback) == (False, False, False, None)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        ("route", "chosen_model", "outcome", "cost_usd", "features", "attempts", "reward", "feedback"), _JSON
    ),
)


@settings(max_examples=300)
@given(st.lists(_FIELDS | _JSON, max_size=20))
def test_hostile_records_are_counted_never_raised_on(items: list[Any]) -> None:
    # Given records with missing and odd fields (and values that are not records at all)
    # When they are folded and compared
    stats = WindowStats.of(items)
    report = detect_drift(stats, stats, WINDOWS)
    # Then every record is either in a segment or skipped with a reason, and the report holds
    assert stats.records == len(items)
    assert sum(c.records for c in stats.segments.values()) + sum(stats.skipped.values()) == len(items)
    assert not report.findings


if __name__ == "__main__":  # python -m tests.unit.test_drift_detect 1000
    windows = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    measured, metrics = false_positive_rate(windows, first_seed=0)
    print(f"false-positive rate over {windows} unshifted windows: {measured:.2%} (findings: {dict(metrics)})")
