"""What shared health costs a request (the ``health`` suite of ``make bench``).

Against a moto server on localhost (the real wire: botocore serialisation, signing, HTTP, parsing; real
DynamoDB adds its network round trip on top), with the HealthTable as ``template.yaml`` defines it:

- **cache read added per request**: a request's breaker work (``cooling()`` for the decision,
  ``permit()`` and its conclusion for the call) with :class:`~modelrouter.health.SharedBreakers`, minus
  the same with the container's in-memory breakers alone. Steady traffic (a request every
  :data:`STEADY_GAP_S` of the breakers' clock): the state ``Query`` runs in a background thread and no
  request waits for it. An idle container (a request every ``CACHE_S``): each request starts a read and
  waits for it (at most ``READ_WAIT_S``) — the worst case.
- **cap lease per capped call**: taking and giving back a ``max_concurrency`` lease (two conditional
  ``UpdateItem`` round trips) around a call that itself takes no time.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchmarks.harness import Result, percentile
from benchmarks.router_env import moto_environment

__all__ = ["IDLE_REQUESTS", "LEASE_CALLS", "STEADY_GAP_S", "STEADY_REQUESTS", "run_health"]

STEADY_REQUESTS = 2000
"""Requests of the steady-traffic run."""
STEADY_GAP_S = 0.005
"""Gap between steady requests, slept for real (200 requests/s in one container: 10 s in all)."""
IDLE_REQUESTS = 200
"""Requests of the idle-container run (each one cache period after the last)."""
LEASE_CALLS = 500
"""Capped calls timed."""
_MODEL = "bench-model"


class _Wall:
    """The breakers' epoch clock, moved by the benchmark (so a run needs no real waiting)."""

    def __init__(self) -> None:
        self.time = time.time()

    def __call__(self) -> float:
        return self.time


def _request(breakers: Any) -> None:
    """One request's breaker work: the decision's ``cooling()``, then a permit for the call, healthy."""
    breakers.cooling()
    permit = breakers.permit(_MODEL, 10.0)
    permit.healthy()


def _timed(requests: int, breakers: Any, gap_s: float, wall: _Wall, *, sleep: bool) -> list[float]:
    """Each of ``requests`` requests' breaker work, ``gap_s`` apart on ``wall`` (and slept, untimed, when
    ``sleep``: the background refresh then runs between requests as it would in a container), in ms."""
    durations = []
    for _ in range(requests):
        wall.time += gap_s
        if sleep:
            time.sleep(gap_s)
        start = time.perf_counter_ns()
        _request(breakers)
        durations.append((time.perf_counter_ns() - start) / 1e6)
    return durations


def _added(shared: list[float], local: list[float]) -> tuple[float, float]:
    """p50 and p99 of the shared runs minus the in-memory runs' median."""
    base = statistics.median(local)
    return statistics.median(shared) - base, percentile(shared, 0.99) - base


def _breaker_rows(client: Any, table: str) -> list[Result]:
    from modelrouter.execution.breaker import CircuitBreakers
    from modelrouter.execution.clock import SystemClock
    from modelrouter.health import BreakerStore, SharedBreakers
    from modelrouter.health.cache import CACHE_S, READ_WAIT_S, REFRESH_AHEAD_S
    from modelrouter.policy.execution import Cooldown

    rows = []
    for label, requests, gap in (
        ("steady traffic", STEADY_REQUESTS, STEADY_GAP_S),
        ("idle container", IDLE_REQUESTS, CACHE_S),
    ):
        wall = _Wall()
        local = CircuitBreakers(Cooldown(), SystemClock())
        shared = SharedBreakers(
            CircuitBreakers(Cooldown(), SystemClock()), BreakerStore(table, client), wall=wall
        )
        sleep = gap < CACHE_S
        _timed(20, shared, gap, wall, sleep=sleep)  # warm: client, connection, first read
        reads_before = shared.cache.reads
        shared_ms = _timed(requests, shared, gap, wall, sleep=sleep)
        local_ms = _timed(requests, local, gap, wall, sleep=False)
        reads = shared.cache.reads - reads_before
        p50, p99 = _added(shared_ms, local_ms)
        wait = (
            "in a background thread, none waited on"
            if sleep
            else f"each waited on, ≤ {READ_WAIT_S * 1000:g} ms"
        )
        rows.append(
            Result(
                f"health: cache read added/request, {label}",
                requests,
                p50,
                p99,
                None,
                f"a request every {gap * 1000:g} ms; {reads} state Query ({wait}); "
                f"refresh from {REFRESH_AHEAD_S:g} s, copy ≤ {CACHE_S:g} s; moto server",
            )
        )
    return rows


def _lease_rows(client: Any, table: str) -> list[Result]:
    from modelrouter.health import ConcurrencyLeases

    calls: dict[str, int] = {}
    client.meta.events.register(
        "before-call.dynamodb.*",
        lambda event_name, **_: calls.__setitem__(event_name, calls.get(event_name, 0) + 1),
    )
    leases = ConcurrencyLeases(table, client)

    def capped_call() -> None:
        with leases.hold(_MODEL, 8, 30.0):
            pass

    for _ in range(20):
        capped_call()
    calls.clear()
    durations = []
    for _ in range(LEASE_CALLS):
        start = time.perf_counter_ns()
        capped_call()
        durations.append((time.perf_counter_ns() - start) / 1e6)
    per_call = sum(calls.values()) / LEASE_CALLS
    operations = ", ".join(
        f"{name.rsplit('.', 1)[-1]} {count / LEASE_CALLS:g}" for name, count in sorted(calls.items())
    )
    return [
        Result(
            "health: cap lease added/capped call",
            LEASE_CALLS,
            statistics.median(durations),
            percentile(durations, 0.99),
            None,
            f"take + give back a max_concurrency lease: {operations}; moto server on localhost as the "
            "real-wire stand-in (real DynamoDB adds two network round trips)",
        ),
        Result(
            "health: DynamoDB calls/capped call [count]",
            LEASE_CALLS,
            per_call,
            None,
            2.0,
            "value is a count, not ms; models without max_concurrency make none",
        ),
    ]


def run_health() -> list[Result]:
    """The shared-health rows."""
    import boto3
    from botocore.config import Config

    from modelrouter.health.wiring import HEALTH_CONNECT_TIMEOUT_S, HEALTH_MAX_ATTEMPTS, HEALTH_READ_TIMEOUT_S

    config = Config(  # the health client's settings (modelrouter.health.wiring)
        connect_timeout=HEALTH_CONNECT_TIMEOUT_S,
        read_timeout=HEALTH_READ_TIMEOUT_S,
        retries={"max_attempts": HEALTH_MAX_ATTEMPTS, "mode": "standard"},
    )
    with moto_environment() as environment:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        client = session.client("dynamodb", endpoint_url=environment["AWS_ENDPOINT_URL"], config=config)
        table = environment["HEALTH_TABLE"]
        return [*_breaker_rows(client, table), *_lease_rows(client, table)]
