"""Breakers shared by every container: the in-memory breakers first, the HealthTable's behind them.

The container's :class:`~modelrouter.execution.breaker.CircuitBreakers` answer at once and are the whole
story when the table is missing or failing. The shared breaker (:mod:`modelrouter.health.items`) is
merged into every answer:

- ``cooling()`` / ``allow()``: a model is skipped when either breaker skips it; the shared state comes
  from the container's :class:`~modelrouter.health.cache.HealthCache` (no I/O per request).
- ``permit()``: the local permit first; then, when the shared breaker is half-open, the one probe lease
  across all containers (a conditional write; a container that loses the race skips the model).
- concluding a permit: a retryable failure ``ADD``\\ s to the model's window counter; the container
  whose count reaches ``cooldown.failures`` opens the shared breaker (conditional: one opening, one
  ``BreakerOpened``). A probe is always concluded: an answer closes the breaker, a failure re-opens
  it, no verdict frees the lease; a container that dies mid-probe frees it when the lease expires.

A store error never reaches the request: it counts ``HealthStoreFailures`` and the local breaker decides.
Healthy calls write nothing, so in steady state the only I/O is the cache's ``Query``.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Final

from modelrouter.execution.breaker import CircuitBreakers, Permit
from modelrouter.health.cache import HealthCache, Runner, in_thread
from modelrouter.health.items import (
    ALL_MODELS,
    PROBE_MARGIN_S,
    PROBING_WAIT_S,
    HealthSignal,
    epoch_ms,
    window_start_ms,
)
from modelrouter.health.store import BreakerStore
from modelrouter.policy.execution import Cooldown
from modelrouter.telemetry_names import Metric

__all__ = ["DEFAULT_PROBE_HOLD_S", "SharedBreakers", "SharedPermit", "no_signal"]

DEFAULT_PROBE_HOLD_S: Final = 60.0
"""How long a probe lease lasts (plus :data:`PROBE_MARGIN_S`) when the caller does not say."""
_OTHER: Final = "(another container)"


def no_signal(metric: str, model: str, detail: str) -> None:
    """A :data:`~modelrouter.health.items.HealthSignal` that reports nothing."""


class SharedPermit(Permit):
    """A permit of both breakers: the container's, and (when it is the shared probe) the table's lease."""

    def __init__(self, owner: SharedBreakers, local: Permit, token: str | None, gen: int) -> None:
        super().__init__(owner, local.model_id, probe=local.probe or token is not None)
        self.local = local
        """The in-memory breaker's permit (concluded with this one)."""
        self.token = token
        """The shared probe lease this call holds, if it is the shared probe."""
        self.gen = gen
        """The shared breaker's generation the call started in (names the failure counter)."""


