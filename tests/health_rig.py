"""Shared-health test rig: the HealthTable on moto (from ``template.yaml``), simulated containers, a
client that serialises calls, and a recorder of health signals.

moto's in-process DynamoDB is not atomic under threads (measured: 50 threads each ``ADD``-ing 1 and then
-1 left the counter at 1, a lost update). What the concurrency tests check is DynamoDB's per-item
atomicity of conditional writes, which moto emulates faithfully one call at a time, so
:class:`SerialClient` runs one call at a time, as DynamoDB applies one write at a time to an item.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.health.breakers import SharedBreakers
from modelrouter.health.leases import ConcurrencyLeases
from modelrouter.health.store import BreakerStore
from modelrouter.policy import Policy
from modelrouter.policy.execution import Cooldown
from tests.aws import create_tables
from tests.fakes import FakeClock
from tests.helpers import build_policy, fake_aws_environment, minimal_policy, three_models

COOLDOWN = Cooldown(failures=3, window_s=60, pause_s=30)
"""Three retryable failures within a minute open a breaker for 30 s."""


def m1_policy(cap: int | None = None, failures: int = 100) -> Policy:
    """m1 (with ``max_concurrency: cap``) alone on the route, one attempt per model, breakers opening
    after ``failures`` (by default never during a test)."""
    document = minimal_policy()
    document["models"] = three_models()
    if cap is not None:
        document["models"][0]["max_concurrency"] = cap
    document["routes"] = [{"name": "r", "models": ["m1"]}]
    document["execution"] = {"cooldown": {"failures": failures}, "max_attempts_per_model": 1}
    return build_policy(document)


def inline(work: Any) -> None:
    """Run a cache refresh at once, in the caller's thread (deterministic tests)."""
    work()


class SerialClient:
    """A DynamoDB client whose calls run one at a time (see the module docstring) and are counted."""

    def __init__(self, client: Any, lock: threading.Lock | None = None) -> None:
        self._client = client
        self._lock = lock or threading.Lock()
        self.calls: Counter[str] = Counter()
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**arguments: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
                return method(**arguments)

        return call


@dataclass
class Signals:
    """Every health signal a container reported: ``(metric, model, detail)``."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, metric: str, model: str, detail: str) -> None:
        with self.lock:
            self.seen.append((metric, model, detail))

    def count(self, metric: str, model: str | None = None) -> int:
        """How many ``metric`` signals (for ``model``, or any)."""
        return sum(1 for m, mod, _ in self.seen if m == metric and (model is None or mod == model))


@dataclass
class Container:
    """One simulated router container: its own breakers, cache and client over the shared table."""

    breakers: SharedBreakers
    leases: ConcurrencyLeases
    client: SerialClient
    signals: Signals


@dataclass
class HealthRig:
    """The HealthTable on moto and a clock every simulated container shares."""

    raw: Any
    table: str
    clock: FakeClock
    lock: threading.Lock = field(default_factory=threading.Lock)

    def container(self, cooldown: Cooldown = COOLDOWN, *, table: str | None = None) -> Container:
        """A new container (its own client, breakers and copy of the states; ``table`` another name)."""
        client = SerialClient(self.raw, self.lock)
        signals = Signals()
        name = table or self.table
        local = CircuitBreakers(cooldown, self.clock)
        breakers = SharedBreakers(
            local,
            BreakerStore(name, client),
            cooldown=cooldown,
            wall=self.clock.now,
            signal=signals,
            runner=inline,
        )
        leases = ConcurrencyLeases(name, client, wall=self.clock.now, signal=signals)
        return Container(breakers, leases, client, signals)


@contextmanager
def health_rig() -> Iterator[HealthRig]:
    """Every table of the template on moto (the caller sets fake credentials)."""
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="us-east-1")
        tables = create_tables(raw)
        yield HealthRig(raw, tables["HealthTable"], FakeClock(start=1_700_000_000.0))


@pytest.fixture(name="rig")
def rig_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[HealthRig]:
    """A :class:`HealthRig` with fake AWS credentials (import it into a test module as ``rig``)."""
    fake_aws_environment(monkeypatch)
    with health_rig() as rig:
        yield rig
