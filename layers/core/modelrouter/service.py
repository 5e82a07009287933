"""The router as a use case: one chat request from body to checked answer, budget and provenance.

``RouterService`` holds no AWS code and no wire format: the policy source, budget ledger, provenance
sink, model health and telemetry are small interfaces (:mod:`modelrouter.ports`), and it returns typed
outcomes that :mod:`modelrouter.api` turns into OpenAI responses.

Every chat request that parses leaves exactly one provenance record: a refusal record when admission
refuses it (403, 422, 429, 503), or the record :func:`~modelrouter.closing.close_request` writes with
the settlement however execution ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modelrouter.accounting.errors import BudgetStoreUnavailableError
from modelrouter.accounting.usage import BudgetReader, TenantUsage, tenant_usage
from modelrouter.admission import admit, decide_for
from modelrouter.bandit.snapshot import BanditStateSource
from modelrouter.checks.json_answer import compile_schema
from modelrouter.closing import Admitted, Closed, Closer, close_request
from modelrouter.errors import InvalidRequestError, ModelRouterError, RequestDeniedError
from modelrouter.execution.clock import Clock, SystemClock
from modelrouter.execution.deadline import Deadline, request_deadline
from modelrouter.execution.executor import Executor
from modelrouter.execution.records import AttemptLog, ExecutionCrashedError, ExecutionError, ExecutionResult
from modelrouter.execution.stream_mode import plan_stream
from modelrouter.execution.streaming import StreamItem
from modelrouter.execution.streaming import stream as stream_decision
from modelrouter.features import extract_features
from modelrouter.features.records import RequestFeatures
from modelrouter.live import LiveChat, open_live_chat
from modelrouter.policy.document import Policy
from modelrouter.policy.store import ActivePolicy
from modelrouter.policy.tenants import Tenant
from modelrouter.ports import BudgetLedger, ModelHealth, PolicySource, ProvenanceSink, Telemetry
from modelrouter.provenance import refusal_record
from modelrouter.request import ChatRequest, RequestBody, parse_chat_request
from modelrouter.selection.decision import Decision
from modelrouter.selection.naming import Named, nameable

__all__ = ["BudgetLedger", "ChatOutcome", "PolicySource", "RouterService", "Telemetry"]


@dataclass(frozen=True)
class ChatOutcome:
    """A chat request that got a checked answer."""

    request: ChatRequest
    """The parsed request."""
    decision: Decision
    """The decision that was executed."""
    result: ExecutionResult
    """The answer and every attempt."""
    started: datetime
    """Wall-clock start (UTC)."""
    latency_ms: float
    """Time from receipt to the settled answer."""
    reserved_usd: float
    """What was held from the tenant's budget."""
    closed: Closed
    """What was charged and recorded."""


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
        health: ModelHealth,
        provenance: ProvenanceSink,
        clock: Clock | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        learning_table: str | None = None,
        bandit_states: BanditStateSource | None = None,
    ) -> None:
        """``learning_table``: where bandit routes learn their implicit rewards (None: they do not);
        ``bandit_states``: the container's copy of their learning state (None: priors only)."""
        self._policies = policies
        self._budgets = budgets
        self._executor_for = executor
        self._executor: Executor | None = None
        self._health = health
        self._telemetry = telemetry
        self._closer = Closer(budgets, provenance, provenance_table, telemetry, learning_table)
        self._clock = clock or SystemClock()
        self._now = wall_clock
        self._bandit_states = bandit_states

    def executor(self, policy: Policy) -> Executor:
        """The container's executor (created once), switched to ``policy``."""
        if self._executor is None:
            self._executor = self._executor_for(policy)
        else:
            self._executor.use_policy(policy)
        return self._executor

    def idempotency_window_s(self, tenant_id: str) -> int:
        """How long the tenant's idempotent responses are kept (the default for unknown tenants)."""
        tenant = self._policies.current().policy.tenant_by_id.get(tenant_id)
        return (
            tenant.idempotency_window_s
            if tenant is not None
            else Tenant.model_fields["idempotency_window_s"].default
        )

    def models(self, tenant_id: str) -> list[Named]:
        """``GET /v1/models``: every name this tenant may put in ``model`` (the engine's own predicate)."""
        policy = self._policies.current().policy
        return nameable(policy, _tenant(policy, tenant_id))

    def model(self, tenant_id: str, name: str) -> Named:
        """``GET /v1/models/{model}``: one name this tenant may use; ``model_not_found`` (404) for any
        other, whether or not it exists for other tenants."""
        found = next((named for named in self.models(tenant_id) if named.id == name), None)
        if found is None:
            message = f"the model '{name}' does not exist or you do not have access to it"
            raise RequestDeniedError("model_not_found", message, "model")
        return found

    @property
    def budgets(self) -> BudgetLedger:
        """The budget ledger (``GET /v1/usage``'s breakdown reads its ledger items)."""
        return self._budgets

    def usage(self, tenant_id: str) -> TenantUsage:
        """``GET /v1/usage``: the tenant's spend, holds, limits and room, today and this month."""
        tenant = _tenant(self._policies.current().policy, tenant_id)
        if not isinstance(self._budgets, BudgetReader):
            raise BudgetStoreUnavailableError("this budget ledger cannot report usage")
        return tenant_usage(self._budgets, tenant, now=self._now())

    def cooling_down(self) -> dict[str, float]:
        """Models this container skips now (circuit breaker open), with seconds until they may be tried."""
        return self._health.cooling()

    def route(self, tenant_id: str, body: RequestBody, request_id: str) -> tuple[Decision, Policy]:
        """``POST /v1/route``: the decision only; no model call, no charge."""
        active = self._policies.current()
        request = parse_chat_request(body)
        features = _checked_features(request)
        decision = decide_for(
            active, request, features, self._health, tenant_id=tenant_id, request_id=request_id, explain=True,
            bandit_states=self._bandit_states,
        )  # fmt: skip
        # Routes kept for other tenants are no business of this one: they leave the trace.
        own = tuple(
            trace
            for trace in decision.when_trace
            if not any(clause.clause == "tenants" and not clause.matched for clause in trace.clauses)
        )
        return decision.model_copy(update={"when_trace": own}), active.policy

    def chat(
        self, tenant_id: str, body: RequestBody, request_id: str, lambda_remaining_ms: int | None = None
    ) -> ChatOutcome:
        """``POST /v1/chat/completions``, answered whole: decide, reserve, execute, settle, record.

        Raises the request's :class:`~modelrouter.errors.ModelRouterError` (refusals, execution
        failures); anything unexpected during execution becomes an ``ExecutionCrashedError`` after
        the request was charged and recorded.
        """
        active, admitted, t0 = self._start(tenant_id, body, request_id)
        return self._answer_whole(active, admitted, t0, lambda_remaining_ms)

    def respond(
        self, tenant_id: str, body: RequestBody, request_id: str, lambda_remaining_ms: int | None = None
    ) -> ChatOutcome | LiveChat:
        """``POST /v1/chat/completions`` as the request asks: whole, or streamed token by token.

        A ``stream: true`` request on a route that streams incrementally returns a :class:`LiveChat`
        once its first token exists; everything else (validated streams included) a ChatOutcome.
        Failures before the first token raise exactly as :meth:`chat` does.
        """
        active, admitted, t0 = self._start(tenant_id, body, request_id)
        request = admitted.request
        if not request.stream:
            return self._answer_whole(active, admitted, t0, lambda_remaining_ms)
        plan = plan_stream(request, admitted.decision)
        if plan.mode == "validated":
            return self._answer_whole(active, admitted, t0, lambda_remaining_ms)
        deadline, limit = self._bounds(active, admitted, lambda_remaining_ms)
        executor = self.executor(active.policy)

        def items(log: AttemptLog) -> Iterator[StreamItem]:
            return stream_decision(executor, admitted.decision, request, deadline=deadline,
                                   spend_limit_usd=limit, log=log, guard_for=plan.guard_for)  # fmt: skip

        return open_live_chat(admitted, plan, items, closer=self._closer, telemetry=self._telemetry, t0=t0)

    def _start(
        self, tenant_id: str, body: RequestBody, request_id: str
    ) -> tuple[ActivePolicy, Admitted, float]:
        """Parse and admit a chat request: the policy it runs under, the admission, its start time."""
        started, t0 = self._now(), time.perf_counter()
        active = self._policies.current()
        request = self._parse(body, t0)
        admitted = self._admit(
            active, request, tenant_id=tenant_id, request_id=request_id, started=started, t0=t0
        )
        return active, admitted, t0

    def _bounds(
        self, active: ActivePolicy, admitted: Admitted, lambda_remaining_ms: int | None
    ) -> tuple[Deadline, float | None]:
        """The request's deadline, and what its calls may spend (the hold; None without one)."""
        deadline = request_deadline(
            self._clock, admitted.decision.latency_budget_ms, active.policy.execution, lambda_remaining_ms
        )
        return deadline, admitted.reserved_usd if admitted.reservation is not None else None

    def _parse(self, body: RequestBody, t0: float) -> ChatRequest:
        try:
            return parse_chat_request(body)
        except InvalidRequestError as error:
            self._telemetry.request_failed(None, error, _since(t0))
            raise

    def _answer_whole(
        self, active: ActivePolicy, admitted: Admitted, t0: float, lambda_remaining_ms: int | None
    ) -> ChatOutcome:
        request = admitted.request
        deadline, limit = self._bounds(active, admitted, lambda_remaining_ms)
        log = AttemptLog()
        try:
            result = self.executor(active.policy).execute(admitted.decision, request, deadline, limit, log)
        except BaseException as raised:
            failure = (
                raised
                if isinstance(raised, ExecutionError)
                else ExecutionCrashedError(f"execution stopped by {type(raised).__name__}", log.attempts)
            )
            close_request(self._closer, admitted, log, latency_ms=_since(t0), outcome="error",
                          error_code=failure.code, answered_by=None)  # fmt: skip
            self._telemetry.request_failed(admitted.decision, failure, _since(t0))
            if failure is raised or not isinstance(raised, Exception):
                raise
            raise failure from raised
        latency = _since(t0)
        closed = close_request(self._closer, admitted, log, latency_ms=latency, outcome="success",
                               error_code=None, answered_by=result.model)  # fmt: skip
        self._telemetry.request_completed(admitted.decision, result, latency)
        return ChatOutcome(
            request, admitted.decision, result, admitted.started, latency, admitted.reserved_usd, closed
        )

    def _admit(
        self,
        active: ActivePolicy,
        request: ChatRequest,
        *,
        tenant_id: str,
        request_id: str,
        started: datetime,
        t0: float,
    ) -> Admitted:
        """Decide and reserve; a refusal leaves its provenance record and is raised."""
        tenant: Tenant | None = None
        decision: Decision | None = None
        try:
            tenant = _tenant(active.policy, tenant_id)
            features = _checked_features(request)
            decision = decide_for(
                active, request, features, self._health, tenant_id=tenant_id, request_id=request_id,
                bandit_states=self._bandit_states,
            )  # fmt: skip
            decision, reservation, reserved = admit(
                active, tenant, request, decision,
                features=features, budgets=self._budgets, health=self._health, telemetry=self._telemetry,
                bandit_states=self._bandit_states,
            )  # fmt: skip
        except ModelRouterError as error:
            latency = _since(t0)
            if not isinstance(error, InvalidRequestError):
                record = refusal_record(
                    tenant_id=tenant_id, tenant=tenant, request_id=request_id, request=request,
                    decision=decision, policy={"name": active.policy.name, "version": active.version},
                    started=started, latency_ms=latency, error_code=error.code, reason=error.message,
                    route=getattr(error, "route", None),
                )  # fmt: skip
                self._store_refusal(record)
            self._telemetry.request_failed(decision, error, latency)
            raise
        return Admitted(tenant, request, decision, reservation, reserved, started)

    def _store_refusal(self, record: dict[str, Any]) -> None:
        try:
            self._closer.provenance.put(record)
        except Exception as failure:
            self._telemetry.provenance_write_failed(record, f"refusal record not stored: {failure}")


def _tenant(policy: Policy, tenant_id: str) -> Tenant:
    tenant = policy.tenant_by_id.get(tenant_id)
    if tenant is None:
        raise RequestDeniedError("unknown_tenant", f"tenant '{tenant_id}' is not in the active policy")
    return tenant


def _checked_features(request: ChatRequest) -> RequestFeatures:
    """The request's features, once its JSON Schema (if any) is known to be usable: an unusable or
    remote-referencing schema is a 400 before any decision, charge or model call."""
    if request.json_schema is not None:
        compile_schema(request.json_schema)
    return extract_features(request)


def _since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
