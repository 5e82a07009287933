"""Per-model circuit breakers: skip a model that keeps failing, probe it again after a pause.

State lives in the container's memory: each Lambda container learns on its own. That is enough to stop
one container from hammering a failing model on every request; the decision engine sees open breakers
as the ``cooling_down`` skip reason.

Every call goes through a :class:`Permit`. A permit is concluded exactly once: healthy, failed, or
neither (the call never happened, or its outcome says nothing about the model's health). A permit that
leaves its ``with`` block unconcluded is concluded as "neither", so a half-open probe can never be
left taken: whatever way the executor leaves (deadline, budget, an exception of any type), the next
request may probe again.

:class:`Breakers` is what the executor and the service use: these in-memory breakers, or
:class:`~modelrouter.health.breakers.SharedBreakers`, which puts a breaker shared by every container
(in the HealthTable) behind them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

from modelrouter.execution.clock import Clock
from modelrouter.policy.execution import Cooldown

__all__ = ["Breakers", "CircuitBreakers", "Permit"]


class _Concluder(Protocol):
    """Whoever handed out a permit: told once how it ended."""

    def _conclude(self, permit: Permit, healthy: bool | None) -> None: ...


class Breakers(Protocol):
    """Per-model breakers as the executor and the service use them."""

    def use_cooldown(self, cooldown: Cooldown) -> None:
        """Apply a new policy's cooldown settings (state is kept)."""
        ...

    def permit(self, model_id: str, hold_s: float | None = None) -> Permit | None:
        """Leave to call ``model_id`` now (a probe lease, if any, lasts ``hold_s`` plus a margin), or
        None while its breaker is open."""
        ...

    def allow(self, model_id: str) -> bool:
        """Whether a call to ``model_id`` could start now (takes no probe)."""
        ...

    def cooling(self) -> dict[str, float]:
        """Models skipped now, each with the seconds until one of its requests may probe it again."""
        ...

    def open_models(self) -> frozenset[str]:
        """Models currently skipped: the ``cooling_down`` set."""
        ...


@dataclass
class _State:
    failures: deque[float] = field(default_factory=deque)
    opened_at: float | None = None
    probing: bool = False


class Permit:
    """Leave to call one model once; conclude it with :meth:`healthy`, :meth:`failed` or :meth:`release`."""

    def __init__(self, breakers: _Concluder, model_id: str, probe: bool) -> None:
        self.model_id = model_id
        """The model the call goes to."""
        self.probe = probe
        """Whether this is the half-open breaker's one probe."""
        self._breakers = breakers
        self.concluded = False
        """Whether the permit has been concluded (it can be only once)."""

    def healthy(self) -> None:
        """The model answered: close its breaker."""
        self._conclude(True)

    def failed(self) -> None:
        """A retryable failure (5xx, throttling, timeout): count it; a failed probe re-opens at once."""
        self._conclude(False)

    def release(self) -> None:
        """No verdict: the call did not happen, or its outcome says nothing about the model's health."""
        self._conclude(None)

    def _conclude(self, healthy: bool | None) -> None:
        if self.concluded:
            return
        self.concluded = True
        self._breakers._conclude(self, healthy)

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


class CircuitBreakers:
    """One breaker per model id: closed, open (skipped), or half-open (one probe allowed)."""

    def __init__(self, cooldown: Cooldown, clock: Clock) -> None:
        self._cooldown = cooldown
        self._clock = clock
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def use_cooldown(self, cooldown: Cooldown) -> None:
        """Apply a new policy's cooldown settings (state is kept)."""
        self._cooldown = cooldown

    def permit(self, model_id: str, hold_s: float | None = None) -> Permit | None:
        """Leave to call ``model_id`` now, or None while its breaker is open (half-open: one probe;
        ``hold_s`` does not matter in memory: a probe ends with its permit)."""
        with self._lock:
            state = self._states.get(model_id)
            if state is None or state.opened_at is None:
                return Permit(self, model_id, probe=False)
            if self._clock.now() - state.opened_at < self._cooldown.pause_s or state.probing:
                return None
            state.probing = True
            return Permit(self, model_id, probe=True)

    def allow(self, model_id: str) -> bool:
        """Whether a call to ``model_id`` could start now (takes no probe)."""
        with self._lock:
            state = self._states.get(model_id)
            if state is None or state.opened_at is None:
                return True
            return not state.probing and self._clock.now() - state.opened_at >= self._cooldown.pause_s

    def _conclude(self, permit: Permit, healthy: bool | None) -> None:
        now = self._clock.now()
        with self._lock:
            state = self._states.get(permit.model_id)
            if state is None:
                if healthy is False:
                    state = self._states.setdefault(permit.model_id, _State())
                else:
                    return
            if permit.probe:
                state.probing = False
            if healthy is True:
                self._states.pop(permit.model_id, None)
                return
            if healthy is None:
                return
            if permit.probe or state.opened_at is not None:
                state.opened_at = now  # a failed probe, or a failure while open: pause again
                state.failures.clear()
                return
            state.failures.append(now)
            while state.failures and now - state.failures[0] > self._cooldown.window_s:
                state.failures.popleft()
            if len(state.failures) >= self._cooldown.failures:
                state.opened_at = now
                state.failures.clear()

    def cooling(self) -> dict[str, float]:
        """Models skipped now, each with the seconds until one of its requests may probe it again."""
        now = self._clock.now()
        with self._lock:
            waits = {}
            for model, state in self._states.items():
                if state.opened_at is None:
                    continue
                left = self._cooldown.pause_s - (now - state.opened_at)
                if state.probing:  # the probe's answer decides; a second from now is the soonest
                    waits[model] = max(left, 1.0)
                elif left > 0:
                    waits[model] = left
            return waits

    def open_models(self) -> frozenset[str]:
        """Models currently skipped (open and still pausing, or being probed): the ``cooling_down`` set."""
        return frozenset(self.cooling())
