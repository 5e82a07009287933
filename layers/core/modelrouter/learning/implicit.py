"""The implicit outcome of a request: what its own execution says about the chosen model, without feedback.

The *chosen* model is the decision's primary candidate: the one the strategy put first (and, for a
stochastic strategy, drew with the recorded propensity). The signal judges that model's own attempts:

============  =====================================================================  ===========
signal        when                                                                   reward
============  =====================================================================  ===========
passed        the chosen model's answer passed every check                           1.0
escalated     the chosen model answered but its answer failed a check, and it never  0.0
              passed (another model may have answered)
fallback      the chosen model made no answer (errors, timeouts); another model did  none
failed        no model answered, and the chosen model never answered                 none
cancelled     the client went away during the answer                                 none
refused       refused before any model call (budget, eligibility, limits)            none
============  =====================================================================  ===========

A passed answer loses :data:`RETRY_PENALTY` when the chosen model first failed a check and passed on a
retry or repair, and :data:`LATENCY_PENALTY` when the request took longer than the route's latency
budget; never below 0. No reward (``None``) means the request teaches the bandit nothing: availability is
the circuit breakers' concern, and a bandit learns answer quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from modelrouter.execution.records import Attempt

__all__ = [
    "LATENCY_PENALTY",
    "RETRY_PENALTY",
    "ImplicitOutcome",
    "ImplicitSignal",
    "implicit_outcome",
    "refused_outcome",
]

RETRY_PENALTY = 0.5
"""Reward taken off a passed answer when the chosen model first failed a check."""
LATENCY_PENALTY = 0.25
"""Reward taken off a passed answer when the request exceeded the route's latency budget."""


class ImplicitSignal(StrEnum):
    """What the request's execution says about the chosen model (see the module's table)."""

    PASSED = "passed"
    ESCALATED = "escalated"
    FALLBACK = "fallback"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class ImplicitOutcome:
    """The implicit outcome of one request."""

    signal: ImplicitSignal
    """The signal (see the module's table)."""
    reward: float | None
    """Reward in [0, 1] for the chosen model; None when the request teaches nothing."""
    chosen_model: str | None
    """The decision's primary candidate (None for refusals without a decision)."""
    answered_by: str | None
    """The model whose answer was returned, if any."""
    checks_passed: bool | None
    """Whether the chosen model's last answer passed its checks (None: it made no answer)."""
    retried: bool
    """The chosen model failed a check before it passed (a retry or a repair)."""
    escalated: bool
    """Another model answered after the chosen one failed a check."""
    fallback: bool
    """Another model answered after the chosen one made no answer."""
    over_latency_budget: bool | None
    """Whether the request took longer than the route's latency budget (None: no budget)."""

    def as_json(self) -> dict[str, Any]:
        """The outcome as recorded in provenance (``implicit``)."""
        return {
            "signal": self.signal.value,
            "reward": self.reward,
            "chosen_model": self.chosen_model,
            "answered_by": self.answered_by,
            "checks_passed": self.checks_passed,
            "retried": self.retried,
            "escalated": self.escalated,
            "fallback": self.fallback,
            "over_latency_budget": self.over_latency_budget,
        }


def implicit_outcome(
    chosen_model: str,
    attempts: Sequence[Attempt],
    *,
    answered_by: str | None,
    cancelled: bool,
    latency_ms: float,
    latency_budget_ms: int | None,
) -> ImplicitOutcome:
    """The implicit outcome of an admitted request from its attempts (see the module's table)."""
    own = [attempt for attempt in attempts if attempt.model == chosen_model and attempt.called]
    passed = any(attempt.outcome == "success" for attempt in own)
    failed_check = any(attempt.outcome == "check_failed" for attempt in own)
    over = None if latency_budget_ms is None else latency_ms > latency_budget_ms
    escalated = failed_check and not passed and answered_by is not None and answered_by != chosen_model
    fallback = not passed and not failed_check and answered_by is not None and answered_by != chosen_model
    reward: float | None
    if cancelled:
        signal, reward = ImplicitSignal.CANCELLED, None
    elif passed:
        reward = 1.0 - (RETRY_PENALTY if failed_check else 0.0) - (LATENCY_PENALTY if over else 0.0)
        signal, reward = ImplicitSignal.PASSED, max(0.0, reward)
    elif failed_check:
        signal, reward = ImplicitSignal.ESCALATED, 0.0
    elif answered_by is not None:
        signal, reward = ImplicitSignal.FALLBACK, None
    else:
        signal, reward = ImplicitSignal.FAILED, None
    return ImplicitOutcome(
        signal=signal,
        reward=reward,
        chosen_model=chosen_model,
        answered_by=answered_by,
        checks_passed=passed if (passed or failed_check) else None,
        retried=passed and failed_check,
        escalated=escalated,
        fallback=fallback,
        over_latency_budget=over,
    )


def refused_outcome(chosen_model: str | None) -> ImplicitOutcome:
    """The implicit outcome of a request refused before any model call: no reward."""
    return ImplicitOutcome(
        signal=ImplicitSignal.REFUSED,
        reward=None,
        chosen_model=chosen_model,
        answered_by=None,
        checks_passed=None,
        retried=False,
        escalated=False,
        fallback=False,
        over_latency_budget=None,
    )
