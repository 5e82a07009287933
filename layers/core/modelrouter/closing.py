"""Closing a request: the one place that charges, records and reports it, however execution ended.

:func:`close_request` never raises. Whatever happened before it (an answer, a typed failure, an
exception of any type), it charges every call that may have reached a provider, settles or releases
the hold, and writes exactly one provenance record — or, when DynamoDB refuses, logs it in full with a
metric. A hold is never released after a call reached a provider: a failed settlement leaves the hold
marked with its charge (the budget store does that) and the record in the log.

Learning: on a bandit route (the decision has a ``bandit`` block) with a learning table, a request whose
implicit outcome has a reward adds it to its learning-state item in the same settlement transaction
(:func:`~modelrouter.learning.state.reward_update`), so it counts exactly once with the charge. When
only that update fails, the settlement goes on without it and the record stored says so
(``reward.applied_to`` null). Requests served failing open (no hold, no transaction) do not learn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelrouter.accounting.settlement import ExtraWrite
from modelrouter.execution.records import Attempt, AttemptLog
from modelrouter.learning.implicit import ImplicitOutcome, implicit_outcome
from modelrouter.learning.state import StateKey, reward_update, state_key_for
from modelrouter.policy.tenants import Tenant
from modelrouter.ports import BudgetLedger, ProvenanceSink, Telemetry
from modelrouter.provenance import build_record, fallback_record, without_applied_reward
from modelrouter.request import ChatRequest
from modelrouter.selection.decision import Decision

__all__ = ["Admitted", "Closed", "Closer", "close_request", "report_quietly"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admitted:
    """A request that passed admission: decided, and its worst case held (unless failing open)."""

    tenant: Tenant
    """The tenant."""
    request: ChatRequest
    """The parsed request."""
    decision: Decision
    """The decision being executed."""
    reservation: Any
    """The budget hold, or None when the budget store failed open."""
    reserved_usd: float
    """The amount held (what the request was allowed to spend)."""
    started: datetime
    """Wall-clock start (UTC)."""


@dataclass(frozen=True)
class Closed:
    """What closing a request did."""

    cost_usd: float
    """Σ of the attempts' costs: what was charged (or is owed, when settling failed)."""
    overage_usd: float
    """How much the cost exceeded the hold (0 when the provider honoured ``max_tokens``)."""
    record: dict[str, Any]
    """The provenance record."""
    settled: bool
    """Whether the charge reached the budget table."""


@dataclass(frozen=True)
class Closer:
    """Dependencies of :func:`close_request`."""

    budgets: BudgetLedger
    """The budget ledger."""
    provenance: ProvenanceSink
    """Where records not carried by a settlement go."""
    provenance_table: str
    """The table settlement transactions write records to."""
    telemetry: Telemetry
    """Logs and metrics."""
    learning_table: str | None = None
    """The table bandit routes learn into (``LEARNING_TABLE``); None: nothing is learned."""


def close_request(
    closer: Closer,
    admitted: Admitted,
    log: AttemptLog,
    *,
    latency_ms: float,
    outcome: str,
    error_code: str | None,
    answered_by: str | None,
    stream: dict[str, Any] | None = None,
    cancelled: bool = False,
) -> Closed:
    """Charge, settle and record one admitted request. Never raises.

    ``stream`` (live streams): the stream's mode, time to first token, chunks and ending, recorded.
    ``cancelled``: the client went away before the answer ended (its implicit outcome is ``cancelled``)."""
    attempts = tuple(log.attempts)
    cost = sum(attempt.cost_usd for attempt in attempts)
    overage = max(0.0, cost - admitted.reserved_usd) if admitted.reservation is not None else 0.0
    decision = admitted.decision
    implicit: ImplicitOutcome | None = None
    extra: ExtraWrite | None = None
    try:
        returned = answered_by if outcome == "success" else None  # a broken or cut stream returned nothing
        implicit = implicit_outcome(
            decision.primary.model, attempts, answered_by=returned, cancelled=cancelled,
            latency_ms=latency_ms, latency_budget_ms=decision.latency_budget_ms,
        )  # fmt: skip
        learns_into = _learning_key(closer, admitted, implicit)
        record = build_record(
            tenant=admitted.tenant, request=admitted.request, decision=decision, attempts=attempts,
            started=admitted.started, latency_ms=latency_ms, outcome=outcome, error_code=error_code,
            answered_by=answered_by, reserved_usd=admitted.reserved_usd, streamed=admitted.request.stream,
            implicit=implicit, applied_to=learns_into, overage_usd=overage, stream=stream,
        )  # fmt: skip
        extra = _learning_write(closer, learns_into, implicit, attempts, record)
    except Exception:
        _log.exception("building the provenance record of %s failed", decision.request_id)
        extra = None
        record = fallback_record(
            tenant_id=admitted.tenant.id, request_id=decision.request_id, started=admitted.started,
            policy={"name": decision.policy, "version": decision.policy_version}, attempts=attempts,
            outcome=outcome, error_code=error_code, reserved_usd=admitted.reserved_usd,
            chosen_model=decision.primary.model, propensity=decision.propensity, implicit=implicit,
        )  # fmt: skip
    settled, record = _settle(closer, admitted, cost, record, extra)
    if overage > 0:
        report_quietly(closer.telemetry.budget_overage, decision, answered_by, overage)
    return Closed(cost_usd=cost, overage_usd=overage, record=record, settled=settled)


