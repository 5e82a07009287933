"""What an operator types into ``modelrouter audit`` and ``usage``, checked before any table is read.

Identifiers (request ids, tenants, models) are printable text of at most :data:`MAX_ID_CHARS`
characters; times are ISO 8601 (``2025-01-31``, ``2025-01-31T12:00Z``; no offset means UTC) or an age
(``90s``, ``15m``, ``1h``, ``7d``, ``2w``: that long before now); a month is ``YYYY-MM``. Anything else is
an :class:`InputError` whose message names what was wrong and shows at most :data:`SHOWN_CHARS`
characters of it, escaped, so a 10 KB or control-character argument never floods or corrupts a terminal.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

__all__ = [
    "MAX_AGE",
    "MAX_ID_CHARS",
    "MAX_YEAR",
    "MIN_YEAR",
    "SHOWN_CHARS",
    "InputError",
    "TimeSpec",
    "argument_type",
    "identifier",
    "month_start",
    "resolve",
    "shown",
    "time_spec",
]

MAX_ID_CHARS: Final = 256
"""Longest request id, tenant or model accepted (API Gateway's request ids are 36)."""
SHOWN_CHARS: Final = 40
"""Characters of a rejected value quoted in its error message."""
MAX_AGE: Final = timedelta(days=3660)
"""Longest age accepted (``--since 7d``): ten years."""
MIN_YEAR: Final = 2000
"""Earliest year of a time or month accepted."""
MAX_YEAR: Final = 2999
"""Latest year of a time or month accepted."""

_AGE = re.compile(r"([0-9]{1,7})([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_TIME_CHARS: Final = 64

TimeSpec = datetime | timedelta
"""A moment as given: absolute (UTC), or an age before now (resolved by :func:`resolve`)."""

_Parsed = TypeVar("_Parsed")


class InputError(ValueError):
    """A value an operator gave that cannot be used; the message says which and why."""


def shown(text: str) -> str:
    """``text`` quoted for a message: escaped (``repr``), at most :data:`SHOWN_CHARS` characters of it."""
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return f"{text[:SHOWN_CHARS]!r}… ({len(text)} characters)"


def identifier(text: str, what: str) -> str:
    """``text`` as a request id, tenant or model (``what`` names it in the error).

    Raises:
        InputError: empty, longer than :data:`MAX_ID_CHARS`, or with control or other unprintable
            characters or surrounding spaces.
    """
    if not text:
        raise InputError(f"{what} is empty")
    if len(text) > MAX_ID_CHARS:
        raise InputError(f"{what} is {len(text)} characters long (at most {MAX_ID_CHARS}): {shown(text)}")
    if not text.isprintable() or text != text.strip():
        raise InputError(f"{what} has control characters or surrounding spaces: {shown(text)}")
    return text


def _in_range(moment: datetime, text: str) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InputError(f"{shown(text)} is outside the years {MIN_YEAR}–{MAX_YEAR}")
    return moment


def time_spec(text: str) -> TimeSpec:
    """``text`` as an ISO 8601 time (UTC unless it has an offset) or an age (``1h``, ``7d``).

    Raises:
        InputError: neither, an age over :data:`MAX_AGE`, or a year out of range.
    """
    if len(text) > _TIME_CHARS or not text.isprintable():
        raise InputError(f"not a time: {shown(text)}")
    age = _AGE.fullmatch(text)
    if age is not None:
        span = timedelta(seconds=int(age.group(1)) * _UNIT_SECONDS[age.group(2)])
        if span > MAX_AGE:
            raise InputError(f"{shown(text)} is longer ago than {MAX_AGE.days} days")
        return span
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"not a time: {shown(text)} (ISO 8601 like 2025-01-31T12:00Z, or an age like 1h or 7d)"
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return _in_range(moment, text)


def resolve(spec: TimeSpec, now: datetime) -> datetime:
    """The moment ``spec`` names, ages counted back from ``now``."""
    return now - spec if isinstance(spec, timedelta) else spec


def month_start(text: str) -> datetime:
    """``YYYY-MM`` as the first instant (UTC) of that month.

    Raises:
        InputError: not ``YYYY-MM``, a month outside 01–12, or a year out of range.
    """
    found = _MONTH.fullmatch(text) if len(text) <= _TIME_CHARS else None
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise InputError(f"not a month: {shown(text)} (YYYY-MM, like 2025-01)")
    return _in_range(datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=UTC), text)


def argument_type(parse: Callable[[str], _Parsed]) -> Callable[[str], _Parsed]:
    """``parse`` as an argparse ``type``: an :class:`InputError` becomes a usage error (exit 2, its
    message, no traceback)."""

    def checked(text: str) -> _Parsed:
        try:
            return parse(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return checked
