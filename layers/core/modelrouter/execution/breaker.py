"""Per-model circuit breakers: skip a model that keeps failing, probe it again after a pause.

State lives in the container's memory: each Lambda container learns on its own. That is enough to stop
one container from hammering a failing model on every request; the decision engine sees open breakers
as the ``cooling_down`` skip reason.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from modelrouter.execution.clock import Clock
from modelrouter.policy.execution import Cooldown

__all__ = ["CircuitBreakers"]


@dataclass
class _State:
    failures: deque[float] = field(default_factory=deque)
    opened_at: float | None = None
    probing: bool = False


class CircuitBreakers:
    """One breaker per model id: closed, open (skipped), or half-open (one probe allowed)."""

    def __init__(self, cooldown: Cooldown, clock: Clock) -> None:
        self._cooldown = cooldown
        self._clock = clock
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def allow(self, model_id: str) -> bool:
        """Whether a call to ``model_id`` may start now (half-open lets exactly one probe through)."""
        with self._lock:
            state = self._states.get(model_id)
            if state is None or state.opened_at is None:
                return True
            if self._clock.now() - state.opened_at < self._cooldown.pause_s or state.probing:
                return False
            state.probing = True
            return True

    def record_success(self, model_id: str) -> None:
        """A call succeeded: close the breaker and forget past failures."""
        with self._lock:
            self._states.pop(model_id, None)

    def record_failure(self, model_id: str) -> None:
        """A retryable failure: count it and open at the threshold; a failed probe re-opens at once."""
        now = self._clock.now()
        with self._lock:
            state = self._states.setdefault(model_id, _State())
            if state.probing:
                state.opened_at, state.probing = now, False
                return
            state.failures.append(now)
            while state.failures and now - state.failures[0] > self._cooldown.window_s:
                state.failures.popleft()
            if len(state.failures) >= self._cooldown.failures:
                state.opened_at = now
                state.failures.clear()

    def open_models(self) -> frozenset[str]:
        """Models currently skipped (open and still pausing): pass to the decision as ``cooling_down``."""
        now = self._clock.now()
        with self._lock:
            return frozenset(
                model
                for model, state in self._states.items()
                if state.opened_at is not None
                and (now - state.opened_at < self._cooldown.pause_s or state.probing)
            )
