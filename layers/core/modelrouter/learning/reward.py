"""A request's reward: its feedback when it has any, else its implicit outcome's reward.

Feedback is ``score`` in [0, 1] or ``thumbs`` (``up`` = 1, ``down`` = 0). This one rule serves the bandit's
learning state, ``modelrouter outcomes export`` (its ``quality``) and off-policy evaluation.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["THUMBS_REWARD", "feedback_reward", "request_reward"]

THUMBS_REWARD = {"up": 1.0, "down": 0.0}
"""The reward of a thumbs rating."""


def feedback_reward(feedback: Any) -> float | None:
    """The reward a stored feedback object gives (``score``, else ``thumbs``), None when it gives none."""
    if not isinstance(feedback, dict):
        return None
    score = feedback.get("score")
    if score is not None:
        try:
            value = float(score)
        except (TypeError, ValueError):
            return None
        return value if 0.0 <= value <= 1.0 else None
    thumbs = feedback.get("thumbs")
    return THUMBS_REWARD.get(thumbs) if isinstance(thumbs, str) else None


def request_reward(record: dict[str, Any]) -> tuple[float | None, Literal["feedback", "implicit"] | None]:
    """The reward of a provenance record and where it came from; ``(None, None)`` when it has none."""
    from_feedback = feedback_reward(record.get("feedback"))
    if from_feedback is not None:
        return from_feedback, "feedback"
    implicit = record.get("implicit")
    value = implicit.get("reward") if isinstance(implicit, dict) else None
    if value is None:
        return None, None
    try:
        return float(value), "implicit"
    except (TypeError, ValueError):
        return None, None
