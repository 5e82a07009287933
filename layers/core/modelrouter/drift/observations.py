"""One provenance record as drift detection sees it: its segment and what happened, or why it is skipped.

A segment is route × model × language × difficulty band. The model is the decision's ``chosen_model``
(its primary: what the routing chose, whoever answered in the end), else the first model attempted. The
band is one of :data:`DIFFICULTY_BANDS`, by ``features.difficulty``.

Per record: **fallback** (a model other than the chosen one was called: an error fallback or a check
escalation), **retried** (some model was called twice or more: a retry, a repair or a rule's retry),
**check failed** (an attempt's answer failed a check), **feedback** (the reward when
``reward.source == "feedback"``), **cost** and **successful**
(:func:`modelrouter.outcome_cost.is_successful_outcome`).

Records come from a table anyone with write access could have filled: every field is checked, and a
record with a missing or odd one is skipped with its reason (:class:`SkipReason`), never raised on.
Refused requests (no model called) are skipped too: they have no routing outcome to compare.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from modelrouter.outcome_cost import is_successful_outcome

__all__ = [
    "ATTRIBUTES_READ",
    "DIFFICULTY_BANDS",
    "MAX_COST_USD",
    "Observation",
    "SkipReason",
    "band_of",
    "bin_name",
    "observe",
    "route_of",
    "route_spend",
]

DIFFICULTY_BANDS: Final = (("easy", 0.0), ("medium", 0.3), ("hard", 0.6))
"""Difficulty bands: each name and the lowest ``features.difficulty`` it takes (up to the next one's)."""
ATTRIBUTES_READ: Final = (
    "route",
    "chosen_model",
    "outcome",
    "cost_usd",
    "features.language",
    "features.difficulty",
    "attempts",
    "reward",
    "feedback",
)
"""The record attributes (dotted paths) drift detection reads: a reader may fetch only these."""
MAX_COST_USD: Final = 1_000_000.0
"""A record's cost above this is not believed (its square would swamp every sum)."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""A route or model id (the policy's identifier pattern): safe as a metric dimension."""
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,3}")
"""A language code (``en``, ``und``, ``zh-Hant``)."""
_NOT_CALLED = "skipped"
"""The attempt outcome of a candidate skipped without a call."""


class SkipReason(StrEnum):
    """Why a record is left out of every segment."""

    UNREADABLE = "an item that does not decode"
    NOT_A_RECORD = "not a record (not a JSON object)"
    REFUSED = "refused (no model was called)"
    NO_ROUTE = "no valid route"
    NO_MODEL = "no valid chosen model"
    NO_FEATURES = "no features (an incomplete record)"
    BAD_LANGUAGE = "no valid features.language"
    BAD_DIFFICULTY = "no valid features.difficulty (a number in [0, 1])"
    BAD_ATTEMPTS = "attempts is not a list of {model, outcome} objects"
    BAD_COST = "no valid cost_usd (a number ≥ 0)"
    BAD_REWARD = "a feedback reward that is not a number in [0, 1]"


@dataclass(frozen=True, slots=True)
class Observation:
    """What one routed request contributes to its segment."""

    route: str
    """The route that decided."""
    model: str
    """The chosen model."""
    language: str
    """``features.language``."""
    band: str
    """Difficulty band name."""
    fallback: bool
    """A model other than the chosen one was called."""
    retried: bool
    """A model was called more than once."""
    check_failed: bool
    """An answer failed a check."""
    feedback: float | None
    """The feedback reward in [0, 1], if the request was rated."""
    cost_usd: float
    """What the request cost."""
    successful: bool
    """A successful outcome (answered, passed its checks, and rated good where rated)."""


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and _NAME.fullmatch(value) else None


