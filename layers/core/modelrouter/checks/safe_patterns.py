"""``pattern`` and ``patternProperties`` with a time limit: a request's schema cannot burn the function.

A JSON Schema ``pattern`` is the client's regular expression, run on the model's answer. Python's
``re`` has no timeout, so a pattern with catastrophic backtracking (``^(a|aa)+$``) on a hostile answer
could hold the CPU for minutes. These keywords run patterns with the ``regex`` package's timeout
instead: each search gets at most :data:`PATTERN_TIMEOUT_S`, and one validation at most
:data:`VALIDATION_PATTERN_BUDGET_S` for all its searches; a pattern that runs out of time fails the
check (the answer is not accepted) rather than passing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from modelrouter import timeouts

__all__ = ["PATTERN_TIMEOUT_S", "VALIDATION_PATTERN_BUDGET_S", "pattern_budget", "safe_validator_class"]

PATTERN_TIMEOUT_S = timeouts.PATTERN_TIMEOUT_S
"""Longest one pattern search may run."""
VALIDATION_PATTERN_BUDGET_S = timeouts.VALIDATION_PATTERN_BUDGET_S
"""Longest all the pattern searches of one validation may run together."""

_deadline: ContextVar[float | None] = ContextVar("pattern_deadline", default=None)


@contextmanager
def pattern_budget(seconds: float = VALIDATION_PATTERN_BUDGET_S) -> Iterator[None]:
    """Give the pattern searches inside the block ``seconds`` in all."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _search(pattern: str, text: str) -> bool | None:
    """Whether ``pattern`` matches in ``text``; None when it ran out of time (or cannot be compiled)."""
    import regex  # type: ignore[import-untyped]

    deadline = _deadline.get()
    timeout = PATTERN_TIMEOUT_S
    if deadline is not None:
        timeout = min(timeout, deadline - time.monotonic())
        if timeout <= 0:
            return None
    try:
        return regex.search(pattern, text, timeout=timeout) is not None
    except (TimeoutError, regex.error):
        return None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "string"):
        return
    found = _search(pattern, instance)
    if found is None:
        yield ValidationError(f"pattern {pattern!r} could not be evaluated in time")
    elif not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            found = _search(pattern, key)
            if found is None:
                yield ValidationError(f"pattern {pattern!r} could not be evaluated in time")
                return
            if found:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


@cache
def safe_validator_class() -> Any:
    """Draft 2020-12 with time-limited ``pattern`` and ``patternProperties`` (created once)."""
    from jsonschema import Draft202012Validator, validators

    keywords = {"pattern": _pattern, "patternProperties": _pattern_properties}
    return validators.extend(Draft202012Validator, keywords)  # type: ignore[no-untyped-call]
