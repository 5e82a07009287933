"""In-memory stand-ins for the service's ports: a budget ledger that checks its own invariants, a
provenance sink, a telemetry recorder, and a ``RouterService`` wired to scripted providers."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from modelrouter.accounting.errors import BudgetExhaustedError, BudgetStoreUnavailableError
from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.executor import Executor
from modelrouter.policy import Policy, ProviderKind
from modelrouter.policy.store import ActivePolicy
from modelrouter.policy.tenants import Tenant
from modelrouter.service import RouterService
from tests.fakes import FakeClock, ScriptedProvider


def _usd(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.000000001"))


@dataclass(frozen=True)
class Hold:
    """A fake reservation."""

    tenant_id: str
    request_id: str
    amount_usd: float


@dataclass
class FakeLedger:
    """Reserve, settle exactly once, release only uncharged holds; every money move is kept."""

    limits: dict[str, float] = field(default_factory=dict)
    committed: dict[str, Decimal] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    ledger: dict[str, Decimal] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_settle: bool = False
    fail_reserve: bool = False
    fail_provenance: bool = False
    fail_extra: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, tenant: Tenant, amount_usd: float, request_id: str) -> Hold:
        if self.fail_reserve:
            raise BudgetStoreUnavailableError("budget table unavailable: ThrottlingException")
        with self.lock:
            committed = self.committed.get(tenant.id, Decimal(0))
            limit = self.limits.get(tenant.id)
            if limit is not None and committed + _usd(amount_usd) > _usd(limit):
                raise BudgetExhaustedError(
                    f"tenant {tenant.id}'s daily budget would be exceeded", 60, tenant_id=tenant.id,
                    period="daily", available_usd=float(_usd(limit) - committed), limit_usd=limit,
                )  # fmt: skip
            self.committed[tenant.id] = committed + _usd(amount_usd)
            hold = Hold(tenant.id, request_id, amount_usd)
            self.holds[request_id] = hold
            return hold

    def settle(
        self,
        reservation: Hold,
        actual_usd: float,
        ledger: dict[str, Any],
        provenance_item: dict[str, Any] | None,
        provenance_table: str | None,
        *,
        extra: Any = None,
    ) -> Any:
        if self.fail_settle:
            raise BudgetStoreUnavailableError("budget table unavailable: InternalServerError")
        with self.lock:
            assert reservation.request_id not in self.ledger, "settled twice"
            assert self.holds.pop(reservation.request_id) == reservation
            delta = _usd(actual_usd) - _usd(reservation.amount_usd)
            self.committed[reservation.tenant_id] += delta
            self.ledger[reservation.request_id] = _usd(actual_usd)
            extra_written = extra is not None and not self.fail_extra
            if extra_written:
                self.extras[reservation.request_id] = extra.item
            elif extra is not None and extra.record_without is not None:
                provenance_item = extra.record_without
            written = provenance_item is not None and not self.fail_provenance
            if written:
                assert provenance_item is not None
                self.records[reservation.request_id] = provenance_item
        return type("Settled", (), {"provenance_written": written, "extra_written": extra_written})()

    def release(self, reservation: Hold) -> None:
        with self.lock:
            if self.holds.pop(reservation.request_id, None) is not None:
                self.committed[reservation.tenant_id] -= _usd(reservation.amount_usd)
                self.released.append(reservation.request_id)


@dataclass
class FakeProvenance:
    """Records put outside a settlement (refusals, fail-open)."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: bool = False

    def put(self, record: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("provenance table unavailable")
        assert record["request_id"] not in self.records, "two records for one request"
        self.records[record["request_id"]] = record


@dataclass
class Recorder:
    """Telemetry calls, by method name."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *arguments: self.calls.append((name, arguments))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [arguments for method, arguments in self.calls if method == name]


class StaticPolicies:
    """A policy source that never changes."""

    def __init__(self, policy: Policy) -> None:
        self.active = ActivePolicy(policy, "v1", "etag", "digest")

    def current(self) -> ActivePolicy:
        return self.active


@dataclass
class ServiceRig:
    """A RouterService on fakes, with scripted Bedrock models."""

    service: RouterService
    ledger: FakeLedger
    provenance: FakeProvenance
    telemetry: Recorder
    provider: ScriptedProvider
    clock: FakeClock
    breakers: CircuitBreakers

    def records(self) -> dict[str, dict[str, Any]]:
        """Every provenance record, from settlements and from the sink."""
        overlap = set(self.ledger.records) & set(self.provenance.records)
        assert not overlap, f"two records for {overlap}"
        return {**self.ledger.records, **self.provenance.records}


def service_rig(
    policy: Policy,
    scripts: dict[str, list[Any]],
    limits: dict[str, float] | None = None,
    learning_table: str | None = None,
) -> ServiceRig:
    """A service for ``policy`` whose Bedrock models answer from ``scripts`` (bandit routes learn into
    ``learning_table`` when given: the fake ledger keeps each settlement's extra write)."""
    clock = FakeClock()
    provider = ScriptedProvider(ProviderKind.BEDROCK, clock, scripts)
    breakers = CircuitBreakers(policy.execution.cooldown, clock)
    ledger, provenance, telemetry = FakeLedger(limits=dict(limits or {})), FakeProvenance(), Recorder()

    def make_executor(active: Policy) -> Executor:
        providers: dict[ProviderKind, Any] = {ProviderKind.BEDROCK: provider}
        return Executor(providers, active, clock=clock, rng=random.Random(3), breakers=breakers)

    service = RouterService(
        StaticPolicies(policy), ledger, make_executor, "provenance", telemetry,  # type: ignore[arg-type]
        health=breakers, provenance=provenance, clock=clock, learning_table=learning_table,
    )  # fmt: skip
    return ServiceRig(service, ledger, provenance, telemetry, provider, clock, breakers)
