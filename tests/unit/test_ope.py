"""Off-policy estimators (SNIPS, doubly robust, the paired gain) on a seeded simulator of logged traffic.

The simulator draws a request's segment, lets a logging policy choose a model with a known propensity
(a fixed weighted split, or a bandit-like policy whose probabilities move as it learns), and draws the
answer's quality from that model's per-segment success rate. The candidate is a deterministic policy (a
model per segment); its true value is computed exactly from the simulator's per-segment expected quality.

``python -m tests.unit.test_ope`` prints the coverage and widths.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from modelrouter.training.ope import (
    Estimate,
    EstimatorError,
    doubly_robust,
    effective_sample_size,
    sample_mean,
    snips,
    snips_gain,
    z_value,
)

MODELS = ("small", "medium", "large")
SEGMENT_SHARES = (0.4, 0.3, 0.2, 0.1)
QUALITY = (  # expected quality per segment (rows) and model (columns)
    (0.80, 0.85, 0.90),
    (0.40, 0.70, 0.85),
    (0.60, 0.55, 0.80),
    (0.20, 0.50, 0.75),
)
COST_USD = (0.001, 0.004, 0.02)
CANDIDATE = (0, 1, 2, 2)  # the candidate's model per segment
REWARD_MODEL_BIAS = (0.08, -0.06, 0.05, -0.1)  # an imperfect reward model: truth plus a bias per segment
WEIGHTED_SPLIT = (0.5, 0.3, 0.2)
BANDIT_FLOOR = 0.15  # the bandit-like logger gives every model at least this share
BANDIT_TEMPERATURE = 0.15
RUNS = 50
REQUESTS = 5_000
CONFIDENCE = 0.95
MIN_COVERAGE = 0.9
MAX_MEAN_HALF_WIDTH = 0.03


@dataclass
class Logged:
    """Columns of one simulated log."""

    quality: list[float]
    cost: list[float]
    propensity: list[float]
    target: list[float]
    predicted: list[float]
    direct: list[float]


Logger = Callable[[int, list[list[float]]], list[float]]
"""Choice probabilities for a segment, given the logger's per-segment running (successes, pulls) sums."""


def weighted_logger(_segment: int, _state: list[list[float]]) -> list[float]:
    return list(WEIGHTED_SPLIT)


def bandit_logger(segment: int, state: list[list[float]]) -> list[float]:
    # A softmax over posterior means (Beta(1, 1) priors) with a floor: probabilities move with each outcome.
    means = [(state[segment][2 * a] + 1) / (state[segment][2 * a + 1] + 2) for a in range(len(MODELS))]
    top = max(means)
    scores = [math.exp((m - top) / BANDIT_TEMPERATURE) for m in means]
    total = sum(scores)
    free = 1 - BANDIT_FLOOR * len(MODELS)
    return [BANDIT_FLOOR + free * s / total for s in scores]


def true_value() -> float:
    return sum(share * QUALITY[s][CANDIDATE[s]] for s, share in enumerate(SEGMENT_SHARES))


def simulate(
    seed: int, logger: Logger, requests: int = REQUESTS, bias: tuple[float, ...] = REWARD_MODEL_BIAS
) -> Logged:
    rng = random.Random(seed)
    state = [[0.0] * (2 * len(MODELS)) for _ in SEGMENT_SHARES]
    log = Logged([], [], [], [], [], [])
    for _ in range(requests):
        segment = rng.choices(range(len(SEGMENT_SHARES)), weights=SEGMENT_SHARES)[0]
        probabilities = logger(segment, state)
        action = rng.choices(range(len(MODELS)), weights=probabilities)[0]
        quality = 1.0 if rng.random() < QUALITY[segment][action] else 0.0
        state[segment][2 * action] += quality
        state[segment][2 * action + 1] += 1
        chosen = CANDIDATE[segment]
        reward_model = [min(1.0, max(0.0, q + bias[segment])) for q in QUALITY[segment]]
        log.quality.append(quality)
        log.cost.append(COST_USD[action] * rng.uniform(0.5, 1.5))
        log.propensity.append(probabilities[action])
        log.target.append(1.0 if action == chosen else 0.0)
        log.predicted.append(reward_model[action])
        log.direct.append(reward_model[chosen])
    return log


