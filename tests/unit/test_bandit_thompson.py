"""Thompson sampling's choice distribution: deterministic draws, share bounds, the cost cap, and a primary
drawn with exactly the recorded probability."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from modelrouter.bandit.thompson import DRAWS, Arm, cap_cost, draw, project_shares, thompson_choice
from modelrouter.selection.strategies import bucket

STRONG = Arm("strong", alpha=90, beta=10, cost_usd=0.01)
WEAK = Arm("weak", alpha=50, beta=50, cost_usd=0.001)


def choose(arms: list[Arm], point: float = 0.5, **options: float) -> tuple[dict[str, float], str, float]:
    cost_weight = options.pop("cost_weight", 0.0)
    max_cost = options.pop("max_cost_usd", None)
    made = thompson_choice(
        arms, cost_weight=cost_weight, route="r", segment="all", point=point, max_cost_usd=max_cost
    )
    return made.probabilities, made.primary, made.propensity


def test_the_distribution_favours_the_better_posterior_and_sums_to_one() -> None:
    # Given a model with a clearly better posterior
    # When the choice distribution is estimated
    probabilities, _, _ = choose([WEAK, STRONG])
    # Then it sums to 1 and the better model takes nearly all of it
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert probabilities["strong"] > 0.95


def test_the_cost_weight_can_turn_the_choice() -> None:
    # Given the strong model costs 9 mUSD more, and lambda = 100 / USD turns 0.4 of quality into 0.9
    # When the choice is estimated with and without the cost in the reward
    free, _, _ = choose([WEAK, STRONG])
    priced, _, _ = choose([WEAK, STRONG], cost_weight=100.0)
    # Then charging the cost moves the choice to the cheaper model
    assert free["strong"] > 0.95
    assert priced["weak"] > 0.95


def test_same_posteriors_give_the_same_draws_and_other_posteriors_other_draws() -> None:
    # Given two close posteriors (the draws decide)
    arms = [Arm("a", 12, 10, 0.0), Arm("b", 11, 10, 0.0)]
    # When the distribution is estimated twice, then with one more success for b
    first = thompson_choice(arms, cost_weight=0.0, route="r", segment="s", point=0.3).sampled
    again = thompson_choice(arms, cost_weight=0.0, route="r", segment="s", point=0.3).sampled
    moved = thompson_choice(
        [arms[0], Arm("b", 12, 10, 0.0)], cost_weight=0.0, route="r", segment="s", point=0.3
    )
    # Then the same posteriors give exactly the same estimate, and each is a multiple of 1 / DRAWS
    assert first == again
    assert moved.sampled != first
    assert all((share * DRAWS).is_integer() for share in first.values())


def test_bounds_hold_and_the_excess_is_shared_by_water_filling() -> None:
    # Given one model that wins nearly every draw, capped at 0.9, and everyone with at least 0.02
    arms = [Arm(name, 1, 1, 0.0, min_share=0.02, max_share=0.9) for name in ("a", "b", "c")]
    # When the distribution (0.98, 0.02, 0) is projected
    projected, notes = project_shares([0.98, 0.02, 0.0], arms)
    # Then a is held at its max and the 0.08 it gave up is shared equally up to b and c's floors
    assert projected == pytest.approx([0.9, 0.06, 0.04])
    assert notes == []


@settings(max_examples=200, deadline=None)
@given(
    raw=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5),
    low=st.floats(0.0, 0.2),
    high=st.floats(0.5, 1.0),
)
def test_projection_always_sums_to_one_within_the_bounds(raw: list[float], low: float, high: float) -> None:
    # Given any distribution over 2-5 models and feasible bounds
    total = sum(raw) or 1.0
    probabilities = [value / total for value in raw] if sum(raw) else [1.0 / len(raw)] * len(raw)
    arms = [Arm(f"m{i}", 1, 1, 0.0, min_share=low, max_share=high) for i in range(len(raw))]
    assume(low * len(arms) <= 1 <= high * len(arms))  # infeasible bounds: the relaxation test
    # When it is projected onto the bounds
    projected, _ = project_shares(probabilities, arms)
    # Then it is a distribution inside them
    assert sum(projected) == pytest.approx(1.0)
    assert all(low - 1e-9 <= share <= high + 1e-9 for share in projected)


def test_infeasible_bounds_are_relaxed_with_a_note() -> None:
    # Given only two eligible models of a route whose max_share is 0.4 each (sum 0.8 < 1)
    arms = [Arm("a", 1, 1, 0.0, max_share=0.4), Arm("b", 1, 1, 0.0, max_share=0.4)]
    # When the distribution is projected
    projected, notes = project_shares([0.7, 0.3], arms)
    # Then the bounds are scaled until they can be met, and a note says so
    assert projected == pytest.approx([0.5, 0.5])
    [note] = notes
    assert "max_share add up to 0.800" in note


def test_the_cost_cap_moves_probability_to_cheaper_models_within_their_bounds() -> None:
    # Given an expensive model chosen 90 % of the time, and a cap on the expected cost
    arms = [Arm("cheap", 1, 1, 0.001, min_share=0.05), Arm("dear", 1, 1, 0.011, min_share=0.05)]
    # When the distribution is capped at 0.004 USD
    capped, notes = cap_cost([0.1, 0.9], arms, 0.004)
    # Then the expected cost meets the cap exactly, moving only what it needs
    assert 0.001 * capped[0] + 0.011 * capped[1] == pytest.approx(0.004)
    assert capped == pytest.approx([0.7, 0.3])
    assert notes == []


def test_a_cost_cap_the_bounds_cannot_meet_goes_as_far_as_they_allow() -> None:
    # Given the expensive model must keep 50 %
    arms = [Arm("cheap", 1, 1, 0.001), Arm("dear", 1, 1, 0.011, min_share=0.5)]
    # When the cap asks for an expected cost only the cheap model could meet
    capped, notes = cap_cost([0.0, 1.0], arms, 0.002)
    # Then the expensive model keeps its floor and a note names the expected cost
    assert capped == pytest.approx([0.5, 0.5])
    [note] = notes
    assert "expected cost $0.006000" in note


def test_the_primary_is_drawn_with_exactly_the_recorded_probability() -> None:
    # Given a distribution and many request ids
    probabilities = [0.2, 0.0, 0.5, 0.3]
    picks = Counter(draw(probabilities, bucket("route", f"req-{n}")) for n in range(20_000))
    # When each id's point draws a model
    # Then a model without probability is never drawn, and the others as often as their probability
    assert picks[1] == 0
    for index in (0, 2, 3):
        assert picks[index] / 20_000 == pytest.approx(probabilities[index], abs=0.015)


def test_propensity_is_the_probability_of_the_primary_drawn() -> None:
    # Given two models with close posteriors
    arms = [Arm("a", 5, 5, 0.0), Arm("b", 5, 4, 0.0)]
    # When the point falls in each model's interval
    low = thompson_choice(arms, cost_weight=0.0, route="r", segment="s", point=0.0)
    high = thompson_choice(arms, cost_weight=0.0, route="r", segment="s", point=0.999)
    # Then each primary's propensity is its probability
    assert (low.primary, high.primary) == ("a", "b")
    assert low.propensity == low.probabilities["a"]
    assert high.propensity == high.probabilities["b"]
    assert low.propensity + high.propensity == pytest.approx(1.0)


def test_one_eligible_model_is_certain() -> None:
    # Given a single eligible model
    # When it is chosen
    probabilities, primary, propensity = choose([WEAK])
    # Then it is the primary with probability 1
    assert (probabilities, primary, propensity) == ({"weak": 1.0}, "weak", 1.0)
