"""Breakers shared by every container (health.breakers over the HealthTable on moto): a failure in one
container cools the model down in another within the cache time, one container opens and one probes,
and every probe is concluded."""

from __future__ import annotations

import pytest
from tests.fakes import HANG, ScriptedProvider, Step, Streamed
from tests.health_rig import COOLDOWN, Container, HealthRig, m1_policy, rig_fixture  # noqa: F401 (the rig fixture)
from tests.helpers import chat, features

from modelrouter.execution import ExecutionError, Executor, request_deadline
from modelrouter.execution.records import AttemptLog
from modelrouter.execution.streaming import stream
from modelrouter.health.cache import CACHE_S, REFRESH_AHEAD_S
from modelrouter.health.items import ALL_MODELS, PROBE_MARGIN_S, PROBING_WAIT_S
from modelrouter.policy import ProviderKind
from modelrouter.providers.types import ProviderCall, ProviderResult
from modelrouter.selection import RequestContext, decide
from modelrouter.telemetry_names import Metric

MODEL = "m1"


def fail(container: Container, times: int, model: str = MODEL) -> None:
    """``times`` calls to ``model`` in ``container`` that end in a retryable failure."""
    for _ in range(times):
        permit = container.breakers.permit(model, 10.0)
        assert permit is not None
        permit.failed()


def opened_pause(rig: HealthRig, opener: Container, *others: Container) -> None:
    """Open the shared breaker from ``opener``, let the pause pass, and refresh every copy."""
    fail(opener, COOLDOWN.failures)
    rig.clock.advance(COOLDOWN.pause_s + 0.001)
    for container in (opener, *others):
        rig.clock.advance(CACHE_S)
        container.breakers.cooling()


def test_a_failure_in_one_container_cools_the_model_down_in_another_within_the_cache_time(
    rig: HealthRig,
) -> None:
    # Given containers A and B; B has just read the shared states (nothing open)
    a, b = rig.container(), rig.container()
    assert b.breakers.cooling() == {}
    reads = b.breakers.cache.reads
    # When A's calls to m1 fail cooldown.failures times
    read_at = rig.clock.now()
    rig.clock.advance(0.1)
    fail(a, COOLDOWN.failures)
    opened_at = rig.clock.now()
    # Then A skips m1 at once, and opened the shared breaker exactly once
    assert MODEL in a.breakers.cooling()
    assert a.signals.count(Metric.BREAKER_OPENED, MODEL) == 1
    # And B, whose copy is not due yet, still lets m1 through without reading the table
    rig.clock.advance(REFRESH_AHEAD_S - 0.2)
    assert b.breakers.allow(MODEL)
    assert MODEL not in b.breakers.cooling()
    assert b.breakers.cache.reads == reads
    # And once its copy is due (at the latest a cache time after its read), B skips m1 for the rest of
    # the pause
    rig.clock.time = read_at + CACHE_S
    waits = b.breakers.cooling()
    assert b.breakers.cache.reads == reads + 1
    assert waits[MODEL] == pytest.approx(COOLDOWN.pause_s - (rig.clock.now() - opened_at), abs=0.002)
    assert b.breakers.permit(MODEL) is None
    assert not b.breakers.allow(MODEL)


def test_failures_in_different_containers_add_up(rig: HealthRig) -> None:
    # Given three containers, each below the threshold on its own
    containers = [rig.container() for _ in range(COOLDOWN.failures)]
    # When each sees one retryable failure of m1
    for container in containers:
        fail(container, 1)
    # Then the shared breaker is open (none of the local ones is) and the last one opened it
    assert all(not c.breakers.local.cooling() for c in containers)
    assert [c.signals.count(Metric.BREAKER_OPENED) for c in containers] == [0, 0, 1]
    rig.clock.advance(CACHE_S)
    assert all(MODEL in c.breakers.cooling() for c in containers)


