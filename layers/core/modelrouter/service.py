"""The router as a use case: one chat request from body to checked answer, budget and provenance.

``RouterService`` holds no AWS code: the policy source, budget ledger and telemetry are small
interfaces, so tests swap them and the Lambda wires in S3, DynamoDB and Powertools.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from modelrouter.api.openai_format import completion, model_list, router_summary, stream_events
from modelrouter.checks.json_answer import compile_schema
from modelrouter.errors import ModelRouterError, RequestDeniedError
from modelrouter.execution.clock import Clock, SystemClock
from modelrouter.execution.deadline import request_deadline
from modelrouter.execution.executor import Executor
from modelrouter.execution.records import ExecutionError, ExecutionResult
from modelrouter.features import extract_features
from modelrouter.features.model import RequestFeatures
from modelrouter.policy.document import Policy
from modelrouter.policy.store import ActivePolicy
from modelrouter.policy.tenants import Tenant
from modelrouter.provenance import build_record
from modelrouter.request import ChatRequest, parse_chat_request
from modelrouter.selection.context import RequestContext
from modelrouter.selection.decision import Decision
from modelrouter.selection.engine import decide

__all__ = ["BudgetLedger", "ChatResponse", "PolicySource", "RouterService", "Telemetry", "reserve_amount"]


class PolicySource(Protocol):
    """Where the active policy comes from."""

    def current(self) -> ActivePolicy:
        """The policy in force now."""
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
    ) -> Any:
        """Charge the real cost, write the ledger and provenance in one transaction."""
        ...

    def release(self, reservation: Any) -> None:
        """Give a hold back uncharged."""
        ...


class Telemetry(Protocol):
    """Metrics and logs about requests (Powertools in the Lambda, a recorder in tests)."""

    def request_completed(self, decision: Decision, result: ExecutionResult, latency_ms: float) -> None:
        """A request got a checked answer."""
        ...

    def request_failed(self, decision: Decision | None, error: ModelRouterError, latency_ms: float) -> None:
        """A request ended in an error response."""
        ...

    def budget_rejected(self, tenant_id: str, route: str) -> None:
        """A tenant's budget refused a request."""
        ...

    def budget_failed_open(self, tenant_id: str) -> None:
        """The budget store was unreachable and the policy says to serve anyway."""
        ...

    def provenance_write_failed(self, record: dict[str, Any], reason: str) -> None:
        """A provenance record could not be stored: it must go to the log in full."""
        ...


@dataclass(frozen=True)
class ChatResponse:
    """A successful response."""

    body: dict[str, Any] | str
    """JSON object, or the text of an event stream."""
    content_type: str = "application/json"
    """``application/json`` or ``text/event-stream``."""


def reserve_amount(decision: Decision, policy: Policy) -> float:
    """What a request reserves: ``budget_reserve_calls`` worst-case calls of its costliest candidate."""
    worst = max(candidate.max_cost_usd for candidate in decision.candidates)
    return worst * policy.execution.budget_reserve_calls


