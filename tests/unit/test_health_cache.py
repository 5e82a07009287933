"""A container's copy of the shared breaker states (health.cache): read at most once per cache period,
in the background while requests keep coming, never waited on longer than READ_WAIT_S, kept when a
read fails."""

from __future__ import annotations

import threading

from tests.fakes import FakeClock

from modelrouter.health.cache import CACHE_S, READ_WAIT_S, REFRESH_AHEAD_S, HealthCache, in_thread
from modelrouter.health.items import SharedState

OPEN = SharedState("m1", open_until=10**13)
CLOSED = SharedState("m2")


class Table:
    """A read that answers what it is told, fails when told, or blocks until released."""

    def __init__(self) -> None:
        self.states: dict[str, SharedState] = {}
        self.error: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()
        self.reads = 0
        self.finished = threading.Event()

    def read(self) -> dict[str, SharedState]:
        self.reads += 1
        self.gate.wait(timeout=30)
        try:
            if self.error is not None:
                raise self.error
            return dict(self.states)
        finally:
            self.finished.set()


def inline(work: object) -> None:
    work()  # type: ignore[operator]


def test_a_copy_is_used_as_is_until_it_is_due() -> None:
    # Given a cache that read the table once
    clock, table, failures = FakeClock(), Table(), list[BaseException]()
    cache = HealthCache(table.read, clock.now, failures.append, runner=inline)
    assert dict(cache.states()) == {}
    # When the table changes and the cache is asked again before REFRESH_AHEAD_S
    table.states = {"m1": OPEN}
    clock.advance(REFRESH_AHEAD_S - 0.01)
    # Then it answers from its copy without reading; from REFRESH_AHEAD_S on it reads again
    assert dict(cache.states()) == {}
    assert table.reads == 1
    clock.advance(0.01)
    assert dict(cache.states()) == {"m1": OPEN}
    assert table.reads == 2


def test_a_refresh_ahead_runs_beside_the_request() -> None:
    # Given a cache with a copy due for a refresh ahead, and a table that hangs
    clock, table, failures = FakeClock(), Table(), list[BaseException]()
    table.states = {"m2": CLOSED}
    cache = HealthCache(table.read, clock.now, failures.append, runner=in_thread)
    cache.states()  # the first read: no copy yet, so this caller waits (at most READ_WAIT_S)
    _settled(cache)
    table.gate.clear()
    table.finished.clear()
    table.states = {"m1": OPEN}
    clock.advance(REFRESH_AHEAD_S)
    # When a request asks while the read hangs
    seen = dict(cache.states())
    # Then it got the copy it had at once (the read has not finished), and one read is under way
    assert seen == {"m2": CLOSED}
    assert not table.finished.is_set()
    assert dict(cache.states()) == {"m2": CLOSED}
    assert cache.reads == 2
    # And once the read lands, the next request sees it
    table.gate.set()
    table.finished.wait(timeout=30)
    assert _settled(cache) == {"m1": OPEN}


def test_an_expired_copy_waits_for_a_hung_table_at_most_read_wait() -> None:
    # Given a copy older than CACHE_S and a table that hangs
    clock, table, failures = FakeClock(), Table(), list[BaseException]()
    cache = HealthCache(table.read, clock.now, failures.append, runner=in_thread)
    cache.states()
    _settled(cache)
    table.gate.clear()
    table.finished.clear()
    clock.advance(CACHE_S)
    # When a request asks (its wait is bounded by READ_WAIT_S), and another asks during the read
    answers: list[dict[str, SharedState]] = []

    def ask() -> None:
        answers.append(dict(cache.states()))

    asker = threading.Thread(target=ask)
    asker.start()
    asker.join(timeout=30 * READ_WAIT_S)
    # Then both got the old copy while the read still hangs
    assert answers == [{}]
    assert not table.finished.is_set()
    assert dict(cache.states()) == {}
    table.gate.set()
    _settled(cache)


def test_a_failed_read_keeps_the_copy_and_waits_a_cache_period_before_trying_again() -> None:
    # Given a cache holding m1 open
    clock, table, failures = FakeClock(), Table(), list[BaseException]()
    table.states = {"m1": OPEN}
    cache = HealthCache(table.read, clock.now, failures.append, runner=inline)
    cache.states()
    # When the next read fails
    table.error = RuntimeError("throttled")
    clock.advance(CACHE_S)
    # Then the copy is kept and the failure reported, and the table is left alone for a while
    assert dict(cache.states()) == {"m1": OPEN}
    assert [str(error) for error in failures] == ["throttled"]
    clock.advance(REFRESH_AHEAD_S - 0.01)
    assert dict(cache.states()) == {"m1": OPEN}
    assert table.reads == 2


def test_what_this_container_wrote_survives_a_read_that_began_before() -> None:
    # Given a read that begins, then this container opens m1 (noting it) before the read returns
    clock, failures = FakeClock(), list[BaseException]()
    cache: HealthCache

    def read() -> dict[str, SharedState]:
        clock.advance(0.01)
        cache.note(OPEN)
        return {}

    cache = HealthCache(read, clock.now, failures.append, runner=inline)
    # When the read lands
    states = dict(cache.states())
    # Then the copy keeps what was written after the read began
    assert states == {"m1": OPEN}


def _settled(cache: HealthCache) -> dict[str, SharedState]:
    """The copy once no refresh is under way."""
    for _ in range(3000):
        with cache._lock:
            if cache._done is None:
                return dict(cache._copy)
        threading.Event().wait(0.01)
    raise AssertionError("the refresh never finished")