def test_a_breaker_is_opened_once_when_several_containers_reach_the_threshold(rig: HealthRig) -> None:
    # Given two containers whose copies say m1 is closed
    a, b = rig.container(), rig.container()
    assert a.breakers.cooling() == b.breakers.cooling() == {}
    # When both see enough failures to open it (B after A opened it, on its stale copy)
    fail(a, COOLDOWN.failures)
    fail(b, COOLDOWN.failures)
    # Then one opening is counted in all
    assert a.signals.count(Metric.BREAKER_OPENED) + b.signals.count(Metric.BREAKER_OPENED) == 1


def test_one_probe_across_containers_and_its_answer_closes_the_breaker_everywhere(rig: HealthRig) -> None:
    # Given m1's shared breaker open and its pause over, seen by A and B
    a, b = rig.container(), rig.container()
    opened_pause(rig, a, b)
    # When A takes the probe and B asks too
    probe = a.breakers.permit(MODEL, 10.0)
    assert probe is not None
    assert probe.probe
    # Then B may not call m1 while A probes (it skips it for a second at least)
    assert b.breakers.permit(MODEL, 10.0) is None
    assert b.breakers.cooling()[MODEL] >= PROBING_WAIT_S
    # When the probe answers
    probe.healthy()
    # Then every container may call m1 again once its copy is refreshed
    rig.clock.advance(CACHE_S)
    assert a.breakers.cooling() == {}
    assert b.breakers.cooling() == {}
    permit = b.breakers.permit(MODEL, 10.0)
    assert permit is not None
    assert not permit.probe
    permit.healthy()
    # And failures before the close no longer count: two new ones do not re-open it
    fail(b, COOLDOWN.failures - 1)
    rig.clock.advance(CACHE_S)
    assert MODEL not in a.breakers.cooling()


def test_a_failed_probe_reopens_for_another_pause(rig: HealthRig) -> None:
    # Given A probing m1 after a pause
    a, b = rig.container(), rig.container()
    opened_pause(rig, a, b)
    probe = a.breakers.permit(MODEL, 10.0)
    assert probe is not None
    # When the probe fails
    probe.failed()
    # Then the breaker is open for a whole new pause, in A at once and in B within the cache time
    assert a.breakers.cooling()[MODEL] == pytest.approx(COOLDOWN.pause_s)
    rig.clock.advance(CACHE_S)
    assert b.breakers.cooling()[MODEL] == pytest.approx(COOLDOWN.pause_s - CACHE_S, abs=0.01)
    assert a.signals.count(Metric.BREAKER_OPENED) == 2  # the opening, then the re-opening


@pytest.mark.parametrize("exit_by", ["exception", "release"])
def test_a_probe_without_a_verdict_frees_the_lease_for_the_next_container(
    rig: HealthRig, exit_by: str
) -> None:
    # Given A holding the probe of m1
    a, b = rig.container(), rig.container()
    opened_pause(rig, a, b)
    probe = a.breakers.permit(MODEL, 10.0)
    assert probe is not None
    # When the call ends without a verdict: an exception leaves the block, or it never happened
    if exit_by == "exception":
        with pytest.raises(RuntimeError), probe:
            raise RuntimeError("adapter bug")
    else:
        probe.release()
    # Then B may probe as soon as its copy is refreshed (the breaker did not close: it still probes)
    rig.clock.advance(CACHE_S)
    second = b.breakers.permit(MODEL, 10.0)
    assert second is not None
    assert second.probe
    second.healthy()


def test_a_probe_whose_container_died_is_freed_when_its_lease_expires(rig: HealthRig) -> None:
    # Given A took m1's probe for a call of at most 5 s, then its process died (never concluded)
    a, b = rig.container(), rig.container()
    opened_pause(rig, a, b)
    assert a.breakers.permit(MODEL, 5.0) is not None
    # When B asks before the lease expires, and again after
    rig.clock.advance(5.0 + PROBE_MARGIN_S - CACHE_S - 0.1)
    b.breakers.cache.states()
    early = b.breakers.permit(MODEL, 5.0)
    rig.clock.advance(CACHE_S + 0.2)
    late = b.breakers.permit(MODEL, 5.0)
    # Then B is refused while the lease lives and probes once it expired
    assert early is None
    assert late is not None
    assert late.probe
    late.healthy()
    rig.clock.advance(CACHE_S)
    assert b.breakers.cooling() == {}
    assert rig.container().breakers.cooling() == {}