def _learning_key(closer: Closer, admitted: Admitted, implicit: ImplicitOutcome) -> StateKey | None:
    """The learning-state item this request's reward is added to, or None when it teaches nothing here:
    not a bandit route, no learning table, no reward, or no hold (failing open: no transaction)."""
    bandit = admitted.decision.bandit
    if bandit is None or not closer.learning_table or implicit.reward is None or admitted.reservation is None:
        return None
    return state_key_for(
        bandit.state_key, bandit.segment, admitted.decision.primary.model, started=admitted.started,
        window_seconds=bandit.window_seconds, horizon_seconds=bandit.horizon_seconds,
    )  # fmt: skip


def _learning_write(
    closer: Closer,
    key: StateKey | None,
    implicit: ImplicitOutcome,
    attempts: tuple[Attempt, ...],
    record: dict[str, Any],
) -> ExtraWrite | None:
    """The settlement's extra write adding the reward (and the chosen model's own calls' cost) to
    ``key``, with the record to store instead if it cannot land."""
    if key is None or not closer.learning_table or implicit.reward is None:
        return None
    cost = sum(attempt.cost_usd for attempt in attempts if attempt.model == implicit.chosen_model)
    update = reward_update(closer.learning_table, key, implicit.reward, cost)
    return ExtraWrite(update, without_applied_reward(record))


def _settle(
    closer: Closer, admitted: Admitted, cost: float, record: dict[str, Any], extra: ExtraWrite | None
) -> tuple[bool, dict[str, Any]]:
    """Settle (or, failing open, put the record); whether the charge landed, and the record as stored
    (or as logged): one whose reward was counted only if the learning update landed."""
    telemetry = closer.telemetry
    if admitted.reservation is None:  # failing open: no hold, but the record still has a home
        try:
            closer.provenance.put(record)
        except Exception as error:
            report_quietly(telemetry.provenance_write_failed, record, f"budget store unavailable; {error}")
        return False, record
    unapplied = extra.record_without if extra is not None and extra.record_without is not None else record
    ledger = {"route": admitted.decision.route, "model": record.get("model"), "outcome": record["outcome"]}
    with_extra = {"extra": extra} if extra is not None else {}
    try:
        settled = closer.budgets.settle(
            admitted.reservation, cost, ledger, record, closer.provenance_table, **with_extra
        )
    except Exception as error:
        # The store has marked the hold with its charge where it could, so a later sweep charges it;
        # the log carries the record (with its cost) for reconciliation either way.
        code = getattr(error, "code", type(error).__name__)
        report_quietly(telemetry.settlement_failed, unapplied, f"settlement failed: {code}")
        return False, unapplied
    if extra is not None and not getattr(settled, "extra_written", False):
        record = unapplied
    if not getattr(settled, "provenance_written", True):
        report_quietly(telemetry.provenance_write_failed, record, "provenance put failed; budget settled")
    return True, record


def report_quietly(report: Any, *arguments: Any) -> None:
    """Call a telemetry method; if it raises, log that and go on (telemetry never breaks a request)."""
    try:
        report(*arguments)
    except Exception:
        _log.exception("telemetry failed")
