"""Caps on concurrent calls: per provider endpoint in each container (:class:`ConcurrencyLimiter`), and
per model across every container (:class:`CallLeases`, opt-in with a model's ``max_concurrency``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from modelrouter.providers.errors import OverloadedError

__all__ = ["CallLeases", "ConcurrencyLimiter", "SlotUnavailableError"]


class SlotUnavailableError(OverloadedError):
    """No call slot freed in time: the model was never called, so its breaker learns nothing."""

    code = "no_call_slot"


class ConcurrencyLimiter:
    """Bounded semaphores keyed by endpoint; waiting for a slot counts against the deadline."""

    def __init__(self, max_per_endpoint: int) -> None:
        self._max = max_per_endpoint
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, endpoint: str, timeout_s: float) -> Iterator[None]:
        """Hold one slot of ``endpoint`` for the block; raise OverloadedError if none frees in time."""
        with self._lock:
            semaphore = self._slots.setdefault(endpoint, threading.BoundedSemaphore(self._max))
        if not semaphore.acquire(timeout=max(0.0, timeout_s)):
            busy = f"all {self._max} call slots for {endpoint} are busy"
            raise SlotUnavailableError(busy, provider="local")
        try:
            yield
        finally:
            semaphore.release()


class CallLeases(Protocol):
    """Leases of a model's ``max_concurrency`` shared by every container
    (:class:`~modelrouter.health.leases.ConcurrencyLeases`)."""

    def hold(self, model_id: str, cap: int, hold_s: float) -> AbstractContextManager[None]:
        """Hold one of ``cap`` leases for the block, for at most ``hold_s`` (plus a margin); given back
        however the block ends. Raises SlotUnavailableError when all are held."""
        ...
