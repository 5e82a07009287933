"""Every CloudWatch metric and EventBridge event the functions emit, by name, in one place.

The dashboard and alarms in ``template.yaml`` name these metrics; a test runs the functions for real and
reads each name back from their EMF output, so a metric the dashboard shows can never be one that no code
emits. All metrics are in the ``ModelRouter`` namespace (``POWERTOOLS_METRICS_NAMESPACE``).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTIVATION_METRICS",
    "DRIFT_METRICS",
    "EVENT_SOURCE",
    "HEALTH_METRICS",
    "NAMESPACE",
    "REQUEST_METRICS",
    "EventType",
    "Metric",
]

NAMESPACE: Final = "ModelRouter"
"""The metrics' CloudWatch namespace (the template's ``POWERTOOLS_METRICS_NAMESPACE``)."""
EVENT_SOURCE: Final = "modelrouter"
"""``source`` of every EventBridge event the functions put (on the account's default bus)."""


class Metric:
    """Metric names (dimensions: ``route`` and ``model`` for request metrics, said otherwise per name)."""

    # Requests (router function; dimensions route, model; the alarmed ones also with service only)
    REQUESTS: Final = "Requests"
    COST_USD: Final = "CostUSD"
    INPUT_TOKENS: Final = "InputTokens"
    OUTPUT_TOKENS: Final = "OutputTokens"
    LATENCY: Final = "Latency"
    FALLBACKS: Final = "Fallbacks"
    CHECK_FAILURES: Final = "CheckFailures"
    ERRORS: Final = "Errors"
    CLIENT_ERRORS: Final = "ClientErrors"
    """Responses with a 4xx status."""
    SERVER_ERRORS: Final = "ServerErrors"
    """Responses with a 5xx status."""
    SUCCESSFUL_OUTCOMES: Final = "SuccessfulOutcomes"
    """Requests answered by a model whose answer passed its checks."""
    TENANT_SPEND_USD: Final = "TenantSpendUSD"
    """Cost of a request, with the ``tenant`` dimension only (tenants are the policy's, a bounded set)."""
    BUDGET_REJECTIONS: Final = "BudgetRejections"
    BUDGET_STORE_FAIL_OPEN: Final = "BudgetStoreFailOpen"
    BUDGET_OVERAGE_USD: Final = "BudgetOverageUSD"
    PROVENANCE_WRITE_FAILURES: Final = "ProvenanceWriteFailures"
    SETTLEMENT_FAILURES: Final = "SettlementFailures"
    FEEDBACK: Final = "Feedback"
    FEEDBACK_REWARD: Final = "FeedbackReward"
    TIME_TO_FIRST_TOKEN: Final = "TimeToFirstToken"
    STREAM_CHUNKS: Final = "StreamChunks"
    STREAMS_INTERRUPTED: Final = "StreamsInterrupted"
    POLICY_REJECTED: Final = "PolicyRejected"
    """A router container found an active version it could not load (it kept the last good one)."""
    POLICY_REFRESH_FAILURES: Final = "PolicyRefreshFailures"
    """A router container could not read the active pointer or policy from S3."""

    # Shared health (router function; dimension model)
    BREAKER_OPENED: Final = "BreakerOpened"
    """A container opened a model's shared breaker (counted once per opening, by the container that did)."""
    HEALTH_STORE_FAILURES: Final = "HealthStoreFailures"
    """The health table could not be read or written (each container then keeps its own breakers)."""
    CAP_LEASE_REFUSED: Final = "ConcurrencyCapRefusals"
    """A call found every lease of its model's ``max_concurrency`` taken."""

    # Policy activation (activator function; no dimensions besides service)
    POLICY_ACTIVATED: Final = "PolicyActivated"
    POLICY_ACTIVATION_REJECTED: Final = "PolicyActivationRejected"

    # Drift (drift function; dimension route, some also model)
    DRIFT_DETECTED: Final = "DriftDetected"
    """Shifts past the threshold in one run, per route (0 included); also the run's total with the
    ``service`` dimension only."""
    DRIFT_SCORE: Final = "DriftScore"
    """A route's largest test statistic divided by its threshold in one run (1 or more: past it)."""
    COST_PER_SUCCESSFUL_OUTCOME: Final = "CostPerSuccessfulOutcome"
    """Spend divided by requests that passed their checks (and, with feedback, were rated good), per
    route over the drift function's recent window."""


REQUEST_METRICS: Final = (
    Metric.REQUESTS, Metric.COST_USD, Metric.LATENCY, Metric.FALLBACKS, Metric.CHECK_FAILURES,
    Metric.ERRORS, Metric.CLIENT_ERRORS, Metric.SERVER_ERRORS, Metric.SUCCESSFUL_OUTCOMES,
    Metric.TENANT_SPEND_USD, Metric.BUDGET_REJECTIONS, Metric.PROVENANCE_WRITE_FAILURES,
    Metric.POLICY_REJECTED, Metric.POLICY_REFRESH_FAILURES,
)  # fmt: skip
"""The router's request metrics the dashboard shows."""
HEALTH_METRICS: Final = (Metric.BREAKER_OPENED, Metric.HEALTH_STORE_FAILURES, Metric.CAP_LEASE_REFUSED)
"""Shared-health metrics."""
ACTIVATION_METRICS: Final = (Metric.POLICY_ACTIVATED, Metric.POLICY_ACTIVATION_REJECTED)
"""The policy activator's metrics."""
DRIFT_METRICS: Final = (Metric.DRIFT_DETECTED, Metric.DRIFT_SCORE, Metric.COST_PER_SUCCESSFUL_OUTCOME)
"""The drift function's metrics."""


class EventType:
    """``detail-type`` of the EventBridge events (source :data:`EVENT_SOURCE`)."""

    POLICY_ACTIVATED: Final = "Policy Activated"
    """detail: version_id, key, digest, previous_version_id, activated_by."""
    POLICY_REJECTED: Final = "Policy Activation Rejected"
    """detail: version_id, key, problems (first 20), problem_count."""
    DRIFT_DETECTED: Final = "Routing Drift Detected"
    """detail: run (the recent window's end), recent and baseline bounds, finding_count, routes, the
    first 20 findings (segment, metric, values, statistic, threshold, p-value), truncated."""
