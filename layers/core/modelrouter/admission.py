"""Admission: decide with the models' current health, then hold the worst case from the tenant's budget.

A request refused here never reaches a model. Two refusals carry what the client needs to act:
every candidate cooling down is a 503 with ``Retry-After`` (the soonest reopening), and an exhausted
budget is a 429 that says which ``max_tokens`` would still fit.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

from modelrouter.accounting.errors import BudgetExhaustedError, BudgetStoreUnavailableError
from modelrouter.bandit.snapshot import BanditSnapshot, BanditStateSource
from modelrouter.errors import ModelsCoolingDownError, NoEligibleModelError
from modelrouter.execution.spending import max_tokens_that_fit, reserve_amount
from modelrouter.features.records import RequestFeatures
from modelrouter.policy.store import ActivePolicy
from modelrouter.policy.tenants import Tenant
from modelrouter.ports import BudgetLedger, ModelHealth, Telemetry
from modelrouter.request import ChatRequest
from modelrouter.selection.context import RequestContext
from modelrouter.selection.decision import Decision, ExclusionReason
from modelrouter.selection.engine import decide

__all__ = ["admit", "decide_for"]


def decide_for(
    active: ActivePolicy,
    request: ChatRequest,
    features: RequestFeatures,
    health: ModelHealth,
    *,
    tenant_id: str,
    request_id: str,
    over_budget: bool = False,
    explain: bool = False,
    bandit_states: BanditStateSource | None = None,
) -> Decision:
    """The decision for ``request``, skipping models that are cooling down (``explain``: with the trace
    of the routes' conditions).

    ``bandit_states``: the container's copies of the bandit routes' learning state. The request is
    decided on the copies held; when it lands on a bandit route whose copy is due, that route is read
    and the request decided again (the engine stays pure, and a request that reaches no bandit route
    never waits for a read).

    Raises:
        ModelsCoolingDownError: only cooling models could serve it (503, retry after the soonest).
        NoEligibleModelError, RequestDeniedError: as :func:`~modelrouter.selection.engine.decide`.
    """
    cooling = health.cooling()
    context = RequestContext.from_metadata(request_id, tenant_id, request.metadata)
    context = dataclasses.replace(context, cooling_down=frozenset(cooling), over_budget=over_budget)
    decide_in = functools.partial(
        decide,
        active.policy,
        request,
        features=features,
        policy_version=active.version,
        routers=active.routers,
        topics=active.topics,
        explain=explain,
    )
    held = bandit_states.snapshots(active.policy) if bandit_states is not None else None
    decision = _decide_healthy(decide_in, context, cooling, held)
    state_key = decision.bandit.state_key if decision.bandit is not None else None
    if bandit_states is None or state_key is None or not bandit_states.due(active.policy, state_key):
        return decision
    fresh = bandit_states.snapshots(active.policy, read=(state_key,))
    return _decide_healthy(decide_in, context, cooling, fresh)


def _decide_healthy(
    decide_in: Callable[..., Decision],
    context: RequestContext,
    cooling: Mapping[str, float],
    states: Mapping[str, BanditSnapshot] | None,
) -> Decision:
    """``decide_in(context)``; when only cooling models could serve, a 503 with the soonest reopening."""
    try:
        return decide_in(context, bandit_states=states)
    except NoEligibleModelError as error:
        waiting = [e.model for e in error.exclusions if e.reason is ExclusionReason.COOLING_DOWN]
        if not waiting:
            raise
        healthy = dataclasses.replace(context, cooling_down=frozenset())
        try:
            decide_in(healthy, bandit_states=states)
        except NoEligibleModelError:
            raise error from None  # not a health problem: the request cannot be served anyway
        soonest = min(cooling[model] for model in waiting)
        raise ModelsCoolingDownError(error.route, error.exclusions, retry_after_s=soonest) from None


def admit(
    active: ActivePolicy,
    tenant: Tenant,
    request: ChatRequest,
    decision: Decision,
    *,
    features: RequestFeatures,
    budgets: BudgetLedger,
    health: ModelHealth,
    telemetry: Telemetry,
    bandit_states: BanditStateSource | None = None,
) -> tuple[Decision, Any, float]:
    """Reserve the decision's worst case: ``(decision, reservation, amount)``.

    Over budget, the tenant's ``over_budget_route`` (decided with the same inputs, ``bandit_states``
    included) is tried; failing that, the 429 says which ``max_tokens`` would fit. When the store is
    unavailable and the policy fails open, the reservation is None.
    """
    policy = active.policy
    amount = reserve_amount(decision, policy)
    try:
        try:
            return decision, budgets.reserve(tenant, amount, decision.request_id), amount
        except BudgetExhaustedError as refused:
            telemetry.budget_rejected(tenant.id, decision.route)
            if tenant.over_budget_route is None:
                _suggest_max_tokens(refused, decision, active)
                raise
        downgraded = decide_for(
            active, request, features, health,
            tenant_id=tenant.id, request_id=decision.request_id, over_budget=True,
            bandit_states=bandit_states,
        )  # fmt: skip
        amount = reserve_amount(downgraded, policy)
        try:
            return downgraded, budgets.reserve(tenant, amount, decision.request_id), amount
        except BudgetExhaustedError as refused:
            _suggest_max_tokens(refused, downgraded, active)
            raise
    except BudgetStoreUnavailableError:
        if policy.defaults.budget_store_failure != "fail_open":
            raise
        telemetry.budget_failed_open(tenant.id)
        return decision, None, amount


def _suggest_max_tokens(refused: BudgetExhaustedError, decision: Decision, active: ActivePolicy) -> None:
    available = getattr(refused, "available_usd", None)
    if available is None:
        return
    fits = max_tokens_that_fit(decision, active.policy, float(available))
    refused.max_tokens_hint = fits
    if fits >= 1:
        hint = f"; set max_tokens ≤ {fits} to fit what is left"
    else:
        hint = "; no answer length fits what is left before the budget resets"
    refused.message = f"{refused.message}{hint}"
    refused.args = (refused.message,)