class SharedBreakers:
    """:class:`~modelrouter.execution.breaker.Breakers` over the container's breakers and the HealthTable."""

    def __init__(
        self,
        local: CircuitBreakers,
        store: BreakerStore,
        *,
        cooldown: Cooldown | None = None,
        wall: Callable[[], float] = time.time,
        signal: HealthSignal = no_signal,
        runner: Runner = in_thread,
    ) -> None:
        """``wall``: epoch seconds (the table's times are compared across containers); ``runner``: how
        the cache refreshes (a background thread; inline in tests)."""
        self.local = local
        """The container's own breakers (the first layer)."""
        self._store = store
        self._cooldown = cooldown or Cooldown()
        self._wall = wall
        self._signal = signal
        self.cache = HealthCache(
            store.read_states, wall, lambda e: self._store_failed(ALL_MODELS, e), runner=runner
        )
        """The container's copy of the shared states."""
        self._container = uuid.uuid4().hex[:12]
        self._tokens = itertools.count(1)
        self._token_lock = threading.Lock()

    def renew_identity(self) -> None:
        """Name this container anew in the probe leases it takes (after a SnapStart restore, every
        container restored from the snapshot would otherwise share one name)."""
        with self._token_lock:
            self._container = uuid.uuid4().hex[:12]

    def use_cooldown(self, cooldown: Cooldown) -> None:
        """Apply a new policy's cooldown settings to both layers (state is kept)."""
        self._cooldown = cooldown
        self.local.use_cooldown(cooldown)

    def permit(self, model_id: str, hold_s: float | None = None) -> Permit | None:
        """The local permit, and the shared probe lease when the shared breaker is half-open; None when
        either breaker skips the model (or another container won the probe)."""
        local = self.local.permit(model_id, hold_s)
        if local is None:
            return None
        now_ms = epoch_ms(self._wall())
        state = self.cache.states().get(model_id)
        if state is None or state.open_until is None:
            return SharedPermit(self, local, None, state.gen if state else 0)
        if state.wait_s(now_ms) is not None:
            local.release()
            return None
        token = self._token()
        until = now_ms + epoch_ms((hold_s or DEFAULT_PROBE_HOLD_S) + PROBE_MARGIN_S)
        try:
            taken = self._store.take_probe(model_id, token, now_ms, until)
        except Exception as error:
            self._store_failed(model_id, error)
            return SharedPermit(self, local, None, state.gen)  # the table cannot say: the local one decides
        if taken is None:  # another container probes (or it changed): skip it until the cache knows more
            busy_until = now_ms + epoch_ms(PROBING_WAIT_S)
            self.cache.note(dataclasses.replace(state, probe_by=_OTHER, probe_until=busy_until))
            local.release()
            return None
        self.cache.note(taken)
        return SharedPermit(self, local, token, taken.gen)

    def allow(self, model_id: str) -> bool:
        """Whether a call to ``model_id`` could start now in both layers (takes no probe, no I/O)."""
        if not self.local.allow(model_id):
            return False
        state = self.cache.states().get(model_id)
        return state is None or state.wait_s(epoch_ms(self._wall())) is None

    def cooling(self) -> dict[str, float]:
        """Models either layer skips now, with the longer of the two waits."""
        waits = dict(self.local.cooling())
        now_ms = epoch_ms(self._wall())
        for model, state in self.cache.states().items():
            wait = state.wait_s(now_ms)
            if wait is not None:
                waits[model] = max(wait, waits.get(model, 0.0))
        return waits

    def open_models(self) -> frozenset[str]:
        """Models currently skipped (the ``cooling_down`` set)."""
        return frozenset(self.cooling())

    def _conclude(self, permit: Permit, healthy: bool | None) -> None:
        if not isinstance(permit, SharedPermit):
            return
        permit.local._conclude(healthy)
        try:
            if permit.token is not None:
                self._conclude_probe(permit, healthy)
            elif healthy is False:
                self._count_failure(permit)
        except Exception as error:
            self._store_failed(permit.model_id, error)

    def _conclude_probe(self, permit: SharedPermit, healthy: bool | None) -> None:
        model, token = permit.model_id, permit.token or ""
        now_ms = epoch_ms(self._wall())
        if healthy is True:
            state = self._store.close(model, token, now_ms)
        elif healthy is False:
            state = self._store.reopen(model, token, now_ms, epoch_ms(self._cooldown.pause_s))
            if state is not None:
                self._emit(Metric.BREAKER_OPENED, model, "a probe failed")
        else:
            state = self._store.free_probe(model, token)
        if state is not None:
            self.cache.note(state)

    def _count_failure(self, permit: SharedPermit) -> None:
        cooldown, model = self._cooldown, permit.model_id
        now = self._wall()
        window = window_start_ms(now, cooldown.window_s)
        count = self._store.count_failure(model, permit.gen, window, epoch_ms(cooldown.window_s))
        if count < cooldown.failures:
            return
        opened = self._store.open(model, permit.gen, epoch_ms(now), epoch_ms(cooldown.pause_s))
        if opened is not None:
            self.cache.note(opened)
            self._emit(Metric.BREAKER_OPENED, model, f"{count} retryable failures in the window")

    def _token(self) -> str:
        with self._token_lock:
            return f"{self._container}:{next(self._tokens)}"

    def _store_failed(self, model: str, error: BaseException) -> None:
        self._emit(Metric.HEALTH_STORE_FAILURES, model, f"{type(error).__name__}: {str(error)[:200]}")

    def _emit(self, metric: str, model: str, detail: str) -> None:
        try:
            self._signal(metric, model, detail)
        except Exception:  # telemetry never breaks a request
            return