def test_a_missing_table_leaves_the_local_breakers_in_charge(rig: HealthRig) -> None:
    # Given a container whose health table does not exist
    c = rig.container(table="no-such-table")
    # When it reads the states and its calls to m1 fail enough to open a breaker
    assert c.breakers.cooling() == {}
    fail(c, COOLDOWN.failures)
    # Then nothing raised, its own breaker skips m1, and every store failure was counted
    assert MODEL in c.breakers.cooling()
    assert c.signals.count(Metric.HEALTH_STORE_FAILURES, ALL_MODELS) == 1
    assert c.signals.count(Metric.HEALTH_STORE_FAILURES, MODEL) == COOLDOWN.failures
    assert c.signals.count(Metric.BREAKER_OPENED) == 0


def test_healthy_traffic_reads_once_per_cache_period_and_writes_nothing(rig: HealthRig) -> None:
    # Given a container serving 1,000 healthy calls over 10 s of its clock
    c = rig.container()
    for _ in range(1000):
        c.breakers.cooling()
        permit = c.breakers.permit(MODEL, 10.0)
        assert permit is not None
        permit.healthy()
        rig.clock.advance(0.01)
    # Then it made no write and read the states at most once per REFRESH_AHEAD_S
    assert set(c.client.calls) == {"query"}
    assert c.client.calls["query"] <= 10.0 / REFRESH_AHEAD_S + 1


def crash(call: ProviderCall) -> ProviderResult:
    raise RuntimeError("adapter bug")


@pytest.mark.parametrize("ending", ["timeout", "crash", "stream cancelled"])
def test_a_probe_through_the_executor_is_concluded_however_the_call_ends(rig: HealthRig, ending: str) -> None:
    # Given m1's shared breaker half-open, and A's executor about to probe it
    a, b = rig.container(), rig.container()
    opened_pause(rig, a, b)
    policy = m1_policy()
    steps: dict[str, Step] = {
        "timeout": HANG,
        "crash": crash,
        "stream cancelled": Streamed(pieces=("a", "b")),
    }
    step = steps[ending]
    provider = ScriptedProvider(ProviderKind.BEDROCK, rig.clock, {"m1": [step]})
    executor = Executor({ProviderKind.BEDROCK: provider}, policy, clock=rig.clock, breakers=a.breakers)
    request = chat("hello")
    decision = decide(policy, request, RequestContext("req-1", "t1"), features=features())
    deadline = request_deadline(rig.clock, 10_000, policy.execution)
    # When the probe call times out, crashes, or its stream is dropped by the client after a piece
    if ending == "stream cancelled":
        items = stream(executor, decision, request, deadline=deadline, spend_limit_usd=None,
                       log=AttemptLog(), guard_for=lambda: None)  # fmt: skip
        next(items)
        items.close()  # type: ignore[attr-defined]
    else:
        with pytest.raises(ExecutionError):
            executor.execute(decision, request, deadline)
    assert provider.calls_to("m1") == 1
    # Then the probe was concluded: a timeout re-opened the breaker for a whole pause, anything
    # without a verdict freed the lease, so another container probes next
    rig.clock.advance(CACHE_S)
    if ending == "timeout":
        assert b.breakers.cooling()[MODEL] > COOLDOWN.pause_s - 2 * CACHE_S
        assert a.signals.count(Metric.BREAKER_OPENED) == 2
    else:
        second = b.breakers.permit(MODEL, 10.0)
        assert second is not None
        assert second.probe
        second.release()
