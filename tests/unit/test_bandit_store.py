"""The per-container cache of the bandit routes' learning state: when it reads, what it asks DynamoDB,
and what it serves when a read fails or there is no table."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import build_policy, minimal_policy

from modelrouter.bandit.store import MAX_PAGES, LearningStateCache, parse_item
from modelrouter.policy import Policy

NOW = 1_800_000_000.0
WINDOW = 600
KEY = "bandit#test-policy#learner"


class FakeClock:
    """Monotonic and wall time moved by hand."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def monotonic(self) -> float:
        return self.elapsed

    def wall(self) -> float:
        return NOW + self.elapsed


class FakeDynamo:
    """Answers ``query`` from a list of pages, or raises ``failure``."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.queries: list[dict[str, Any]] = []
        self.failure: Exception | None = None

    def query(self, **request: Any) -> dict[str, Any]:
        self.queries.append(request)
        if self.failure is not None:
            raise self.failure
        index = int(request.get("ExclusiveStartKey", {}).get("page", 0))
        response: dict[str, Any] = {"Items": self.pages[index]}
        if index + 1 < len(self.pages):
            response["LastEvaluatedKey"] = {"page": index + 1}
        return response


def item(segment: str, model: str, quality: float, pulls: int, window: int | None = None) -> dict[str, Any]:
    number = window if window is not None else int(NOW) // WINDOW
    return {
        "sk": {"S": f"w{number:010d}#{segment}#{model}"},
        "quality_sum": {"N": str(quality)},
        "pulls": {"N": str(pulls)},
        "cost_sum": {"N": "0.01"},
    }


def policy(refresh_seconds: float = 5.0) -> Policy:
    document = minimal_policy()
    document["routes"].insert(
        0,
        {
            "name": "learner",
            "when": {"tags": ["learn"]},
            "strategy": "bandit",
            "models": ["small", "large"],
            "bandit": {
                "refresh_seconds": refresh_seconds,
                "memory": {"window_seconds": WINDOW, "half_life_seconds": 3600, "horizon_windows": 6},
            },
        },
    )
    return build_policy(document)


def cache(client: FakeDynamo, clock: FakeClock, table: str | None = "learning") -> LearningStateCache:
    return LearningStateCache(table, client, clock=clock.monotonic, wall_clock=clock.wall)


def test_a_fresh_copy_is_served_without_reading_again() -> None:
    # Given a cache whose route refreshes every 5 s
    client, clock = FakeDynamo([[item("all", "small", 3, 4)]]), FakeClock()
    states = cache(client, clock)
    # When the snapshots are asked for at 0 s, 4.9 s and 5 s
    first = states.snapshots(policy(), read=[KEY])[KEY]
    clock.elapsed = 4.9
    fresh = states.snapshots(policy(), read=[KEY])[KEY]
    clock.elapsed = 5.0
    states.snapshots(policy(), read=[KEY])
    # Then the table is read at 0 s and 5 s only, and the copy's age grows in between
    assert len(client.queries) == 2
    assert first.evidence[("all", "small")].outcomes == pytest.approx(4.0)
    assert first.age_s == 0.0
    assert fresh.age_s == pytest.approx(4.9)


def test_copies_are_read_only_for_the_routes_asked_for_and_when_due() -> None:
    # Given a cache that never read the route
    client, clock = FakeDynamo([[item("all", "small", 3, 4)]]), FakeClock()
    states = cache(client, clock)
    # When the copies are asked for without naming the route, then naming it
    held = states.snapshots(policy())[KEY]
    due_before = states.due(policy(), KEY)
    states.snapshots(policy(), read=[KEY])
    due_after = states.due(policy(), KEY)
    clock.elapsed = 5.0
    due_later = states.due(policy(), KEY)
    # Then nothing is read until the route is named; it is due before its first read and again after
    # refresh_seconds
    assert dict(held.evidence) == {}
    assert "not read yet" in held.notes[0]
    assert (due_before, due_after, due_later) == (True, False, True)
    assert len(client.queries) == 1


def test_the_read_asks_for_the_horizon_of_one_route_only() -> None:
    # Given a cache
    client, clock = FakeDynamo([[]]), FakeClock()
    # When a policy with one bandit route is served
    cache(client, clock).snapshots(policy(), read=[KEY])
    # Then one Query reads the route's partition between the horizon's first and last windows
    [request] = client.queries
    last = int(NOW) // WINDOW
    assert request["TableName"] == "learning"
    assert request["KeyConditionExpression"] == "pk = :pk AND sk BETWEEN :first AND :last"
    assert request["ExpressionAttributeValues"] == {
        ":pk": {"S": KEY},
        ":first": {"S": f"w{last - 5:010d}"},
        ":last": {"S": f"w{last:010d}$"},
    }
    assert f"w{last:010d}#any-segment#model" < request["ExpressionAttributeValues"][":last"]["S"]


def test_pages_are_all_read_up_to_the_limit() -> None:
    # Given three pages, then more pages than a refresh reads
    client, clock = (
        FakeDynamo([[item("a", "small", 1, 1)], [item("b", "small", 1, 1)], [item("c", "large", 0, 1)]]),
        FakeClock(),
    )
    many = FakeDynamo([[item("x", "small", 1, 1)] for _ in range(MAX_PAGES + 2)])
    # When each is read
    three = cache(client, clock).snapshots(policy(), read=[KEY])[KEY]
    capped = cache(many, clock).snapshots(policy(), read=[KEY])[KEY]
    # Then every page of the first counts; the second stops at MAX_PAGES with a note
    assert set(three.evidence) == {("a", "small"), ("b", "small"), ("c", "large")}
    assert len(many.queries) == MAX_PAGES
    assert capped.evidence[("x", "small")].outcomes == pytest.approx(MAX_PAGES)
    assert any(f"first {MAX_PAGES} pages" in note for note in capped.notes)


def test_a_failed_read_keeps_the_last_copy_and_says_so() -> None:
    # Given a cache that read once
    client, clock = FakeDynamo([[item("all", "small", 3, 4)]]), FakeClock()
    states = cache(client, clock)
    states.snapshots(policy(), read=[KEY])
    # When the next refresh fails, and a request comes right after it
    client.failure = ConnectionError("throttled")
    clock.elapsed = 6.0
    stale = states.snapshots(policy(), read=[KEY])[KEY]
    clock.elapsed = 7.0
    states.snapshots(policy(), read=[KEY])
    # Then the last copy serves with its true age and a note, and the failed read is not retried at once
    assert stale.evidence[("all", "small")].outcomes == pytest.approx(4.0)
    assert stale.age_s == pytest.approx(6.0)
    assert any("could not be read (ConnectionError)" in note for note in stale.notes)
    assert len(client.queries) == 2


def test_a_first_read_that_fails_leaves_the_priors() -> None:
    # Given the table cannot be read at all
    client, clock = FakeDynamo([[]]), FakeClock()
    client.failure = ConnectionError("down")
    # When the snapshots are asked for
    snapshot = cache(client, clock).snapshots(policy(), read=[KEY])[KEY]
    # Then there is no evidence, no age, and a note
    assert (dict(snapshot.evidence), snapshot.age_s) == ({}, None)
    assert any("priors only" in note for note in snapshot.notes)


def test_without_a_table_nothing_is_read() -> None:
    # Given no learning table
    client, clock = FakeDynamo([[]]), FakeClock()
    # When the snapshots are asked for
    snapshot = cache(client, clock, table=None).snapshots(policy(), read=[KEY])[KEY]
    # Then the priors alone, no call, and never due
    assert (dict(snapshot.evidence), snapshot.age_s, client.queries) == ({}, None, [])
    assert not cache(client, clock, table=None).due(policy(), KEY)
    assert "no learning table" in snapshot.notes[0]


def test_a_policy_without_bandit_routes_costs_nothing() -> None:
    # Given a policy without bandit routes
    client, clock = FakeDynamo([[]]), FakeClock()
    # When the snapshots are asked for
    # Then there are none, and no call
    assert cache(client, clock).snapshots(build_policy(minimal_policy())) == {}
    assert client.queries == []


@pytest.mark.parametrize(
    ("sk", "parsed"),
    [
        ("w0000000042#language=de|tags=vip#small", (42, "language=de|tags=vip", "small")),
        ("w0000000042#seg#with#hashes#large", (42, "seg#with#hashes", "large")),
        ("x0000000042#all#small", None),
        ("w00000000x2#all#small", None),
        ("w0000000042#small", None),
    ],
)
def test_sort_keys_are_parsed_from_both_ends(sk: str, parsed: tuple[int, str, str] | None) -> None:
    # Given a learning-state item's sort key
    # When it is parsed
    counts = parse_item({"sk": {"S": sk}, "pulls": {"N": "1"}})
    # Then the window comes first, the model last, the segment in between; anything else is skipped
    assert (None if counts is None else (counts.window, counts.segment, counts.model)) == parsed
