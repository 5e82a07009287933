"""Cost per successful outcome: what a tenant or route spends for each answer that was good.

A request succeeded when a model answered and the answer passed its checks (``outcome == "success"``);
where feedback exists, it must also have been rated good (reward from feedback ≥ :data:`GOOD_FEEDBACK`).
Spend counts every request (failures cost too), so the figure rises when quality falls even at a
constant price. ``modelrouter usage``, ``GET /v1/usage`` and the drift function's
``CostPerSuccessfulOutcome`` metric all use these two functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelrouter.learning.reward import feedback_reward

__all__ = ["GOOD_FEEDBACK", "cost_per_successful_outcome", "is_successful_outcome"]

GOOD_FEEDBACK = 0.5
"""Feedback reward (score, or thumbs as 1/0) at or above which a rated answer counts as good."""


def is_successful_outcome(record: Mapping[str, Any]) -> bool:
    """Whether a provenance record is a successful outcome (see the module's docstring)."""
    if record.get("outcome") != "success":
        return False
    reward = feedback_reward(record.get("feedback"))
    return reward is None or reward >= GOOD_FEEDBACK


def cost_per_successful_outcome(records: Iterable[Mapping[str, Any]]) -> tuple[float, int, float | None]:
    """``(spend_usd, successful_outcomes, spend / successful)`` over ``records``; the ratio is None when
    none succeeded."""
    spend, successes = 0.0, 0
    for record in records:
        spend += float(record.get("cost_usd") or 0.0)
        successes += is_successful_outcome(record)
    return spend, successes, (spend / successes if successes else None)
