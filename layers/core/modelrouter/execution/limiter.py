"""A cap on concurrent calls per provider endpoint, per container."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from modelrouter.providers.errors import OverloadedError

__all__ = ["ConcurrencyLimiter", "SlotUnavailableError"]


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