def estimates(log: Logged) -> tuple[Estimate, Estimate]:
    ips = snips(log.quality, log.propensity, log.target, confidence=CONFIDENCE)
    dr = doubly_robust(
        log.quality, log.propensity, log.target, log.predicted, log.direct, confidence=CONFIDENCE
    )
    return ips, dr


def coverage(logger: Logger) -> dict[str, tuple[float, float]]:
    """Per estimator: the share of runs whose interval holds the true value, and the mean half-width."""
    truth = true_value()
    results: dict[str, list[Estimate]] = {"snips": [], "dr": []}
    for seed in range(RUNS):
        ips, dr = estimates(simulate(seed, logger))
        results["snips"].append(ips)
        results["dr"].append(dr)
    return {
        name: (
            sum(e.low <= truth <= e.high for e in runs) / len(runs),
            statistics.fmean(e.half_width for e in runs),
        )
        for name, runs in results.items()
    }


@pytest.mark.parametrize("logger", [weighted_logger, bandit_logger], ids=["weighted", "bandit-like"])
def test_the_true_value_is_inside_the_interval_in_most_runs(logger: Logger) -> None:
    # Given 50 seeded logs of 5,000 requests and a deterministic candidate whose true value is known
    # When SNIPS and DR estimate its mean quality with 95 % intervals
    results = coverage(logger)
    for name, (covered, width) in results.items():
        print(f"{logger.__name__} {name}: coverage {covered:.0%}, mean half-width {width:.4f}")
        # Then the interval holds the true value in at least 90 % of the runs
        assert covered >= MIN_COVERAGE, (name, covered)
        # And the mean half-width on quality is at most 0.03
        assert width <= MAX_MEAN_HALF_WIDTH, (name, width)


def test_estimates_converge_to_the_true_value_on_a_long_log() -> None:
    # Given one log of 60,000 requests from the bandit-like logger
    ips, dr = estimates(simulate(7, bandit_logger, requests=60_000))
    # Then both estimates are within their interval's half-width of the true value
    truth = true_value()
    assert abs(ips.value - truth) < ips.half_width
    assert abs(dr.value - truth) < dr.half_width


def test_an_exact_reward_model_narrows_the_doubly_robust_interval() -> None:
    # Given the same log with an exact reward model (no bias) and with the biased one
    exact = simulate(9, weighted_logger, bias=(0.0,) * len(SEGMENT_SHARES))
    biased = simulate(9, weighted_logger)
    ips, dr_exact = estimates(exact)
    _, dr_biased = estimates(biased)
    # Then DR with the exact model is narrower than SNIPS and than DR with the biased model
    assert dr_exact.half_width < ips.half_width
    assert dr_exact.half_width < dr_biased.half_width


def test_the_logging_policys_own_value_is_the_plain_mean() -> None:
    # Given a log and the logging policy itself as the candidate (target = propensity)
    log = simulate(3, weighted_logger, requests=2_000)
    own = snips(log.quality, log.propensity, log.propensity)
    # Then SNIPS is the plain mean, and so is the sample mean's point (with its own interval)
    mean = sample_mean(log.quality)
    assert own.value == pytest.approx(statistics.fmean(log.quality))
    assert mean.value == pytest.approx(statistics.fmean(log.quality))
    expected_half = z_value(0.95) * statistics.stdev(log.quality) / math.sqrt(len(log.quality))
    assert mean.half_width == pytest.approx(expected_half)
    assert own.effective_n == pytest.approx(2_000)
    assert effective_sample_size([2.0, 0.0, 2.0, 0.0]) == pytest.approx(2.0)


def test_snips_by_hand() -> None:
    # Given four logged requests and a candidate that would choose the logged model on two of them
    values, propensities, targets = [1.0, 0.0, 1.0, 0.0], [0.5, 0.25, 0.5, 1.0], [1.0, 1.0, 0.0, 0.0]
    estimate = snips(values, propensities, targets)
    # Then the weights are 2 and 4, the value 2 / 6, and the effective sample size 36 / 20
    assert estimate.value == pytest.approx(1 / 3)
    assert estimate.effective_n == pytest.approx(36 / 20)
    influence = [2 * (1 - 1 / 3) / 1.5, 4 * (0 - 1 / 3) / 1.5, 0.0, 0.0]
    half = z_value(0.95) * math.sqrt(sum(x * x for x in influence) / (4 * 3))
    assert estimate.half_width == pytest.approx(half)
    assert estimate.method == "snips"
    assert "delta method" in estimate.interval_method


