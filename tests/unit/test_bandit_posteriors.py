"""Learning-state items to posteriors: window decay, the horizon, clamping, and the observed cost."""

from __future__ import annotations

import pytest

from modelrouter.bandit.posteriors import (
    Evidence,
    WindowCounts,
    decay_weight,
    decayed_evidence,
    horizon_of,
    posterior,
)
from modelrouter.policy.bandit import Memory

MEMORY = Memory(window_seconds=600, half_life_seconds=3600, horizon_windows=12)
NOW = 1_800_000_000.0
CURRENT = int(NOW) // 600


def counts(window: int, quality: float, pulls: float, cost: float = 0.0, model: str = "m1") -> WindowCounts:
    return WindowCounts(
        window=window, segment="all", model=model, quality_sum=quality, pulls=pulls, cost_sum=cost
    )


def test_the_window_in_progress_weighs_one_and_older_ones_halve_every_half_life() -> None:
    # Given windows of 600 s and a half-life of 3,600 s
    # When the current window and one that ended 3,600 s ago are weighed
    current = decay_weight(CURRENT, NOW, MEMORY)
    ended_an_hour_ago = (int(NOW) - 3600) // 600 - 1  # its end is at or before an hour ago
    age = NOW - (ended_an_hour_ago + 1) * 600
    # Then the current one counts fully, the old one by 0.5 ** (age / half-life)
    assert current == 1.0
    assert decay_weight(ended_an_hour_ago, NOW, MEMORY) == pytest.approx(0.5 ** (age / 3600))


def test_evidence_sums_the_decayed_counts_per_segment_and_model() -> None:
    # Given two windows of m1 (the current one and one 6 windows back) and one of m2
    old = CURRENT - 6
    items = [counts(CURRENT, 8, 10, 0.5), counts(old, 2, 4, 0.2), counts(CURRENT, 1, 1, model="m2")]
    # When the evidence is computed
    evidence = decayed_evidence(items, as_of=NOW, memory=MEMORY)
    weight = decay_weight(old, NOW, MEMORY)
    # Then each (segment, model) sums its windows' counts times their weights
    m1 = evidence[("all", "m1")]
    assert m1.successes == pytest.approx(8 + 2 * weight)
    assert m1.outcomes == pytest.approx(10 + 4 * weight)
    assert m1.mean_cost_usd == pytest.approx((0.5 + 0.2 * weight) / (10 + 4 * weight))
    assert evidence[("all", "m2")].outcomes == pytest.approx(1.0)


def test_windows_outside_the_horizon_are_ignored() -> None:
    # Given the horizon's first window, the one before it, and one from the future (a skewed clock)
    first, last = horizon_of(NOW, MEMORY)
    items = [counts(first, 1, 1), counts(first - 1, 5, 5), counts(last + 1, 7, 7)]
    # When the evidence is computed
    evidence = decayed_evidence(items, as_of=NOW, memory=MEMORY)
    # Then only the horizon's window counts
    assert last - first + 1 == MEMORY.horizon_windows
    assert evidence[("all", "m1")].outcomes == pytest.approx(decay_weight(first, NOW, MEMORY))


def test_out_of_range_counts_are_clamped_so_the_posterior_stays_a_beta() -> None:
    # Given a reward sum above its pulls (and one below zero), as an adjustment could leave them
    items = [counts(CURRENT, 12, 10, model="m1"), counts(CURRENT, -3, 2, model="m2")]
    # When the posteriors are built
    evidence = decayed_evidence(items, as_of=NOW, memory=MEMORY)
    high = posterior(evidence[("all", "m1")], 1.0, 1.0)
    low = posterior(evidence[("all", "m2")], 1.0, 1.0)
    # Then the sums are held within [0, pulls]
    assert (high.alpha, high.beta) == (11.0, 1.0)
    assert (low.alpha, low.beta) == (1.0, 3.0)


def test_without_evidence_the_posterior_is_the_prior() -> None:
    # Given no evidence, and some evidence
    # When posteriors are built on a Beta(2, 3) prior
    alone = posterior(None, 2.0, 3.0)
    updated = posterior(Evidence(successes=6.0, outcomes=8.0, cost_sum=0.0), 2.0, 3.0)
    # Then the prior alone has its own mean, and evidence adds successes and failures
    assert alone.mean == pytest.approx(0.4)
    assert (updated.alpha, updated.beta) == (8.0, 5.0)
    assert Evidence(0.0, 0.0, 0.0).mean_cost_usd is None
