"""The demo's verdict on whether a bandit route's traffic moved with the feedback."""

from __future__ import annotations

from modelrouter.local.demo_bandit import shifted

PRIOR = {"local-small": 0.57, "local-medium": 0.38, "local-large": 0.05}
"""The route's distribution before any feedback: its cost weight leans it towards the cheap model."""


def _round(small: float, medium: float) -> dict[str, float]:
    return {"local-small": small, "local-medium": medium, "local-large": 1 - small - medium}


def test_a_lead_that_changed_hands_and_back_is_a_shift() -> None:
    # Given traffic that went to medium for most rounds, then back to small near where it started
    rounds = [PRIOR, _round(0.2, 0.75), _round(0.2, 0.75), _round(0.42, 0.53), _round(0.58, 0.37)]
    # When judged against the start, then the traffic moved with the feedback
    assert shifted(rounds, PRIOR)


def test_traffic_that_stayed_near_where_it_started_has_not_shifted() -> None:
    wobbling = [_round(0.6, 0.35), _round(0.5, 0.45), _round(0.65, 0.3), _round(0.55, 0.4)]
    assert not shifted(wobbling, PRIOR)
    assert not shifted([], PRIOR)


def test_traffic_at_the_cap_has_shifted_and_without_a_prior_the_first_round_is_the_start() -> None:
    at_cap = _round(0.05, 0.9)
    assert shifted([PRIOR, at_cap], PRIOR)
    assert shifted([PRIOR, PRIOR, at_cap])
    assert not shifted([at_cap, at_cap])
