"""The provenance table's time index: every record of a time window, across tenants, without a scan.

Each record carries ``time_bucket`` = ``YYYY-MM-DDTHH#<shard>``: the UTC hour it started in and one of
:data:`TIME_BUCKET_SHARDS` shards chosen by a hash of its request id. The ``by_time`` index
(``template.yaml``) is keyed by ``time_bucket`` and the record's ``sort_key`` (``<ISO time>#<request id>``),
so a window is read with one ``Query`` per hour and shard, each with the window's bounds on the sort key.

Why shards: every record of an hour would otherwise go to one index partition, and an index partition
takes at most about 1,000 writes a second; a throttled index slows the table's own writes. Eight shards
take 8,000 records a second per hour, and a reader pays eight queries per hour of window.

The index projects the fields that drift detection, usage and audit read (:data:`PROJECTED_ATTRIBUTES`),
never a stored prompt or answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

__all__ = [
    "BY_TIME_INDEX",
    "PROJECTED_ATTRIBUTES",
    "TIME_BUCKET_ATTRIBUTE",
    "TIME_BUCKET_SHARDS",
    "time_bucket_for",
    "time_buckets_between",
    "window_sort_keys",
]

BY_TIME_INDEX = "by_time"
"""Name of the provenance table's global secondary index on ``time_bucket`` and ``sort_key``."""
TIME_BUCKET_ATTRIBUTE = "time_bucket"
"""The record attribute the index is partitioned by."""
TIME_BUCKET_SHARDS = 8
"""Index partitions per hour (see the module's docstring)."""
PROJECTED_ATTRIBUTES = (
    "request_id",
    "created_at",
    "policy",
    "route",
    "strategy",
    "model",
    "chosen_model",
    "outcome",
    "error_code",
    "cost_usd",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "features",
    "attempts",
    "checks",
    "implicit",
    "reward",
    "feedback",
)
"""Non-key attributes the ``by_time`` index copies (the template's ``NonKeyAttributes`` must match)."""


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _hour(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H")


def time_bucket_for(started: datetime, request_id: str) -> str:
    """The ``time_bucket`` of a record that started at ``started`` (its hour, and its request id's shard)."""
    shard = int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:4], "big") % TIME_BUCKET_SHARDS
    return f"{_hour(started)}#{shard}"


def time_buckets_between(since: datetime, until: datetime) -> Iterator[str]:
    """Every ``time_bucket`` that can hold a record started in ``[since, until)``, oldest hour first."""
    hour = _utc(since).replace(minute=0, second=0, microsecond=0)
    end = _utc(until)
    while hour < end:
        for shard in range(TIME_BUCKET_SHARDS):
            yield f"{_hour(hour)}#{shard}"
        hour += timedelta(hours=1)


def window_sort_keys(since: datetime, until: datetime) -> tuple[str, str]:
    """``BETWEEN`` bounds on ``sort_key`` for records started in ``[since, until)``.

    Sort keys are ``<ISO time with milliseconds>#<request id>``; the upper bound is the last millisecond
    before ``until`` followed by ``$`` (after ``#``), so a record started exactly at ``until`` is out.
    """
    low = _utc(since).isoformat(timespec="milliseconds")
    high = (_utc(until) - timedelta(milliseconds=1)).isoformat(timespec="milliseconds") + "$"
    return low, high