def test_doubly_robust_with_an_exact_reward_model_has_no_variance_from_the_noise_free_part() -> None:
    # Given values that equal the reward model's predictions on every logged request
    values = [0.2, 0.8, 0.5]
    estimate = doubly_robust(values, [0.5, 0.5, 0.5], [1.0, 0.0, 1.0], values, [0.3, 0.6, 0.9])
    # Then the corrections vanish and DR is the mean of the direct terms
    assert estimate.value == pytest.approx(0.6)
    assert estimate.low < 0.6 < estimate.high


def test_the_paired_gain_is_the_difference_of_the_two_snips_values() -> None:
    # Given a log and two deterministic candidates (every request to medium; every request to large)
    log = simulate(11, weighted_logger, requests=4_000)
    rng = random.Random(11)
    actions = [rng.choice(MODELS) for _ in log.quality]  # stand-in labels, used only to build targets
    medium = [1.0 if a == "medium" else 0.0 for a in actions]
    large = [1.0 if a == "large" else 0.0 for a in actions]
    gain = snips_gain(log.quality, log.propensity, medium, large)
    # Then the gain is large minus medium, and its interval is centred on it
    expected = (
        snips(log.quality, log.propensity, large).value - snips(log.quality, log.propensity, medium).value
    )
    assert gain.value == pytest.approx(expected)
    assert gain.low < gain.value < gain.high
    assert gain.method == "snips_gain"


def test_the_paired_interval_is_narrower_than_two_independent_ones_when_the_arms_share_requests() -> None:
    # Given two candidates that agree on most requests (they differ only where the segment is 3)
    log = simulate(5, weighted_logger, requests=5_000)
    rng = random.Random(5)
    common = [1.0 if rng.random() < 0.5 else 0.0 for _ in log.quality]
    other = [t if i % 10 else 1.0 - t for i, t in enumerate(common)]
    gain = snips_gain(log.quality, log.propensity, common, other)
    a, b = snips(log.quality, log.propensity, common), snips(log.quality, log.propensity, other)
    # Then the paired half-width is below the independent one (sqrt of the summed variances)
    assert gain.half_width < math.hypot(a.half_width, b.half_width)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: snips([1.0, 0.0], [0.5, 0.5], [0.0, 0.0]), "no support"),
        (lambda: snips([1.0], [0.5], [1.0]), "at least 2"),
        (lambda: sample_mean([]), "at least 2"),
        (lambda: snips_gain([1.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.0, 0.0]), "no support"),
    ],
)
def test_estimates_without_evidence_are_refused(call: Callable[[], object], message: str) -> None:
    # When an estimate has too few requests or none the candidate supports, Then it is refused, saying why
    with pytest.raises(EstimatorError, match=message):
        call()


def test_bad_columns_are_errors() -> None:
    # Given a propensity of 0, or columns of different lengths, Then a ValueError names the problem
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        snips([1.0, 0.0], [0.0, 0.5], [1.0, 1.0])
    with pytest.raises(ValueError, match="one entry per"):
        snips([1.0, 0.0], [0.5], [1.0, 1.0])
    with pytest.raises(ValueError, match="confidence"):
        z_value(1.0)


if __name__ == "__main__":
    print(f"true value {true_value():.4f}; {RUNS} runs of {REQUESTS:,} requests; {CONFIDENCE:.0%} intervals")
    for name, logger in (("weighted", weighted_logger), ("bandit-like", bandit_logger)):
        for estimator, (covered, width) in coverage(logger).items():
            print(f"  {name:12} {estimator:6} coverage {covered:5.0%}  mean half-width {width:.4f}")


def test_an_interval_is_clipped_to_the_range_its_quantity_can_take() -> None:
    # Given the SNIPS estimate of a low quality from four requests, whose normal interval reaches below 0
    estimate = snips([0.0, 0.0, 0.0, 1.0], [0.5] * 4, [1.0] * 4, confidence=0.95)
    assert estimate.low < 0.0 < estimate.value
    # When it is clipped to [0, 1]
    clipped = estimate.within(0.0, 1.0)
    # Then the bounds stay within the range and the point estimate is unchanged
    assert (clipped.low, clipped.high, clipped.value) == (0.0, min(estimate.high, 1.0), estimate.value)