class RouterService:
    """Serves chat, route and model-list requests for authenticated tenants."""

    def __init__(
        self,
        policies: PolicySource,
        budgets: BudgetLedger,
        executor: Callable[[Policy], Executor],
        provenance_table: str,
        telemetry: Telemetry,
        *,
        clock: Clock | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._policies = policies
        self._budgets = budgets
        self._executor_for = executor
        self._executor: Executor | None = None
        self._provenance_table = provenance_table
        self._telemetry = telemetry
        self._clock = clock or SystemClock()
        self._now = wall_clock

    def executor(self, policy: Policy) -> Executor:
        """The container's executor (created once), switched to ``policy``."""
        if self._executor is None:
            self._executor = self._executor_for(policy)
        else:
            self._executor.use_policy(policy)
        return self._executor

    def models(self, tenant_id: str) -> dict[str, Any]:
        """``GET /v1/models`` for a tenant."""
        policy = self._policies.current().policy
        return model_list(policy, self._tenant(policy, tenant_id))

    def route(self, tenant_id: str, body: bytes | str, request_id: str) -> dict[str, Any]:
        """``POST /v1/route``: the decision only; no model call, no charge."""
        active = self._policies.current()
        request = parse_chat_request(body)
        decision = self._decide(active, request, tenant_id, request_id, extract_features(request))
        return {
            "object": "router.decision",
            "reserve_usd": reserve_amount(decision, active.policy),
            **decision.model_dump(mode="json"),
        }

    def chat(
        self, tenant_id: str, body: bytes | str, request_id: str, lambda_remaining_ms: int | None = None
    ) -> ChatResponse:
        """``POST /v1/chat/completions``: decide, reserve, execute, settle, record, answer."""
        started, t0 = self._now(), time.perf_counter()
        active = self._policies.current()
        policy = active.policy
        decision: Decision | None = None
        try:
            request = parse_chat_request(body)
            tenant = self._tenant(policy, tenant_id)
            if request.json_schema is not None:
                compile_schema(request.json_schema)  # an unusable schema is refused before any spending
            features = extract_features(request)
            decision = self._decide(active, request, tenant_id, request_id, features)
            decision, reservation, reserved = self._admit(active, tenant, request, features, decision)
        except ModelRouterError as error:
            self._telemetry.request_failed(decision, error, (time.perf_counter() - t0) * 1000)
            raise
        deadline = request_deadline(
            self._clock, decision.latency_budget_ms, policy.execution, lambda_remaining_ms
        )
        try:
            result = self.executor(policy).execute(
                decision, request, deadline, reserved if reservation else None
            )
        except ExecutionError as error:
            latency = (time.perf_counter() - t0) * 1000
            record = build_record(
                tenant=tenant, request=request, decision=decision, attempts=error.attempts, started=started,
                latency_ms=latency, outcome="error", error_code=error.code, answered_by=None,
                reserved_usd=reserved, streamed=request.stream,
            )  # fmt: skip
            self._settle(reservation, error.cost_usd, decision, record)
            self._telemetry.request_failed(decision, error, latency)
            raise
        except BaseException:
            if reservation is not None:
                self._budgets.release(reservation)
            raise
        latency = (time.perf_counter() - t0) * 1000
        record = build_record(
            tenant=tenant, request=request, decision=decision, attempts=result.attempts, started=started,
            latency_ms=latency, outcome="success", error_code=None, answered_by=result.model,
            reserved_usd=reserved, streamed=request.stream,
        )  # fmt: skip
        self._settle(reservation, result.cost_usd, decision, record)
        self._telemetry.request_completed(decision, result, latency)
        summary = router_summary(decision, result, latency, reserved)
        created = int(started.timestamp())
        if request.stream:
            return ChatResponse(stream_events(result, summary, created, request), "text/event-stream")
        return ChatResponse(completion(result, summary, created))

    def _tenant(self, policy: Policy, tenant_id: str) -> Tenant:
        tenant = policy.tenant_by_id.get(tenant_id)
        if tenant is None:
            raise RequestDeniedError("unknown_tenant", f"tenant '{tenant_id}' is not in the active policy")
        return tenant

    def _decide(
        self,
        active: ActivePolicy,
        request: ChatRequest,
        tenant_id: str,
        request_id: str,
        features: RequestFeatures,
        *,
        over_budget: bool = False,
    ) -> Decision:
        context = RequestContext.from_metadata(request_id, tenant_id, request.metadata)
        cooling = self.executor(active.policy).breakers.open_models()
        context = dataclasses.replace(context, cooling_down=cooling, over_budget=over_budget)
        return decide(active.policy, request, context, features=features, policy_version=active.version)

    def _admit(
        self,
        active: ActivePolicy,
        tenant: Tenant,
        request: ChatRequest,
        features: RequestFeatures,
        decision: Decision,
    ) -> tuple[Decision, Any, float]:
        from modelrouter.accounting.errors import BudgetExhaustedError, BudgetStoreUnavailableError

        policy = active.policy
        amount = reserve_amount(decision, policy)
        try:
            try:
                return decision, self._budgets.reserve(tenant, amount, decision.request_id), amount
            except BudgetExhaustedError:
                self._telemetry.budget_rejected(tenant.id, decision.route)
                if tenant.over_budget_route is None:
                    raise
            # The same decision inputs (cooldowns included), now as over budget: the downgrade route.
            downgraded = self._decide(
                active, request, tenant.id, decision.request_id, features, over_budget=True
            )
            amount = reserve_amount(downgraded, policy)
            return downgraded, self._budgets.reserve(tenant, amount, decision.request_id), amount
        except BudgetStoreUnavailableError:
            if policy.defaults.budget_store_failure != "fail_open":
                raise
            self._telemetry.budget_failed_open(tenant.id)
            return decision, None, amount

    def _settle(
        self, reservation: Any, actual_usd: float, decision: Decision, record: dict[str, Any]
    ) -> None:
        from modelrouter.accounting.errors import BudgetStoreError

        if reservation is None:
            self._telemetry.provenance_write_failed(record, "budget store unavailable (fail_open)")
            return
        ledger = {"route": decision.route, "model": record["model"], "outcome": record["outcome"]}
        try:
            outcome = self._budgets.settle(reservation, actual_usd, ledger, record, self._provenance_table)
        except BudgetStoreError as error:
            self._telemetry.provenance_write_failed(record, f"settlement failed: {error.code}")
            return
        if not getattr(outcome, "provenance_written", True):
            self._telemetry.provenance_write_failed(record, "provenance put failed; budget settled")
