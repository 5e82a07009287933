"""The provenance time index's keys: every record of a window is in the buckets and bounds read for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from modelrouter.provenance_index import (
    TIME_BUCKET_SHARDS,
    time_bucket_for,
    time_buckets_between,
    window_sort_keys,
)

_MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC, microsecond=moment.microsecond // 1000 * 1000)
)


def _sort_key(started: datetime, request_id: str) -> str:
    return f"{started.isoformat(timespec='milliseconds')}#{request_id}"


@given(_MOMENTS, st.integers(min_value=1, max_value=10 * 3600 * 1000), st.text(min_size=1, max_size=40))
def test_a_record_is_read_exactly_when_it_started_inside_the_window(
    since: datetime, length_ms: int, request_id: str
) -> None:
    # Given a window and records started just inside and just outside it
    until = since + timedelta(milliseconds=length_ms)
    low, high = window_sort_keys(since, until)
    buckets = set(time_buckets_between(since, until))
    for started, inside in (
        (since, True),
        (until - timedelta(milliseconds=1), True),
        (until, False),
        (since - timedelta(milliseconds=1), False),
    ):
        # When the reader queries the window's buckets with its bounds
        read = (
            time_bucket_for(started, request_id) in buckets and low <= _sort_key(started, request_id) <= high
        )
        # Then exactly the records started inside are read
        assert read is inside, (started, since, until)


def test_shards_spread_records_and_each_hour_has_all_of_them() -> None:
    # Given 4,000 request ids in one hour
    started = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)
    shards = {time_bucket_for(started, f"req-{n}") for n in range(4000)}
    # Then they use every shard of that hour, and the hour's buckets are exactly those
    assert shards == set(time_buckets_between(started.replace(minute=0), started.replace(minute=1)))
    assert len(shards) == TIME_BUCKET_SHARDS
    assert all(bucket.startswith("2026-12-02T05#") for bucket in shards)
