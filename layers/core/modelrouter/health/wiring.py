"""A router container's breakers and leases: shared through the HealthTable when there is one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from modelrouter import timeouts
from modelrouter.execution.breaker import Breakers, CircuitBreakers
from modelrouter.execution.clock import SystemClock
from modelrouter.execution.limiter import CallLeases
from modelrouter.health.items import HealthSignal
from modelrouter.policy.execution import Cooldown

__all__ = ["HEALTH_CONNECT_TIMEOUT_S", "HEALTH_MAX_ATTEMPTS", "HEALTH_READ_TIMEOUT_S", "container_health"]

HEALTH_CONNECT_TIMEOUT_S: Final = timeouts.HEALTH_CONNECT_TIMEOUT_S
"""Connect timeout of the health client (a slow table must not hold a call up for long)."""
HEALTH_READ_TIMEOUT_S: Final = timeouts.HEALTH_READ_TIMEOUT_S
"""Read timeout of the health client."""
HEALTH_MAX_ATTEMPTS: Final = timeouts.HEALTH_MAX_ATTEMPTS
"""Attempts per health call, the first included (a retried lease write is recognised as the same)."""


def container_health(
    table: str | None,
    client: Any = None,
    *,
    signal: HealthSignal | None = None,
    wall: Callable[[], float] = time.time,
) -> tuple[Breakers, CallLeases | None]:
    """The container's breakers, and its ``max_concurrency`` leases (None without a table).

    Without ``table`` the breakers are the container's own (as before the table existed). With it, they
    share state through it; ``client`` is the DynamoDB client to use (None: one with the short
    timeouts above, created now, at cold start). The first policy's cooldown replaces the default.
    """
    local = CircuitBreakers(Cooldown(), SystemClock())
    if table is None:
        return local, None
    from modelrouter.health.breakers import SharedBreakers, no_signal
    from modelrouter.health.leases import ConcurrencyLeases
    from modelrouter.health.store import BreakerStore

    if client is None:
        from modelrouter.aws import aws_client

        client = aws_client(
            "dynamodb",
            connect_timeout_s=HEALTH_CONNECT_TIMEOUT_S,
            read_timeout_s=HEALTH_READ_TIMEOUT_S,
            max_attempts=HEALTH_MAX_ATTEMPTS,
        )
    emit = signal or no_signal
    breakers = SharedBreakers(local, BreakerStore(table, client), wall=wall, signal=emit)
    return breakers, ConcurrencyLeases(table, client, wall=wall, signal=emit)
