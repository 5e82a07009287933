"""The two windows drift detection compares, and durations written as ``1h``, ``30m``, ``1d12h``.

The recent window ends at ``until`` and lasts ``recent``; the baseline window is the ``baseline`` just
before it (defaults :data:`DEFAULT_RECENT` and :data:`DEFAULT_BASELINE`: the last hour against the 24 hours
before). Windows hold requests *started* in ``[since, until)``, as provenance sort keys are start times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final, Self

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_RECENT",
    "MAX_WINDOW",
    "DriftWindows",
    "Window",
    "format_duration",
    "parse_duration",
]

DEFAULT_RECENT: Final = timedelta(hours=1)
"""The recent window: the last hour."""
DEFAULT_BASELINE: Final = timedelta(hours=24)
"""The baseline window: the 24 hours before the recent one."""
MAX_WINDOW: Final = timedelta(days=31)
"""Longest window accepted (a month of hours is 744 × 8 queries)."""
_UNITS: Final = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_DURATION = re.compile(r"(?:(\d{1,6})([dhms]))+")
_PART = re.compile(r"(\d{1,6})([dhms])")


def parse_duration(text: str) -> timedelta:
    """``1h``, ``30m``, ``1d12h``, ``90s`` as a duration.

    Raises:
        ValueError: not such a duration, zero, or longer than :data:`MAX_WINDOW`; the message shows the form.
    """
    cleaned = text.strip().lower()
    if not _DURATION.fullmatch(cleaned):
        raise ValueError(
            f"not a duration: {text!r} (use a number and a unit d, h, m or s, e.g. 1h, 30m, 1d12h)"
        )
    duration = sum((int(count) * _UNITS[unit] for count, unit in _PART.findall(cleaned)), timedelta())
    if duration <= timedelta():
        raise ValueError(f"a duration must be longer than zero: {text!r}")
    if duration > MAX_WINDOW:
        raise ValueError(f"{text!r} is longer than the longest window, {format_duration(MAX_WINDOW)}")
    return duration


def format_duration(duration: timedelta) -> str:
    """``duration`` written as :func:`parse_duration` reads it (``1d12h``)."""
    seconds, parts = int(duration.total_seconds()), []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, int(size.total_seconds()))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Window(BaseModel):
    """Requests started in ``[since, until)`` (UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    since: datetime
    """Start (included)."""
    until: datetime
    """End (excluded)."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("window bounds must carry a time zone")
        if self.since >= self.until:
            raise ValueError(
                f"the window starts ({self.since.isoformat()}) at or after it ends ({self.until.isoformat()})"
            )
        if self.until - self.since > MAX_WINDOW:
            raise ValueError(f"a window may last {format_duration(MAX_WINDOW)} at most")
        return self

    @classmethod
    def between(cls, since: datetime, until: datetime) -> Window:
        """The window ``[since, until)``, naive times read as UTC.

        Raises:
            ValueError: ``since`` is not before ``until``, or the window is too long.
        """
        return cls(since=_utc(since), until=_utc(until))

    @property
    def duration(self) -> timedelta:
        """How long it lasts."""
        return self.until - self.since


class DriftWindows(BaseModel):
    """The baseline window and the recent window right after it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: Window
    """What the recent window is compared against."""
    recent: Window
    """The window looked at for drift."""

    @classmethod
    def before(cls, recent: Window, baseline: timedelta = DEFAULT_BASELINE) -> DriftWindows:
        """``recent``, and the ``baseline`` just before it.

        Raises:
            ValueError: ``baseline`` is not positive or too long.
        """
        return cls(baseline=Window.between(recent.since - baseline, recent.since), recent=recent)

    @classmethod
    def ending(
        cls, until: datetime, recent: timedelta = DEFAULT_RECENT, baseline: timedelta = DEFAULT_BASELINE
    ) -> DriftWindows:
        """The ``recent`` window ending at ``until``, and the ``baseline`` before it.

        Raises:
            ValueError: a duration is not positive or too long.
        """
        return cls.before(Window.between(_utc(until) - recent, _utc(until)), baseline)
