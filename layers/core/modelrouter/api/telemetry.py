"""CloudWatch telemetry through Powertools: structured logs and EMF metrics, never prompt text or PII.

Metric dimensions are low-cardinality on purpose: ``route`` and ``model`` (policy names, a few dozen at
most), never tenant or request ids. Tenants appear in logs, where they are searchable without costing a
metric series each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelrouter.errors import ModelRouterError
from modelrouter.execution.records import ExecutionResult
from modelrouter.selection.decision import Decision

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

__all__ = ["NO_MODEL", "PowertoolsTelemetry"]

NO_MODEL = "none"
"""The ``model`` dimension of requests that no model answered."""


class PowertoolsTelemetry:
    """Implements :class:`modelrouter.service.Telemetry` with a Powertools ``Logger`` and ``Metrics``.

    Metrics are added to ``metrics`` and flushed by its ``log_metrics`` decorator at the end of the
    invocation (one EMF document per request); each request sets its own ``route`` and ``model``
    dimensions.
    """

    def __init__(self, logger: Logger, metrics: Metrics) -> None:
        self._logger = logger
        self._metrics = metrics

    def _dimensions(self, route: str, model: str) -> None:
        # Set directly: add_dimension warns when a request changes its route (a budget downgrade).
        self._metrics.dimension_set.update(route=route or "none", model=model or NO_MODEL)

    def request_completed(self, decision: Decision, result: ExecutionResult, latency_ms: float) -> None:
        """Count the request and its cost, tokens, latency, fallbacks and failed checks."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._dimensions(decision.route, result.model)
        final = result.attempts[-1]
        add = self._metrics.add_metric
        add(name="Requests", unit=MetricUnit.Count, value=1)
        add(name="CostUSD", unit=MetricUnit.NoUnit, value=result.cost_usd)
        add(name="InputTokens", unit=MetricUnit.Count, value=sum(a.input_tokens for a in result.attempts))
        add(name="OutputTokens", unit=MetricUnit.Count, value=sum(a.output_tokens for a in result.attempts))
        add(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        add(name="Fallbacks", unit=MetricUnit.Count, value=result.fallbacks)
        failed_checks = sum(1 for a in result.attempts for c in a.checks if not c.passed)
        add(name="CheckFailures", unit=MetricUnit.Count, value=failed_checks)
        self._logger.info(
            "request completed",
            extra={
                "route": decision.route,
                "model": result.model,
                "model_version": final.reported_model,
                "attempts": len(result.attempts),
                "fallbacks": result.fallbacks,
                "cost_usd": result.cost_usd,
                "latency_ms": round(latency_ms, 1),
            },
        )

    def stream_ended(self, decision: Decision, model: str | None, stream: dict[str, Any]) -> None:
        """Time to first token, chunks sent, and streams that did not end cleanly."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._dimensions(decision.route, model or NO_MODEL)
        add = self._metrics.add_metric
        if stream.get("first_token_ms") is not None:
            add(name="TimeToFirstToken", unit=MetricUnit.Milliseconds, value=stream["first_token_ms"])
        add(name="StreamChunks", unit=MetricUnit.Count, value=stream.get("chunks", 0))
        if stream.get("end") != "complete":
            add(name="StreamsInterrupted", unit=MetricUnit.Count, value=1)
        self._logger.info("stream ended", extra={"route": decision.route, "model": model, "stream": stream})

    def request_failed(self, decision: Decision | None, error: ModelRouterError, latency_ms: float) -> None:
        """Count an error response by its code."""
        from aws_lambda_powertools.metrics import MetricUnit

        route = decision.route if decision else getattr(error, "route", None) or "none"
        self._dimensions(route, NO_MODEL)
        self._metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
        self._metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        attempts = getattr(error, "attempts", ())
        self._metrics.add_metric(
            name="CostUSD", unit=MetricUnit.NoUnit, value=getattr(error, "cost_usd", 0.0)
        )
        self._logger.warning(
            "request failed",
            extra={
                "route": route,
                "error_code": error.code,
                "attempts": len(attempts),
                "latency_ms": round(latency_ms, 1),
            },
        )

    def budget_rejected(self, tenant_id: str, route: str) -> None:
        """Count a budget rejection (the tenant goes to the log, not to a dimension)."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._dimensions(route, NO_MODEL)
        self._metrics.add_metric(name="BudgetRejections", unit=MetricUnit.Count, value=1)
        self._logger.warning("budget exhausted", extra={"tenant_id": tenant_id, "route": route})

    def budget_failed_open(self, tenant_id: str) -> None:
        """The budget store was down and the policy says serve anyway: loud, countable."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name="BudgetStoreFailOpen", unit=MetricUnit.Count, value=1)
        self._logger.error("budget store unavailable; serving without a budget (fail_open)",
                           extra={"tenant_id": tenant_id})  # fmt: skip

    def provenance_write_failed(self, record: dict[str, Any], reason: str) -> None:
        """Put the whole record into the log (minus any stored prompt) and count it."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name="ProvenanceWriteFailures", unit=MetricUnit.Count, value=1)
        logged = {key: value for key, value in record.items() if key != "prompt"}
        self._logger.error("provenance record not stored", extra={"reason": reason, "provenance": logged})

    def budget_overage(self, decision: Decision, model: str | None, overage_usd: float) -> None:
        """A request cost more than it held: count the excess (it was charged all the same)."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._dimensions(decision.route, model or NO_MODEL)
        self._metrics.add_metric(name="BudgetOverageUSD", unit=MetricUnit.NoUnit, value=overage_usd)
        self._logger.warning(
            "request cost more than it reserved",
            extra={"tenant_id": decision.tenant, "route": decision.route, "overage_usd": overage_usd},
        )

    def settlement_failed(self, record: dict[str, Any], reason: str) -> None:
        """The charge did not reach the budget table: the record (with its cost) goes to the log in full."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name="SettlementFailures", unit=MetricUnit.Count, value=1)
        logged = {key: value for key, value in record.items() if key != "prompt"}
        self._logger.error("request not settled", extra={"reason": reason, "provenance": logged})

    def feedback_received(self, route: str | None, model: str | None, reward: float) -> None:
        """Count stored feedback (``Feedback``) and its reward (``FeedbackReward``) by route and model."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._dimensions(route or "none", model or NO_MODEL)
        self._metrics.add_metric(name="Feedback", unit=MetricUnit.Count, value=1)
        self._metrics.add_metric(name="FeedbackReward", unit=MetricUnit.NoUnit, value=reward)
        self._logger.info("feedback received", extra={"route": route, "model": model, "reward": reward})

    def policy_event(self, kind: str, detail: str) -> None:
        """A policy load, a rejected new version, or a failed refresh (metric + log)."""
        from aws_lambda_powertools.metrics import MetricUnit

        if kind == "loaded":
            self._logger.info("policy loaded", extra={"detail": detail})
            return
        self._metrics.add_metric(
            name="PolicyRejected" if kind == "rejected" else "PolicyRefreshFailures",
            unit=MetricUnit.Count,
            value=1,
        )
        self._logger.error("policy refresh kept the last good policy", extra={"kind": kind, "detail": detail})
