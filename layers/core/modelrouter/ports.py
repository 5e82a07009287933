"""The small interfaces the router's use case talks through; the Lambda wires AWS in, tests wire fakes.

Nothing here does I/O: :class:`~modelrouter.service.RouterService` depends on these protocols only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from modelrouter.errors import ModelRouterError
from modelrouter.execution.records import ExecutionResult
from modelrouter.policy.store import ActivePolicy
from modelrouter.policy.tenants import Tenant
from modelrouter.selection.decision import Decision

if TYPE_CHECKING:
    from modelrouter.accounting.settlement import ExtraWrite

__all__ = ["BudgetLedger", "ModelHealth", "PolicySource", "ProvenanceSink", "Telemetry"]


class PolicySource(Protocol):
    """Where the active policy comes from."""

    def current(self) -> ActivePolicy:
        """The policy in force now."""
        ...


class ModelHealth(Protocol):
    """Which models are cooling down (their circuit breakers open), shared with the executor."""

    def cooling(self) -> dict[str, float]:
        """Models skipped now, each with the seconds until it may be tried again."""
        ...


class BudgetLedger(Protocol):
    """Per-tenant budgets: reserve the worst case, then settle the real cost exactly once."""

    def reserve(self, tenant: Tenant, amount_usd: float, request_id: str) -> Any:
        """Hold ``amount_usd``; raise BudgetExhaustedError or BudgetStoreUnavailableError."""
        ...

    def settle(
        self,
        reservation: Any,
        actual_usd: float,
        ledger: dict[str, Any],
        provenance_item: dict[str, Any] | None,
        provenance_table: str | None,
        *,
        extra: ExtraWrite | None = None,
    ) -> Any:
        """Charge the real cost, write the ledger, provenance and ``extra`` in one transaction; the
        result's ``extra_written`` says whether ``extra`` landed (else ``extra.record_without`` was
        stored as the record)."""
        ...

    def release(self, reservation: Any) -> None:
        """Give a hold back uncharged (only when no call reached a provider)."""
        ...


class ProvenanceSink(Protocol):
    """Stores provenance records that no settlement carries (refused requests, fail-open requests)."""

    def put(self, record: dict[str, Any]) -> None:
        """Store ``record``; raise on failure (the caller logs it in full)."""
        ...


class Telemetry(Protocol):
    """Metrics and logs about requests (Powertools in the Lambda, a recorder in tests)."""

    def request_completed(self, decision: Decision, result: ExecutionResult, latency_ms: float) -> None:
        """A request got a checked answer."""
        ...

    def request_failed(self, decision: Decision | None, error: ModelRouterError, latency_ms: float) -> None:
        """A request ended in an error response."""
        ...

    def stream_ended(self, decision: Decision, model: str | None, stream: dict[str, Any]) -> None:
        """A live stream ended (``stream``: mode, first_token_ms, chunks, end)."""
        ...

    def budget_rejected(self, tenant_id: str, route: str) -> None:
        """A tenant's budget refused a request."""
        ...

    def budget_failed_open(self, tenant_id: str) -> None:
        """The budget store was unreachable and the policy says to serve anyway."""
        ...

    def budget_overage(self, decision: Decision, model: str | None, overage_usd: float) -> None:
        """A request cost more than it reserved (a provider ignored ``max_tokens``, or usage ran over
        the estimate): the excess was charged anyway."""
        ...

    def provenance_write_failed(self, record: dict[str, Any], reason: str) -> None:
        """A provenance record could not be stored: it must go to the log in full."""
        ...

    def settlement_failed(self, record: dict[str, Any], reason: str) -> None:
        """A request's charge could not be settled: the record (with its cost) goes to the log in full."""
        ...
