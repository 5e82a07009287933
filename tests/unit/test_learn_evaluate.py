"""Evaluation of a learned router on counterfactual outcomes, on small cases whose answers are known:
curves, hulls, AIQ, cost shares, RouteLLM's gap metrics and the prediction scores."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.training.evaluate import EvaluationError, evaluate, lambda_grid, route
from modelrouter.training.hull import Point, aiq, cheapest_cost_reaching, hull_quality_at, upper_hull
from modelrouter.training.report import EvaluationReport

# Two models on four requests: "cheap" (cost 1) answers the first two, "strong" (cost 10) all four.
MODELS = ["cheap", "strong"]
QUALITY = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
COST = np.array([[1.0, 10.0]] * 4)
TAGS = [("easy",), ("easy",), ("hard",), ("hard",)]


def run(predicted_quality: np.ndarray, predicted_cost: np.ndarray = COST) -> EvaluationReport:
    return evaluate(QUALITY, COST, predicted_quality, predicted_cost, models=MODELS, tags=TAGS)


def test_a_perfect_predictor_gives_the_oracle_curve() -> None:
    # Given predictions equal to the truth
    report = run(QUALITY)
    overall = report.overall
    # Then the router's sweep is the oracle curve, and its best point is the oracle
    assert overall.router.points == overall.oracle_curve.points
    assert overall.router.aiq == overall.oracle_curve.aiq
    assert overall.oracle == Point(5.5, 1.0)
    assert overall.router.points[0] == overall.oracle  # λ = 0
    assert overall.router.points[-1] == Point(1.0, 0.5)  # λ = ∞: always the cheaper model


def test_a_constant_predictor_gives_single_model_points_only() -> None:
    # Given each model predicted at its mean quality for every request
    constant = np.tile(QUALITY.mean(axis=0), (4, 1))
    report = run(constant)
    singles = {model.point for model in report.overall.models}
    # Then every λ sends every request to one model: each point is a single model's point
    assert set(report.overall.router.points) <= singles
    assert set(report.overall.router.points) == singles  # λ = 0 strong, λ = ∞ cheap
    assert report.overall.router.aiq == pytest.approx(report.overall.zero_router.aiq)


def test_aiq_and_cost_shares_of_the_two_model_case_by_hand() -> None:
    # Given the perfect predictor on the two-model case
    overall = run(QUALITY).overall
    # Then the router's hull is (1, 0.5) – (5.5, 1.0); the zero router's (1, 0.5) – (10, 1.0)
    assert overall.router.hull == [Point(1.0, 0.5), Point(5.5, 1.0)]
    assert overall.zero_router.hull == [Point(1.0, 0.5), Point(10.0, 1.0)]
    assert overall.cost_range == (1.0, 10.0)
    assert overall.best_model == "strong"
    # AIQ over [1, 10]: router (4.5 · 0.75 + 4.5 · 1) / 9, zero router 9 · 0.75 / 9
    assert overall.router.aiq == pytest.approx(0.875)
    assert overall.zero_router.aiq == pytest.approx(0.75)
    # Cost shares of the strong model's cost 10: 90 % of 1.0 at 1 + 0.8 · 4.5 = 4.6 …
    assert overall.router.cost_shares == pytest.approx({90: 0.46, 95: 0.505, 100: 0.55})
    assert overall.zero_router.cost_shares == pytest.approx({90: 0.82, 95: 0.91, 100: 1.0})


def test_per_tag_reports_use_each_tags_own_single_models() -> None:
    report = run(QUALITY)
    # Given the easy requests, the cheap model is perfect: it is the best single model there
    easy = report.by_tag["easy"]
    assert easy.requests == 2
    assert easy.best_model == "cheap"
    assert easy.zero_router.hull == [Point(1.0, 1.0)]
    assert easy.router.cost_shares == {90: 1.0, 95: 1.0, 100: 1.0}
    # On the hard ones only the strong model answers
    hard = report.by_tag["hard"]
    assert hard.zero_router.hull == [Point(1.0, 0.0), Point(10.0, 1.0)]
    assert hard.oracle == Point(10.0, 1.0)
    assert sorted(report.by_tag) == ["easy", "hard"]


def test_gap_recovery_by_hand() -> None:
    # Given the perfect predictor: score strong - weak = 0, 0, 1, 1
    gap = run(QUALITY).overall.gap
    assert gap is not None
    assert (gap.strong, gap.weak) == ("strong", "cheap")
    # Then half the calls to the strong model recover the whole gap
    assert gap.shares == [0.0, 0.5, 1.0]
    assert gap.pgr == [0.0, 1.0, 1.0]
    assert gap.cpt_50 == pytest.approx(0.25)
    assert gap.cpt_80 == pytest.approx(0.4)
    assert gap.apgr == pytest.approx(0.75)
    assert gap.pgr_at(0.1) == pytest.approx(0.2)


def test_gap_recovery_of_a_constant_predictor_is_random() -> None:
    # Given one score for every request, the threshold moves all requests at once
    gap = run(np.tile([0.5, 0.9], (4, 1))).overall.gap
    assert gap is not None
    # Then PGR(s) = s: CPT(50 %) = 0.5, CPT(80 %) = 0.8, APGR = 0.5
    assert gap.shares == [0.0, 1.0]
    assert (gap.cpt_50, gap.cpt_80, gap.apgr) == pytest.approx((0.5, 0.8, 0.5))


def test_gap_recovery_of_a_backwards_predictor() -> None:
    # Given a score that ranks the easy requests first
    gap = run(np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])).overall.gap
    assert gap is not None
    # Then the first half of strong calls recover nothing: CPT(50 %) = 0.75
    assert gap.pgr == [0.0, 0.0, 1.0]
    assert gap.cpt_50 == pytest.approx(0.75)
    assert gap.apgr == pytest.approx(0.25)


def test_brier_calibration_error_and_auc_by_hand() -> None:
    # Given predictions 0.2, 0.2, 0.8, 0.8 for the strong model, whose qualities are 0, 1, 1, 1
    quality = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    predicted = np.array([[0.5, 0.2], [0.5, 0.2], [0.5, 0.8], [0.5, 0.8]])
    report = evaluate(quality, COST, predicted, COST, models=MODELS)
    cheap, strong = report.overall.models
    # Then Brier = (0.04 + 0.64 + 0.04 + 0.04) / 4; ECE = ½ · |0.2 - 0.5| + ½ · |0.8 - 1.0|
    assert strong.brier == pytest.approx(0.19)
    assert strong.ece == pytest.approx(0.25)
    # AUC: successes scored 0.2, 0.8, 0.8 against a failure scored 0.2 → (0.5 + 1 + 1) / 3
    assert strong.auc == pytest.approx(2.5 / 3)
    # The cheap model always succeeds: no AUC; predicted 0.5 against 1.0
    assert cheap.auc is None
    assert cheap.brier == pytest.approx(0.25)
    assert cheap.ece == pytest.approx(0.5)


def test_ties_go_to_the_cheaper_predicted_cost() -> None:
    quality = np.array([[0.7, 0.7, 0.7]])
    cost = np.array([[3.0, 1.0, 2.0]])
    # Given equal predicted qualities, λ = 0 picks the cheapest
    assert route(quality, cost, 0.0).tolist() == [1]
    # Given equal predicted costs, λ = ∞ picks the better
    assert route(np.array([[0.2, 0.9, 0.5]]), np.array([[1.0, 1.0, 1.0]]), math.inf).tolist() == [1]


def test_the_lambda_grid_spans_the_predicted_trade_offs() -> None:
    # Given a request where a quality gain of 0.5 costs 9 more, λ* = 0.5 / 9
    grid = lambda_grid(np.array([[0.5, 1.0]]), np.array([[1.0, 10.0]]))
    # Then the grid is 0, λ*, ∞; a request with no trade-off gives just the two ends
    assert grid == pytest.approx([0.0, 0.5 / 9, math.inf])
    assert lambda_grid(np.array([[0.9, 0.5]]), np.array([[1.0, 10.0]])) == [0.0, math.inf]


def test_outcomes_that_are_not_counterfactual_are_refused() -> None:
    # Given a request without the strong model's outcome
    quality = QUALITY.copy()
    quality[2, 1] = math.nan
    # When evaluated, Then the error says what is missing and where
    with pytest.raises(EvaluationError, match="not counterfactual: 1 of 4 requests") as caught:
        evaluate(quality, COST, QUALITY, COST, models=MODELS, request_ids=["a", "b", "c", "d"])
    assert "request 'c' has none for 'strong'" in str(caught.value)


def test_mismatched_predictions_are_refused() -> None:
    with pytest.raises(EvaluationError, match="predicted quality is"):
        evaluate(QUALITY, COST, QUALITY[:3], COST, models=MODELS)
    with pytest.raises(EvaluationError, match="finite"):
        evaluate(QUALITY, COST, np.full_like(QUALITY, math.nan), COST, models=MODELS)


def test_the_report_is_strict_json() -> None:
    # Given a report (with λ = ∞ in its sweep)
    data = run(QUALITY).to_json()
    # Then it dumps without NaN or Infinity, λ = ∞ as null
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["overall"]["router"]["lambdas"][-1] is None
    assert data["overall"]["router"]["cost_shares"] == pytest.approx({"90": 0.46, "95": 0.505, "100": 0.55})


def test_aiq_of_a_known_hull_by_hand() -> None:
    # Given (2, 0.6) under the chord and (4, 0.8) past the best point
    points = [(1.0, 0.5), (3.0, 0.9), (2.0, 0.6), (4.0, 0.8)]
    # Then the hull is (1, 0.5) – (3, 0.9), flat at 0.9 after 3 and 0 before 1
    assert upper_hull(points) == [Point(1.0, 0.5), Point(3.0, 0.9)]
    assert aiq(points, 1.0, 4.0) == pytest.approx((2 * 0.7 + 1 * 0.9) / 3)
    assert aiq(points, 0.0, 4.0) == pytest.approx((2 * 0.7 + 1 * 0.9) / 4)
    assert aiq(points, 2.0, 2.0) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="empty cost range"):
        aiq(points, 2.0, 1.0)


def test_cheapest_cost_reaching_on_a_hand_made_curve() -> None:
    hull = [Point(1.0, 0.5), Point(3.0, 0.9), Point(5.0, 1.0)]
    assert cheapest_cost_reaching(hull, 0.4) == 1.0
    assert cheapest_cost_reaching(hull, 0.7) == pytest.approx(2.0)
    assert cheapest_cost_reaching(hull, 0.95) == pytest.approx(4.0)
    assert cheapest_cost_reaching(hull, 1.0) == pytest.approx(5.0)
    assert cheapest_cost_reaching(hull, 1.01) is None


point_sets = st.lists(
    st.tuples(
        st.floats(0.0, 100.0, allow_nan=False, allow_subnormal=False),
        st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(points=point_sets)
def test_the_hull_is_non_decreasing_concave_and_above_every_point(points: list[tuple[float, float]]) -> None:
    hull = upper_hull(points)
    costs = [p.cost for p in hull]
    qualities = [p.quality for p in hull]
    # Then costs and qualities rise along it, slopes fall, and no point is above it
    assert costs == sorted(set(costs))
    assert all(a < b for a, b in itertools.pairwise(qualities))
    slopes = [(b.quality - a.quality) / (b.cost - a.cost) for a, b in itertools.pairwise(hull)]
    assert all(s1 >= s2 - 1e-9 for s1, s2 in itertools.pairwise(slopes))
    assert hull[0].cost == min(c for c, _ in points)
    assert hull[-1].quality == max(q for _, q in points)
    for cost, quality in points:
        assert hull_quality_at(hull, cost) >= quality - 1e-9


@settings(max_examples=200, deadline=None)
@given(points=point_sets, data=st.data())
def test_the_aiq_of_a_set_is_at_least_that_of_any_subset(
    points: list[tuple[float, float]], data: st.DataObject
) -> None:
    subset = data.draw(st.lists(st.sampled_from(points), min_size=1, unique=True))
    costs = [c for c, _ in points]
    low, high = min(costs), max(costs)
    assert aiq(points, low, high) >= aiq(subset, low, high) - 1e-9
    assert 0.0 <= aiq(points, low, high) <= max(q for _, q in points) + 1e-9
