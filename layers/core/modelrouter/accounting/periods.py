"""UTC budget periods: which month item and day attribute a moment falls in, and when they roll over.

Pure functions. Naive datetimes are taken as UTC; aware ones are converted to UTC first.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

__all__ = [
    "HOLD_PREFIX",
    "LEDGER_PREFIX",
    "MONTH_ATTRIBUTE",
    "RETENTION_DAYS",
    "budget_sort_key",
    "day_attribute",
    "hold_sort_key",
    "ledger_prefix",
    "month_expiry",
    "month_key",
    "next_day_start",
    "next_month_start",
    "seconds_until_next_day",
    "seconds_until_next_month",
    "to_utc",
]

RETENTION_DAYS = 400
"""Budget and ledger items expire (DynamoDB TTL) this many days after their month ends."""

LEDGER_PREFIX = "ledger#"
"""Sort-key prefix of ledger items."""

HOLD_PREFIX = "hold#"
"""Sort-key prefix of hold items (one item per open hold)."""

MONTH_ATTRIBUTE = "month_nano_usd"
"""Attribute of the month item holding everything committed this month, in whole nano-dollars."""


def to_utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive datetime is assumed to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def month_key(moment: datetime) -> str:
    """The UTC month of ``moment`` as ``YYYY-MM``."""
    return to_utc(moment).strftime("%Y-%m")


def budget_sort_key(moment: datetime) -> str:
    """Sort key of the tenant's budget item for the month of ``moment``: ``budget#YYYY-MM``."""
    return f"budget#{month_key(moment)}"


def ledger_prefix(month: str) -> str:
    """Sort-key prefix of the ledger items of month ``YYYY-MM``: ``ledger#YYYY-MM#``."""
    return f"{LEDGER_PREFIX}{month}#"


def hold_sort_key(request_id: str) -> str:
    """Sort key of the hold item of ``request_id``: ``hold#<request id>``."""
    return f"{HOLD_PREFIX}{request_id}"


def day_attribute(moment: datetime) -> str:
    """Attribute of the month item holding the UTC day's spend in nano-dollars: ``day_DD_nano_usd``."""
    return f"day_{to_utc(moment).day:02d}_nano_usd"


def next_day_start(moment: datetime) -> datetime:
    """Midnight UTC after ``moment``."""
    start = to_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def next_month_start(moment: datetime) -> datetime:
    """The first instant of the UTC month after ``moment``'s."""
    utc = to_utc(moment)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _whole_seconds(start: datetime, end: datetime) -> int:
    return max(1, math.ceil((end - to_utc(start)).total_seconds()))


def seconds_until_next_day(moment: datetime) -> int:
    """Whole seconds (at least 1, rounded up) from ``moment`` until the next UTC day starts."""
    return _whole_seconds(moment, next_day_start(moment))


def seconds_until_next_month(moment: datetime) -> int:
    """Whole seconds (at least 1, rounded up) from ``moment`` until the next UTC month starts."""
    return _whole_seconds(moment, next_month_start(moment))


def month_expiry(moment: datetime, days: int = RETENTION_DAYS) -> int:
    """Epoch seconds at which items of ``moment``'s month expire: ``days`` after the month ends."""
    return int((next_month_start(moment) + timedelta(days=days)).timestamp())
