"""The provenance window reader over moto, on the template's table: records the router's own code built
and stored (:func:`modelrouter.provenance.build_record`, then
:class:`~modelrouter.provenance_table.ProvenanceTable`), for two tenants across hours, read back through
the ``by_time`` index."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.drift import ATTRIBUTES_READ, DriftWindows, Window, WindowStats, detect_drift, run_drift
from modelrouter.policy import Policy
from modelrouter.provenance_index import BY_TIME_INDEX, TIME_BUCKET_SHARDS
from modelrouter.provenance_table import ProvenanceTable
from modelrouter.provenance_window import WindowQuery, WindowReadError
from tests.aws import create_tables
from tests.drift_traffic import built_record
from tests.helpers import build_policy, fake_aws_environment, minimal_policy

SINCE = datetime(2026, 3, 2, 10, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=3)
TENANTS = ("t1", "t2")
MS = timedelta(milliseconds=1)


def two_tenant_policy() -> Policy:
    document = minimal_policy()
    document["tenants"].append({**document["tenants"][0], "id": "t2"})
    return build_policy(document)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield client, create_tables(client)["ProvenanceTable"]


def store(client: Any, table: str, moments: list[datetime], seed: int = 0) -> dict[str, datetime]:
    """A record per moment, tenants alternating, written as the router writes them; request id → start."""
    policy, sink, rng = two_tenant_policy(), ProvenanceTable(table, client), random.Random(seed)
    started: dict[str, datetime] = {}
    for number, moment in enumerate(moments):
        request_id = f"req-{seed}-{number:04d}"
        record = built_record(policy, TENANTS[number % 2], moment, request_id, cost=rng.uniform(0.0001, 0.01))
        sink.put(record)
        started[request_id] = moment
    return started


def spread(since: datetime, until: datetime, count: int, seed: int) -> list[datetime]:
    """``count`` moments in ``[since, until)``, to the millisecond."""
    rng = random.Random(seed)
    span_ms = int((until - since) / MS)
    return [since + rng.randrange(span_ms) * MS for _ in range(count)]


def test_the_window_is_exactly_the_records_started_in_it_across_tenants_and_hours(
    table: tuple[Any, str],
) -> None:
    client, name = table
    # Given records of two tenants over five hours, some a millisecond either side of the window's bounds
    edges = [
        SINCE - MS,
        SINCE,
        SINCE + timedelta(minutes=59, seconds=59, milliseconds=999),
        UNTIL - MS,
        UNTIL,
    ]
    started = store(
        client, name, edges + spread(SINCE - timedelta(hours=1), UNTIL + timedelta(hours=1), 60, 1)
    )
    # When the window [SINCE, UNTIL) is read through the time index
    query = WindowQuery(client, name, SINCE, UNTIL)
    read = list(query.records())
    # Then exactly the records started inside it come back, each once, of both tenants
    expected = {request_id for request_id, moment in started.items() if SINCE <= moment < UNTIL}
    assert [record["request_id"] for record in read].count(read[0]["request_id"]) == 1
    assert {record["request_id"] for record in read} == expected
    assert len(read) == len(expected)
    assert {record["tenant_id"] for record in read} == set(TENANTS)
    # And it took one query per hour and shard (no page was full)
    assert query.queries == 3 * TIME_BUCKET_SHARDS
    assert not query.truncated


class PagedClient:
    """A DynamoDB client whose queries return pages of at most ``page`` items (as 1 MB pages would)."""

    def __init__(self, client: Any, page: int) -> None:
        self.client, self.page = client, page

    def query(self, **arguments: Any) -> dict[str, Any]:
        limit = min(arguments.get("Limit", self.page), self.page)
        page: dict[str, Any] = self.client.query(**{**arguments, "Limit": limit})
        return page


def test_every_page_of_a_bucket_is_read(table: tuple[Any, str]) -> None:
    client, name = table
    # Given 50 records in one hour, and pages of 2 items
    started = store(client, name, spread(SINCE, SINCE + timedelta(hours=1), 50, 2))
    query = WindowQuery(PagedClient(client, 2), name, SINCE, UNTIL)
    # When the window is read
    read = {record["request_id"] for record in query.records()}
    # Then every record is read, over more queries than buckets
    assert read == set(started)
    assert query.queries > 3 * TIME_BUCKET_SHARDS


def test_a_capped_window_is_sampled_across_all_its_hours_and_says_so(table: tuple[Any, str]) -> None:
    client, name = table
    # Given 40 records in each of the window's three hours
    hours = [SINCE + timedelta(hours=hour) for hour in range(3)]
    started = store(
        client,
        name,
        [moment for hour in hours for moment in spread(hour, hour + timedelta(hours=1), 40, hour.hour)],
    )
    # When at most 30 are read
    query = WindowQuery(client, name, SINCE, UNTIL, max_records=30)
    read = list(query.records())
    # Then 30 are read, from every hour, and the read says it was cut
    assert len(read) == 30
    assert {started[record["request_id"]].hour for record in read} == {hour.hour for hour in hours}
    assert query.truncated
    # And a cap the window fits under reads it all and is not reported as cut
    whole = WindowQuery(client, name, SINCE, UNTIL, max_records=len(started))
    assert len(list(whole.records())) == len(started)
    assert not whole.truncated


def test_only_the_attributes_drift_reads_come_back_and_never_a_prompt(table: tuple[Any, str]) -> None:
    client, name = table
    # Given records of a tenant that stores prompts
    store(client, name, spread(SINCE, UNTIL, 10, 3))
    # When read with drift's projection
    read = list(WindowQuery(client, name, SINCE, UNTIL, attributes=ATTRIBUTES_READ).records())
    # Then each has only those attributes (features: language and difficulty)
    tops = {path.split(".")[0] for path in ATTRIBUTES_READ}
    for record in read:
        assert set(record) <= tops
        assert set(record["features"]) == {"language", "difficulty"}
        assert "prompt" not in record


def test_a_run_over_the_table_reports_what_the_same_records_give_in_memory(table: tuple[Any, str]) -> None:
    client, name = table
    # Given a baseline and a recent window of stored records
    windows = DriftWindows.ending(UNTIL, timedelta(hours=1), timedelta(hours=2))
    moments = spread(windows.baseline.since, windows.recent.until, 120, 4)
    store(client, name, moments)
    policy = two_tenant_policy()

    def in_memory(window: Window) -> WindowStats:
        return WindowStats.of(
            built_record(policy, TENANTS[n % 2], moment, f"req-4-{n:04d}", cost=0.0)
            for n, moment in enumerate(moments)
            if window.since <= moment < window.until
        )

    # When drift runs over the table
    report = run_drift(
        lambda window: WindowQuery(client, name, window.since, window.until, None, ATTRIBUTES_READ), windows
    )
    # Then it read as many records, in the same segments, as the records themselves give
    expected = detect_drift(in_memory(windows.baseline), in_memory(windows.recent), windows)
    assert report.baseline.records == expected.baseline.records > 0
    assert report.recent.records == expected.recent.records > 0
    assert (
        report.segments_compared + report.segments_skipped
        == expected.segments_compared + expected.segments_skipped
    )
    assert report.baseline.queries == 2 * TIME_BUCKET_SHARDS


@pytest.mark.parametrize("missing", ["table", "index"])
def test_a_missing_table_or_index_is_an_error_naming_them(table: tuple[Any, str], missing: str) -> None:
    client, _ = table
    if missing == "index":  # a table of the same keys without the time index
        client.create_table(
            TableName="old-provenance",
            AttributeDefinitions=[{"AttributeName": "tenant_id", "AttributeType": "S"},
                                  {"AttributeName": "sort_key", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "tenant_id", "KeyType": "HASH"},
                       {"AttributeName": "sort_key", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
    target = "old-provenance" if missing == "index" else "no-such-table"
    # When its window is read
    with pytest.raises(WindowReadError) as raised:
        list(WindowQuery(client, target, SINCE, UNTIL).records())
    # Then the error names the table, the index and the bucket, and what to do
    message = str(raised.value)
    assert f"cannot read provenance table {target} (index {BY_TIME_INDEX}, bucket 2026-03-02T10#0)" in message
    assert "deploy the current template.yaml" in message