def _number(value: Any) -> float | None:
    """A finite real number (not a bool; a Decimal from boto3's resource layer is one), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):  # an int too large for a float, a signalling NaN
        return None
    return number if math.isfinite(number) else None


def bin_name(value: float, bins: tuple[tuple[str, float], ...]) -> str:
    """The name of the bin ``value`` falls in: the last of ``bins`` (name, lowest value; ascending) whose
    lowest value it reaches, else the first."""
    name = bins[0][0]
    for candidate, lowest in bins:
        if value >= lowest:
            name = candidate
    return name


def band_of(difficulty: float) -> str:
    """The name of the band ``difficulty`` (in [0, 1]) falls in."""
    return bin_name(difficulty, DIFFICULTY_BANDS)


def route_of(record: Mapping[str, Any]) -> str | None:
    """The record's route, if it is a valid name."""
    return _name(record.get("route"))


def _cost(record: Mapping[str, Any]) -> float | None:
    cost = _number(record.get("cost_usd", 0.0))
    return cost if cost is not None and 0.0 <= cost <= MAX_COST_USD else None


def route_spend(record: Any) -> tuple[str, float, bool] | None:
    """``(route, cost, successful outcome)`` of any record with a route, refusals included (for the
    route's cost per successful outcome); None when its route or cost is not valid."""
    if not isinstance(record, Mapping):
        return None
    route, cost = route_of(record), _cost(record)
    if route is None or cost is None:
        return None
    return route, cost, is_successful_outcome(record)


def _attempts(record: Mapping[str, Any]) -> list[tuple[str, str, bool]] | None:
    """``(model, outcome, a check failed)`` per attempt; None when ``attempts`` is malformed."""
    attempts = record.get("attempts")
    if not isinstance(attempts, list):
        return None
    parsed = []
    for attempt in attempts:
        if not isinstance(attempt, Mapping):
            return None
        model, outcome, checks = (
            _name(attempt.get("model")),
            attempt.get("outcome"),
            attempt.get("checks", []),
        )
        if model is None or not isinstance(outcome, str) or not isinstance(checks, list):
            return None
        failed = outcome == "check_failed" or any(
            isinstance(check, Mapping) and check.get("passed") is False for check in checks
        )
        parsed.append((model, outcome, failed))
    return parsed


def _feedback(record: Mapping[str, Any]) -> tuple[bool, float | None]:
    """``(valid, reward)``: the feedback reward, if the record's reward came from feedback."""
    reward = record.get("reward")
    if not isinstance(reward, Mapping) or reward.get("source") != "feedback":
        return True, None
    value = _number(reward.get("value"))
    if value is None or not 0.0 <= value <= 1.0:
        return False, None
    return True, value


def observe(record: Any) -> Observation | SkipReason:
    """The record's :class:`Observation`, or why it is skipped."""
    if not isinstance(record, Mapping):
        return SkipReason.NOT_A_RECORD
    if record.get("outcome") == "refused":
        return SkipReason.REFUSED
    route = route_of(record)
    if route is None:
        return SkipReason.NO_ROUTE
    attempts = _attempts(record)
    if attempts is None:
        return SkipReason.BAD_ATTEMPTS
    chosen = _name(record.get("chosen_model")) or (attempts[0][0] if attempts else None)
    if chosen is None:
        return SkipReason.NO_MODEL
    features = record.get("features")
    if not isinstance(features, Mapping):
        return SkipReason.NO_FEATURES
    language = features.get("language")
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        return SkipReason.BAD_LANGUAGE
    difficulty = _number(features.get("difficulty"))
    if difficulty is None or not 0.0 <= difficulty <= 1.0:
        return SkipReason.BAD_DIFFICULTY
    cost = _cost(record)
    if cost is None:
        return SkipReason.BAD_COST
    valid, feedback = _feedback(record)
    if not valid:
        return SkipReason.BAD_REWARD
    called = [(model, failed) for model, outcome, failed in attempts if outcome != _NOT_CALLED]
    calls_per_model = [model for model, _ in called]
    return Observation(
        route=route,
        model=chosen,
        language=language,
        band=band_of(difficulty),
        fallback=any(model != chosen for model in calls_per_model),
        retried=len(calls_per_model) != len(set(calls_per_model)),
        check_failed=any(failed for _, failed in called),
        feedback=feedback,
        cost_usd=cost,
        successful=is_successful_outcome(record),
    )
