"""Distributed max_concurrency (health.leases over the HealthTable on moto, through the executor): the
cap holds under 200 concurrent calls from four containers, no lease leaks after exceptions, cancelled
streams or a holder that dies, and models without a cap make no lease calls."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.fakes import FakeClock, ScriptedProvider, Streamed, answer
from tests.health_rig import Container, HealthRig, m1_policy, rig_fixture  # noqa: F401 (the rig fixture)
from tests.helpers import chat, features, wait_for

from modelrouter.execution import ExecutionError, Executor, SystemClock, request_deadline
from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.limiter import SlotUnavailableError
from modelrouter.execution.records import AttemptLog
from modelrouter.execution.streaming import StreamDelta, stream
from modelrouter.health.leases import LEASE_MARGIN_S
from modelrouter.policy import Policy, ProviderKind
from modelrouter.providers.errors import ProviderServerError
from modelrouter.providers.types import ProviderCall, ProviderResult
from modelrouter.selection import Decision, RequestContext, decide
from modelrouter.telemetry_names import Metric

CAP = 5
CALLS = 200
CONTAINERS = 4


class CountingProvider:
    """Counts calls in flight (their maximum), holds the first ``gated`` calls until released, and
    raises a fault on some calls: a RuntimeError (an adapter bug) every 7th, a 500 every 5th."""

    kind = ProviderKind.BEDROCK

    def __init__(self, gated: int = 0) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0
        self.gated = gated
        self.gate = threading.Event()

    def complete(self, call: ProviderCall) -> ProviderResult:
        with self.lock:
            self.calls += 1
            number = self.calls
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if number <= self.gated:
                self.gate.wait(timeout=60)
            else:
                time.sleep(0.002)  # room for other threads to overlap (never asserted on)
            if number % 7 == 0:
                raise RuntimeError("adapter bug mid-call")
            if number % 5 == 0:
                raise ProviderServerError("boom")
            return answer()
        finally:
            with self.lock:
                self.in_flight -= 1


def executor_in(container: Container, policy: Policy, provider: Any) -> Executor:
    breakers = CircuitBreakers(policy.execution.cooldown, SystemClock())
    return Executor({ProviderKind.BEDROCK: provider}, policy, breakers=breakers, leases=container.leases)


def run_once(executor: Executor, policy: Policy, number: int) -> AttemptLog:
    """One request to m1 through ``executor``; its attempts, however it ended."""
    request = chat("hello")
    decision: Decision = decide(policy, request, RequestContext(f"req-{number}", "t1"), features=features())
    log = AttemptLog()
    with contextlib.suppress(ExecutionError):
        executor.execute(
            decision, request, request_deadline(SystemClock(), 20_000, policy.execution), log=log
        )
    return log


def refused(log: AttemptLog) -> int:
    return sum(1 for attempt in log.attempts if attempt.error_code == SlotUnavailableError.code)


def test_the_cap_holds_under_200_concurrent_calls_and_no_lease_leaks(rig: HealthRig) -> None:
    # Given four containers over one table, m1 capped at 5, and a lease whose holder died 20 s ago
    offset = [0.0]
    rig.clock.now = lambda: time.time() + offset[0]  # type: ignore[method-assign]
    policy = m1_policy(cap=CAP)
    provider = CountingProvider(gated=CAP)
    containers = [rig.container() for _ in range(CONTAINERS)]
    executors = [executor_in(c, policy, provider) for c in containers]
    containers[0].leases.acquire("m1", CAP, 0.0)
    offset[0] += LEASE_MARGIN_S + 5
    # When five calls hold m1 (the dead lease is reclaimed on the way) and a sixth comes
    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        held = [pool.submit(run_once, executors[i % CONTAINERS], policy, i) for i in range(CAP)]
        wait_for(lambda: provider.in_flight == CAP)
        sixth = run_once(executors[1], policy, 1000)
        # Then the sixth never reaches the model
        assert refused(sixth) == 1
        assert provider.calls == CAP
        provider.gate.set()
        # When 200 more calls run at once across the containers, with faults mid-call
        logs = [pool.submit(run_once, executors[i % CONTAINERS], policy, i) for i in range(CAP, CAP + CALLS)]
        results = [future.result() for future in held + logs] + [sixth]
    # Then no more than the cap were ever in flight, and every refusal was counted
    assert 1 <= provider.max_in_flight <= CAP
    refusals = sum(refused(log) for log in results)
    assert sum(c.signals.count(Metric.CAP_LEASE_REFUSED, "m1") for c in containers) == refusals
    assert provider.calls + refusals == CAP + CALLS + 1
    # And no lease leaked: none is held, and exactly the cap can be taken again
    count = containers[0].leases.count("m1")
    assert (count.held, count.leases) == (0, {})
    taken = [containers[i % CONTAINERS].leases.acquire("m1", CAP, 10.0) for i in range(CAP)]
    with pytest.raises(SlotUnavailableError):
        containers[0].leases.acquire("m1", CAP, 10.0)
    for lease in taken:
        containers[0].leases.release(lease)
    assert containers[0].leases.count("m1").held == 0
    assert not any(c.signals.count(Metric.HEALTH_STORE_FAILURES) for c in containers)


def test_a_cancelled_stream_gives_its_lease_back(rig: HealthRig) -> None:
    # Given a capped m1 that streams, and a client that reads one piece then goes away
    clock = FakeClock()
    policy = m1_policy(cap=1)
    container = rig.container()
    provider = ScriptedProvider(ProviderKind.BEDROCK, clock, {"m1": [Streamed(pieces=("a", "b", "c"))]})
    executor = Executor({ProviderKind.BEDROCK: provider}, policy, clock=clock, leases=container.leases)
    request = chat("hello")
    decision = decide(policy, request, RequestContext("req-1", "t1"), features=features())
    items = stream(executor, decision, request, deadline=request_deadline(clock, 10_000, policy.execution),
                   spend_limit_usd=None, log=AttemptLog(), guard_for=lambda: None)  # fmt: skip
    first = next(items)
    assert isinstance(first, StreamDelta)
    assert container.leases.count("m1").held == 1  # held while it streams
    # When the client goes away
    items.close()  # type: ignore[attr-defined]
    # Then the lease is given back
    assert container.leases.count("m1") == container.leases.count("m1").__class__(0, {})


def test_models_without_max_concurrency_make_no_lease_calls(rig: HealthRig) -> None:
    # Given an uncapped m1 in a container that has leases
    policy = m1_policy()
    container = rig.container()
    provider = ScriptedProvider(ProviderKind.BEDROCK, FakeClock(), {"m1": [answer()]})
    executor = Executor({ProviderKind.BEDROCK: provider}, policy, leases=container.leases)
    # When it serves a request
    log = run_once(executor, policy, 1)
    # Then the model answered and the table was not touched
    assert [a.outcome for a in log.attempts] == ["success"]
    assert sum(container.client.calls.values()) == 0


def test_a_lease_write_whose_answer_was_lost_is_given_back(rig: HealthRig) -> None:
    # Given a client whose first lease write lands but whose answer is lost (a read timeout)
    container = rig.container()
    real = container.client.update_item
    lost = [True]

    def update_item(**arguments: Any) -> Any:
        answer_ = real(**arguments)
        if lost[0]:
            lost[0] = False
            raise TimeoutError("read timeout")
        return answer_

    container.leases._client = _With(container.client, update_item=update_item)
    # When a call holds a lease around it
    with container.leases.hold("m1", CAP, 10.0):
        during = container.leases.count("m1").held
    # Then the call went ahead (counted as a store failure) and the lease it did take is back
    assert during == 1
    assert container.leases.count("m1").held == 0
    assert container.signals.count(Metric.HEALTH_STORE_FAILURES, "m1") == 1


def test_a_lease_given_back_twice_is_counted_once(rig: HealthRig) -> None:
    # Given two leases of m1
    container = rig.container()
    first = container.leases.acquire("m1", CAP, 10.0)
    container.leases.acquire("m1", CAP, 10.0)
    # When the first is released twice
    container.leases.release(first)
    container.leases.release(first)
    # Then one lease is still held
    assert container.leases.count("m1").held == 1


def test_a_missing_table_lets_calls_go_uncapped_and_counts_it(rig: HealthRig) -> None:
    # Given a container whose health table does not exist
    container = rig.container(table="no-such-table")
    # When a call takes a lease
    with container.leases.hold("m1", 1, 10.0):
        pass
    # Then it went ahead, and the failed take and give-back were counted
    assert container.signals.count(Metric.HEALTH_STORE_FAILURES, "m1") == 2


class _With:
    """``client`` with some methods replaced."""

    def __init__(self, client: Any, **methods: Any) -> None:
        self._client, self._methods = client, methods

    def __getattr__(self, name: str) -> Any:
        return self._methods.get(name) or getattr(self._client, name)
