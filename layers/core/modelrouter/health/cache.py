"""A container's copy of the shared breaker states, read at most once per :data:`CACHE_S`.

- A copy younger than :data:`REFRESH_AHEAD_S` is used as it is: no I/O.
- From :data:`REFRESH_AHEAD_S` on, the first caller starts one refresh in a background thread and uses
  the copy it has: while requests keep coming, the ``Query`` runs beside them, never in their way.
- From :data:`CACHE_S` on (an idle container), the caller that starts the refresh waits for it, at most
  :data:`READ_WAIT_S`; callers that find a refresh already running never wait.

A failed read keeps the last copy (and counts ``HealthStoreFailures``), and the next try comes a cache
period later, so a failing table is not hammered. Writes this container makes are applied to its copy at
once (:meth:`HealthCache.note`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from modelrouter import timeouts
from modelrouter.health.items import SharedState

__all__ = ["CACHE_S", "READ_WAIT_S", "REFRESH_AHEAD_S", "HealthCache", "in_thread"]

CACHE_S: Final = 2.0
"""Oldest copy a request decides on without trying a refresh: a change shows everywhere within this."""
REFRESH_AHEAD_S: Final = 1.5
"""Age from which a refresh starts in the background (requests keep using the copy meanwhile)."""
READ_WAIT_S: Final = timeouts.HEALTH_READ_WAIT_S
"""Longest a request waits for a refresh of an expired copy before deciding on the copy it has."""

Runner = Callable[[Callable[[], None]], None]
"""Runs a refresh: in a background thread (:func:`in_thread`), or inline (tests)."""


def in_thread(work: Callable[[], None]) -> None:
    """Run ``work`` in a new daemon thread."""
    threading.Thread(target=work, name="health-refresh", daemon=True).start()


class HealthCache:
    """The shared states as of the last read, refreshed as described in the module docstring."""

    def __init__(
        self,
        read: Callable[[], dict[str, SharedState]],
        wall: Callable[[], float],
        on_failure: Callable[[BaseException], None],
        *,
        runner: Runner = in_thread,
    ) -> None:
        self._read = read
        self._wall = wall
        self._on_failure = on_failure
        self._runner = runner
        self._copy: dict[str, SharedState] = {}
        self._read_at: float | None = None
        self._done: threading.Event | None = None
        self._notes: dict[str, tuple[float, SharedState]] = {}
        self._lock = threading.Lock()
        self.reads = 0
        """Refreshes started (a benchmark and the tests count them)."""

    def states(self) -> Mapping[str, SharedState]:
        """The current copy, refreshed first (or in the background) when it is due."""
        now = self._wall()
        with self._lock:
            age = float("inf") if self._read_at is None else now - self._read_at
            if age < REFRESH_AHEAD_S:
                return MappingProxyType(self._copy)
            starts = self._done is None
            if starts:
                self._done = threading.Event()
                self.reads += 1
            done = self._done
        if starts:
            try:
                self._runner(self._refresh)
            except Exception as error:  # no thread to be had: try again a cache period later
                self._finish(None, now, error)
            if age >= CACHE_S and done is not None:
                done.wait(READ_WAIT_S)
        with self._lock:
            return MappingProxyType(self._copy)

    def note(self, state: SharedState) -> None:
        """Apply a state this container just wrote to its copy (a refresh that began earlier keeps it)."""
        with self._lock:
            self._copy = {**self._copy, state.model: state}
            self._notes[state.model] = (self._wall(), state)

    def _refresh(self) -> None:
        started = self._wall()
        try:
            states = self._read()
        except Exception as error:  # the table is slow, throttled or down: keep the last copy
            self._finish(None, started, error)
            return
        self._finish(states, started, None)

    def _finish(
        self, states: dict[str, SharedState] | None, started: float, error: BaseException | None
    ) -> None:
        with self._lock:
            if states is not None:
                # What this container wrote after the read began is newer than what the read saw.
                self._notes = {m: (at, s) for m, (at, s) in self._notes.items() if at >= started}
                self._copy = {**states, **{m: s for m, (_, s) in self._notes.items()}}
            self._read_at = started
            done, self._done = self._done, None
        if done is not None:
            done.set()
        if error is not None:
            self._on_failure(error)
