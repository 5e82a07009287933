"""The statistics under drift detection: the χ² distribution and Fisher's test against scipy, the
homogeneity test's merging and symmetry, durations and windows, and the function's settings."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.drift import DriftWindows, Window, format_duration, parse_duration
from modelrouter.drift.aggregate import cost_bin, feedback_bin
from modelrouter.drift.chisquare import MAX_STATISTIC, chi2_isf, chi2_sf, fisher_exact
from modelrouter.drift.contingency import MIN_EXPECTED, homogeneity
from modelrouter.drift.settings import DriftConfigurationError, DriftSettings

stats = pytest.importorskip("scipy.stats")

_COUNTS = st.integers(min_value=0, max_value=400)
_TABLES = st.tuples(st.tuples(_COUNTS, _COUNTS), st.tuples(_COUNTS, _COUNTS))
_CATEGORIES = st.dictionaries(st.sampled_from("abcdefg"), st.integers(min_value=0, max_value=300), max_size=7)


@given(st.floats(min_value=0.0, max_value=2_000.0), st.integers(min_value=1, max_value=60))
def test_the_chi_square_tail_is_scipys(statistic: float, df: int) -> None:
    # When the p-value of a statistic is computed in pure Python
    ours, theirs = chi2_sf(statistic, df), float(stats.chi2.sf(statistic, df))
    # Then it is scipy's, to 1e-9 relative (or both below 1e-290)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-290)


@given(st.floats(min_value=1e-15, max_value=0.5), st.integers(min_value=1, max_value=60))
def test_the_critical_value_is_the_inverse_of_the_tail(level: float, df: int) -> None:
    # When the critical value at a level is computed
    critical = chi2_isf(level, df)
    # Then its tail is that level, and it is scipy's critical value
    assert chi2_sf(critical, df) == pytest.approx(level, rel=1e-9)
    assert critical == pytest.approx(float(stats.chi2.isf(level, df)), rel=1e-9)


@given(_TABLES)
def test_fishers_exact_test_is_scipys(table: tuple[tuple[int, int], tuple[int, int]]) -> None:
    # When a 2 × 2 table's exact two-sided p-value is computed
    ours, theirs = fisher_exact(table), float(stats.fisher_exact(table).pvalue)
    # Then it is scipy's
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-300)


@given(_CATEGORIES, _CATEGORIES)
def test_homogeneity_is_symmetric_and_its_p_value_a_probability(
    baseline: dict[str, int], recent: dict[str, int]
) -> None:
    # When two windows' counts are compared, either way round
    forward, backward = homogeneity(baseline, recent), homogeneity(recent, baseline)
    # Then both give the same evidence, or both nothing (a window without counts, or one category)
    assert (forward is None) == (backward is None)
    if forward is None or backward is None:
        categories = {name for name in {*baseline, *recent} if baseline.get(name, 0) + recent.get(name, 0)}
        assert len(categories) < 2 or not sum(baseline.values()) or not sum(recent.values())
        return
    assert forward.statistic == pytest.approx(backward.statistic)
    assert forward.p_value == pytest.approx(backward.p_value)
    assert 0.0 <= forward.p_value <= 1.0
    assert 0.0 <= forward.statistic <= MAX_STATISTIC
    assert 1 <= forward.df <= max(1, len({*baseline, *recent}) - 1)


def test_rare_categories_are_merged_until_each_expects_five() -> None:
    # Given five models, two of them too rare for the χ² approximation in the smaller window
    baseline = {"a": 500, "b": 450, "c": 300, "d": 2, "e": 3}
    recent = {"a": 50, "b": 45, "c": 30, "d": 1, "e": 0}
    # When the windows are compared
    evidence = homogeneity(baseline, recent)
    # Then the rare two were merged, then with the next rarest (d + e alone still expect fewer than 5 in
    # the recent window): three columns, df 2 instead of 4
    assert 6 * sum(recent.values()) / (sum(baseline.values()) + sum(recent.values())) < MIN_EXPECTED
    assert evidence is not None
    assert (evidence.method, evidence.df) == ("chi_square", 2)
    assert evidence.p_value > 0.5  # nothing changed


def test_a_rare_event_uses_fishers_exact_test() -> None:
    # Given a fallback rate of 0 in 400 before and 4 in 40 after (expected count 0.4)
    evidence = homogeneity({"yes": 0, "no": 400}, {"yes": 4, "no": 36})
    # Then Fisher's exact test decides, and its statistic is the χ²(1) with its p-value
    assert evidence is not None
    assert evidence.method == "fisher_exact"
    assert evidence.p_value == pytest.approx(float(stats.fisher_exact([[0, 400], [4, 36]]).pvalue))
    assert chi2_sf(evidence.statistic, 1) == pytest.approx(evidence.p_value, rel=1e-6)


def test_identical_proportions_give_no_evidence() -> None:
    evidence = homogeneity({"a": 200, "b": 100}, {"a": 20, "b": 10})
    assert evidence is not None
    assert evidence.statistic == pytest.approx(0.0, abs=1e-12)
    assert evidence.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "0-0.25"), (0.2499, "0-0.25"), (0.25, "0.25-0.5"), (0.5, "0.5-0.75"), (1.0, "0.75-1")],
)
def test_feedback_bins(value: float, expected: str) -> None:
    assert feedback_bin(value) == expected


def test_cost_bins_are_half_octaves_apart_by_outcome() -> None:
    # Costs within a factor √2 share a bin; doubling a cost moves it two bins; outcome is part of it
    assert cost_bin(0.001, True) == cost_bin(0.00101, True)
    low, high = (int(cost_bin(cost, True).split()[1]) for cost in (0.001, 0.002))
    assert high - low == 2
    assert cost_bin(0.001, True) != cost_bin(0.001, False)
    assert cost_bin(0.0, True) == "ok 0$"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1h", timedelta(hours=1)), ("30m", timedelta(minutes=30)), ("1d12h", timedelta(hours=36)),
     (" 90S ", timedelta(seconds=90))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["", "1", "h", "1y", "-1h", "0h", "1.5h", "32d", "1h 30m", "9" * 50 + "h"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer|longest"):
        parse_duration(text)


def test_windows_are_recent_after_baseline_and_refuse_inversion() -> None:
    # Given a recent window ending at noon
    until = datetime(2026, 3, 2, 12, tzinfo=UTC)
    windows = DriftWindows.ending(until)
    # Then it is the last hour, and the baseline the 24 hours right before it
    assert (windows.recent.since, windows.recent.until) == (until - timedelta(hours=1), until)
    assert (windows.baseline.since, windows.baseline.until) == (
        until - timedelta(hours=25),
        windows.recent.since,
    )
    # And a window that does not start before it ends is refused, naming both bounds
    with pytest.raises(ValueError, match="at or after it ends"):
        Window.between(until, until)
    assert Window.between(datetime(2026, 3, 2), until).since.tzinfo is UTC  # naive times are UTC


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = DriftSettings.from_env({"PROVENANCE_TABLE": "prov", "DRIFT_RECENT_WINDOW": "2h"})
    assert (settings.provenance_table, settings.recent, settings.baseline) == (
        "prov",
        timedelta(hours=2),
        timedelta(hours=24),
    )
    assert settings.lag == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({}, "PROVENANCE_TABLE"),
        ({"PROVENANCE_TABLE": "prov", "DRIFT_BASELINE_WINDOW": "a day"}, "DRIFT_BASELINE_WINDOW"),
        ({"PROVENANCE_TABLE": "prov", "DRIFT_MAX_RECORDS_PER_WINDOW": "10"}, "DRIFT_MAX_RECORDS_PER_WINDOW"),
        ({"PROVENANCE_TABLE": "prov", "DRIFT_LAG": "0m"}, "DRIFT_LAG"),
    ],
)
def test_a_bad_setting_is_named(environment: dict[str, str], named: str) -> None:
    with pytest.raises(DriftConfigurationError, match=named):
        DriftSettings.from_env(environment)


@settings(max_examples=50)
@given(st.floats(min_value=0.0, max_value=1e6, allow_nan=False), st.booleans())
def test_every_cost_has_a_bin(cost: float, successful: bool) -> None:
    name = cost_bin(cost, successful)
    assert name.startswith("ok " if successful else "not ok ")
    assert math.isfinite(float(name.split()[-1].rstrip("$")))
