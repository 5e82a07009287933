"""Closing a request: the one place that charges, records and reports it, however execution ended.

:func:`close_request` never raises. Whatever happened before it (an answer, a typed failure, an
exception of any type), it charges every call that may have reached a provider, settles or releases
the hold, and writes exactly one provenance record — or, when DynamoDB refuses, logs it in full with a
metric. A hold is never released after a call reached a provider: a failed settlement leaves the hold
marked with its charge (the budget store does that) and the record in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelrouter.execution.records import AttemptLog
from modelrouter.policy.tenants import Tenant
from modelrouter.ports import BudgetLedger, ProvenanceSink, Telemetry
from modelrouter.provenance import build_record, fallback_record
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
) -> Closed:
    """Charge, settle and record one admitted request. Never raises.

    ``stream`` (live streams): the stream's mode, time to first token, chunks and ending, recorded."""
    attempts = tuple(log.attempts)
    cost = sum(attempt.cost_usd for attempt in attempts)
    overage = max(0.0, cost - admitted.reserved_usd) if admitted.reservation is not None else 0.0
    decision = admitted.decision
    try:
        record = build_record(
            tenant=admitted.tenant, request=admitted.request, decision=decision, attempts=attempts,
            started=admitted.started, latency_ms=latency_ms, outcome=outcome, error_code=error_code,
            answered_by=answered_by, reserved_usd=admitted.reserved_usd, streamed=admitted.request.stream,
            overage_usd=overage, stream=stream,
        )  # fmt: skip
    except Exception:
        _log.exception("building the provenance record of %s failed", decision.request_id)
        record = fallback_record(
            tenant_id=admitted.tenant.id, request_id=decision.request_id, started=admitted.started,
            policy={"name": decision.policy, "version": decision.policy_version}, attempts=attempts,
            outcome=outcome, error_code=error_code, reserved_usd=admitted.reserved_usd,
        )  # fmt: skip
    settled = _settle(closer, admitted, cost, record)
    if overage > 0:
        report_quietly(closer.telemetry.budget_overage, decision, answered_by, overage)
    return Closed(cost_usd=cost, overage_usd=overage, record=record, settled=settled)


def _settle(closer: Closer, admitted: Admitted, cost: float, record: dict[str, Any]) -> bool:
    telemetry = closer.telemetry
    if admitted.reservation is None:  # failing open: no hold, but the record still has a home
        try:
            closer.provenance.put(record)
        except Exception as error:
            report_quietly(telemetry.provenance_write_failed, record, f"budget store unavailable; {error}")
        return False
    ledger = {"route": admitted.decision.route, "model": record.get("model"), "outcome": record["outcome"]}
    try:
        settled = closer.budgets.settle(admitted.reservation, cost, ledger, record, closer.provenance_table)
    except Exception as error:
        # The store has marked the hold with its charge where it could, so a later sweep charges it;
        # the log carries the record (with its cost) for reconciliation either way.
        code = getattr(error, "code", type(error).__name__)
        report_quietly(telemetry.settlement_failed, record, f"settlement failed: {code}")
        return False
    if not getattr(settled, "provenance_written", True):
        report_quietly(telemetry.provenance_write_failed, record, "provenance put failed; budget settled")
    return True


def report_quietly(report: Any, *arguments: Any) -> None:
    """Call a telemetry method; if it raises, log that and go on (telemetry never breaks a request)."""
    try:
        report(*arguments)
    except Exception:
        _log.exception("telemetry failed")
