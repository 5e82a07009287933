"""CloudWatch telemetry through Powertools: structured logs and EMF metrics, never prompt text or PII.

Metric dimensions are low-cardinality on purpose: ``route`` and ``model`` (policy names, a few dozen at
most), never request ids. Tenants appear in logs, and in one metric of their own: ``TenantSpendUSD``, with
the ``tenant`` dimension alone (tenants are the policy's, a bounded set; an unknown tenant is refused
before it could cost anything).

Every document that sets ``route`` and ``model`` also emits its metrics under ``service`` alone (a second
EMF dimension set): CloudWatch alarms cannot sum a metric over dimensions, so the alarms in
``template.yaml`` watch these service-wide series. A document that sets no dimension has ``service``
alone already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelrouter.errors import ModelRouterError
from modelrouter.execution.records import ExecutionResult
from modelrouter.selection.decision import Decision
from modelrouter.telemetry_names import Metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

__all__ = ["NO_MODEL", "SERVICE_DIMENSION", "TENANT_DIMENSION", "PowertoolsTelemetry"]

NO_MODEL = "none"
"""The ``model`` dimension of requests that no model answered."""
SERVICE_DIMENSION = "service"
"""The dimension Powertools gives every metric (``POWERTOOLS_SERVICE_NAME``): the alarms' only one."""
TENANT_DIMENSION = "tenant"
"""The dimension of ``TenantSpendUSD`` (and of no other metric)."""
STREAM_ERROR_ENDS = frozenset({"provider_error"})
"""How a stream ends when an error event follows tokens already sent under a 200 status: counted as a
server error here (a stream that raises instead is counted by the handler; one that fails before its first
token is an ordinary error response)."""


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
        self._service_rollup()

    def _service_rollup(self) -> None:
        """Emit this document's metrics under ``service`` alone too (once per document), for the alarms."""
        service = self._metrics.service
        rollup = {SERVICE_DIMENSION: str(service)}
        if service and rollup not in self._metrics.provider.dimension_sets:
            self._metrics.add_dimensions(**rollup)

    def _tenant_spend(self, tenant_id: str, cost_usd: float) -> None:
        """``TenantSpendUSD`` in a document of its own, whose only dimension besides ``service`` is
        ``tenant`` (a dimension set applies to every metric of a document). A document per call, so
        concurrent requests share no state; a failure to write it is logged, never raised."""
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        try:
            spend = EphemeralMetrics(namespace=self._metrics.namespace, service=self._metrics.service)
            spend.add_dimension(name=TENANT_DIMENSION, value=tenant_id)
            spend.add_metric(name=Metric.TENANT_SPEND_USD, unit=MetricUnit.NoUnit, value=cost_usd)
            spend.flush_metrics()
        except Exception as error:  # telemetry never breaks a request
            self._logger.warning("tenant spend metric not written", extra={"error": str(error)})

    def request_completed(self, decision: Decision, result: ExecutionResult, latency_ms: float) -> None:
        """Count the request and its cost, tokens, latency, fallbacks and failed checks; a successful
        outcome (a model's answer passed its checks: the first condition of
        :func:`modelrouter.outcome_cost.is_successful_outcome`; feedback is applied later, by usage and
        drift); and the tenant's spend."""
        from aws_lambda_powertools.metrics import MetricUnit

        self._dimensions(decision.route, result.model)
        final, attempts = result.attempts[-1], result.attempts
        add = self._metrics.add_metric
        add(name=Metric.REQUESTS, unit=MetricUnit.Count, value=1)
        add(name=Metric.COST_USD, unit=MetricUnit.NoUnit, value=result.cost_usd)
        add(name=Metric.INPUT_TOKENS, unit=MetricUnit.Count, value=sum(a.input_tokens for a in attempts))
        add(name=Metric.OUTPUT_TOKENS, unit=MetricUnit.Count, value=sum(a.output_tokens for a in attempts))
        add(name=Metric.LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms)
        add(name=Metric.FALLBACKS, unit=MetricUnit.Count, value=result.fallbacks)
        failed_checks = sum(1 for a in result.attempts for c in a.checks if not c.passed)
        add(name=Metric.CHECK_FAILURES, unit=MetricUnit.Count, value=failed_checks)
        add(name=Metric.SUCCESSFUL_OUTCOMES, unit=MetricUnit.Count, value=1)  # only checked answers get here
        self._tenant_spend(decision.tenant, result.cost_usd)
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
        if stream.get("end") in STREAM_ERROR_ENDS and stream.get("first_token_ms") is not None:
            add(name=Metric.SERVER_ERRORS, unit=MetricUnit.Count, value=1)
        self._logger.info("stream ended", extra={"route": decision.route, "model": model, "stream": stream})

    def request_failed(self, decision: Decision | None, error: ModelRouterError, latency_ms: float) -> None:
        """Count an error response by its code (its status class is counted where the status is set,
        in the handler), and what it cost the tenant, when a decision was reached."""
        from aws_lambda_powertools.metrics import MetricUnit

        route = decision.route if decision else getattr(error, "route", None) or "none"
        self._dimensions(route, NO_MODEL)
        self._metrics.add_metric(name=Metric.ERRORS, unit=MetricUnit.Count, value=1)
        self._metrics.add_metric(name=Metric.LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms)
        attempts = getattr(error, "attempts", ())
        cost_usd = float(getattr(error, "cost_usd", 0.0))
        self._metrics.add_metric(name=Metric.COST_USD, unit=MetricUnit.NoUnit, value=cost_usd)
        if decision is not None and cost_usd > 0:
            self._tenant_spend(decision.tenant, cost_usd)
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

    def health_event(self, metric: str, model: str, detail: str) -> None:
        """A shared-health event (``BreakerOpened``, ``HealthStoreFailures``, ``ConcurrencyCapRefusals``):
        its own EMF document with the ``model`` dimension besides ``service`` (it may come from the health
        cache's background thread, and no route applies), and a log line with ``detail``. A failure to
        write the metric is logged, never raised."""
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        from modelrouter.telemetry_names import Metric

        log = self._logger.info if metric == Metric.CAP_LEASE_REFUSED else self._logger.warning
        log("shared health", extra={"metric": metric, "model": model, "detail": detail})
        try:
            event = EphemeralMetrics(namespace=self._metrics.namespace, service=self._metrics.service)
            event.add_dimension(name="model", value=model or NO_MODEL)
            event.add_metric(name=metric, unit=MetricUnit.Count, value=1)
            event.flush_metrics()
        except Exception as error:  # telemetry never breaks a request
            self._logger.warning("shared health metric not written", extra={"error": str(error)})
