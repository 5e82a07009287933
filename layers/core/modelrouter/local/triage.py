"""What the simulated models answer to a risk-triage schema: a risk score from the case's red flags; pure.

A first-pass fraud model returns ``{"risk_score": …, "explanation": …}``. The simulated models read the
case text for red flags (a new device, a mismatched country, a velocity spike …) and score it: no flag
is a clear approval (0.05), two are borderline (0.49), four or more a clear decline (≥ 0.93), so the
local policy's rules can answer the clear cases from the first pass and escalate the borderline ones.
Every model scores the same case the same way (the stronger model's value is its judgement after the
escalation); nothing here reads the router's features.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["RED_FLAGS", "red_flags", "risk_score", "with_triage"]

RED_FLAGS: Final = (
    "new device",
    "country mismatch",
    "velocity",
    "vpn",
    "proxy",
    "gift card",
    "chargeback",
    "password reset",
    "shipping address changed",
    "first purchase",
)
"""Phrases a simulated model counts as red flags in a case (whole words, any case)."""
_FLAG_PATTERNS: Final = tuple(re.compile(rf"\b{re.escape(flag)}s?\b", re.IGNORECASE) for flag in RED_FLAGS)
_BASE_SCORE: Final = 0.05
_SCORE_PER_FLAG: Final = 0.22
_HIGHEST_SCORE: Final = 0.97


def red_flags(case_text: str) -> list[str]:
    """The red flags named in ``case_text``, in :data:`RED_FLAGS` order."""
    return [
        flag for flag, pattern in zip(RED_FLAGS, _FLAG_PATTERNS, strict=True) if pattern.search(case_text)
    ]


def risk_score(case_text: str) -> float:
    """The simulated risk of a case: 0.05 plus 0.22 per red flag, at most 0.97."""
    return round(min(_HIGHEST_SCORE, _BASE_SCORE + _SCORE_PER_FLAG * len(red_flags(case_text))), 2)


def with_triage(value: Any, case_text: str) -> Any:
    """``value`` (a sampled schema answer) with ``risk_score`` and ``explanation`` filled from the case,
    when it is an object with those properties; anything else unchanged."""
    if not isinstance(value, dict) or "risk_score" not in value:
        return value
    flags = red_flags(case_text)
    triaged = {**value, "risk_score": risk_score(case_text)}
    if "explanation" in triaged:
        triaged["explanation"] = (
            f"{len(flags)} red flags: {', '.join(flags)}"
            if flags
            else "no red flags: consistent with the customer's history"
        )
    return triaged
