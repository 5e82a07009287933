"""How much text a regular expression can read around a match: the basis of incremental pattern checks.

A blocked pattern is searched in a stream a piece at a time. Whether a match starts at position ``i``
is settled once the text up to ``i + width + ahead`` is known: the regex engine, trying ``i``, consumes
at most :attr:`PatternReach.width` characters, and its assertions (lookaheads, ``$``, ``\\Z``, ``\\b``)
look at most :attr:`PatternReach.ahead` characters further; its lookbehinds, ``\\b`` and a multi-line
``^`` look at most :attr:`PatternReach.behind` characters before ``i``. A pattern whose match or
lookahead has no upper bound (``a+``, ``(?=.*x)``) has no reach: it can only be checked on a whole text.

Widths come from the parser of ``re`` (what :attr:`GuardrailsCheck.compiled_blocked_patterns` compiles
with); assertion reaches are summed over the pattern, which over-estimates a little and never under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

__all__ = ["PatternReach", "pattern_reach"]

_UNBOUNDED: int = _parser.MAXWIDTH
_ANCHOR_BEHIND = 1
"""An anchor (``^`` in multi-line mode, ``\\b``) reads the character before it."""
_ANCHOR_AHEAD = 2
"""An anchor reads up to two characters after it (``$``: a final newline, then the end)."""
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


@dataclass(frozen=True, slots=True)
class PatternReach:
    """How far a pattern reads around a match."""

    width: int
    """The longest match."""
    behind: int
    """Characters before a match's start the pattern may read."""
    ahead: int
    """Characters after the longest match's end the pattern may read."""


@lru_cache(maxsize=512)
def pattern_reach(pattern: re.Pattern[str] | str) -> PatternReach | None:
    """The reach of ``pattern``, or None when a match or a lookahead has no upper bound.

    Cached: a policy's patterns are judged for every streamed request and every guard."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    flags = pattern.flags if isinstance(pattern, re.Pattern) else 0
    parsed = _parser.parse(source, flags)
    width = parsed.getwidth()[1]
    reach = _assertions(parsed)
    if width >= _UNBOUNDED or reach is None:
        return None
    return PatternReach(width=width, behind=reach[0], ahead=reach[1])


def _assertions(items: Any) -> tuple[int, int] | None:
    """Characters read before and after by the anchors and lookarounds in ``items`` (a parsed pattern or
    a list of its items), summed; None when a lookaround is unbounded."""
    behind = ahead = 0
    for op, argument in items:
        inner: list[Any] = []
        if op is sre.AT:
            behind, ahead = behind + _ANCHOR_BEHIND, ahead + _ANCHOR_AHEAD
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            direction, body = argument
            width = body.getwidth()[1]
            if width >= _UNBOUNDED:
                return None
            if direction < 0:
                behind += width
            else:
                ahead += width
            inner = [body]
        elif op is sre.SUBPATTERN:
            inner = [argument[-1]]
        elif op is sre.BRANCH:
            inner = list(argument[1])
        elif op in _REPEATS:
            inner = [argument[2]]
        elif op is sre.ATOMIC_GROUP:
            inner = [argument]
        elif op is sre.GROUPREF_EXISTS:
            inner = [body for body in argument[1:] if body is not None]
        for body in inner:
            found = _assertions(body)
            if found is None:
                return None
            behind, ahead = behind + found[0], ahead + found[1]
    return behind, ahead
