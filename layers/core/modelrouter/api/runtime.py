"""The router's per-container wiring: settings, AWS clients and adapters, built once at cold start.

Everything with I/O is created here and nowhere else, so the handler stays thin and tests (and local
mode) build the same runtime with their own clients or providers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from modelrouter.api.idempotency import Idempotency
from modelrouter.aws import aws_client
from modelrouter.feedback import FeedbackService, FeedbackStore, FeedbackTelemetry
from modelrouter.policy.store import PolicyStore
from modelrouter.ports import Telemetry
from modelrouter.service import RouterService
from modelrouter.settings import Settings

if TYPE_CHECKING:
    from modelrouter.execution.executor import Executor
    from modelrouter.policy.document import Policy
    from modelrouter.providers.secrets import KeyResolver
    from modelrouter.providers.types import Provider

__all__ = ["RouterRuntime", "RuntimeTelemetry", "build_runtime"]


class RuntimeTelemetry(Telemetry, FeedbackTelemetry, Protocol):
    """Telemetry that also hears about policy loads and feedback (the Powertools one does)."""

    def policy_event(self, kind: str, detail: str) -> None:
        """A policy was loaded, a new version rejected, or a refresh failed."""
        ...


@dataclass(frozen=True)
class RouterRuntime:
    """What a router container holds between requests."""

    settings: Settings
    """The function's settings."""
    service: RouterService
    """The use case."""
    idempotency: Idempotency | None
    """``Idempotency-Key`` support, when the deployment has a table for it."""
    policies: PolicyStore
    """The S3 policy source (loaded at cold start)."""
    feedback: FeedbackService
    """``POST /v1/feedback``: ratings stored with the provenance records (and the learning state)."""


def build_runtime(
    settings: Settings,
    telemetry: RuntimeTelemetry,
    *,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    key_resolver: KeyResolver | None = None,
    providers: Callable[[], dict[Any, Provider]] | None = None,
    health_wall: Callable[[], float] = time.time,
) -> RouterRuntime:
    """Build the container's runtime. AWS clients come from boto3 unless given.

    ``providers`` replaces the real provider adapters (tests); ``key_resolver`` replaces Secrets
    Manager (tests, local mode); ``health_wall`` the epoch clock of the shared health (tests).
    """
    from modelrouter.accounting.store import BudgetStore
    from modelrouter.bandit.store import LearningStateCache
    from modelrouter.execution.executor import Executor

    dynamodb = dynamodb_client or aws_client("dynamodb")
    policies = PolicyStore(
        settings.policy_bucket,
        settings.policy_pointer_key,  # the active pointer: the router loads only the version it names
        settings.policy_refresh_seconds,
        s3_client=s3_client,  # None: the store makes its own, with refresh timeouts
        on_event=telemetry.policy_event,
        upload_key=settings.policy_key,
    )

    from modelrouter.health.wiring import container_health
    from modelrouter.provenance_table import ProvenanceTable
    from modelrouter.providers.secrets import AwsKeyResolver

    # Breakers (shared by every container through the HealthTable, when configured) and the leases of
    # models with max_concurrency; the health client is the given one, else its own with short timeouts.
    signal = getattr(telemetry, "health_event", None)  # PowertoolsTelemetry's; test fakes may lack it
    table = settings.health_table
    breakers, leases = container_health(table, dynamodb_client, signal=signal, wall=health_wall)

    keys = key_resolver or AwsKeyResolver()  # its store clients are made when the first key is read

    def make_executor(policy: Policy) -> Executor:
        if providers is not None:
            adapters = providers()
        else:
            from modelrouter.providers import build_providers

            adapters = build_providers(keys, bedrock_endpoint_url=settings.bedrock_endpoint_url)
        return Executor(adapters, policy, guardrail=_guardrail(settings), breakers=breakers, leases=leases)

    service = RouterService(
        policies,
        BudgetStore(settings.budget_table, dynamodb, hold_seconds=settings.hold_seconds),
        make_executor,
        settings.provenance_table,
        telemetry,
        health=breakers,
        provenance=ProvenanceTable(settings.provenance_table, dynamodb),
        learning_table=getattr(settings, "learning_table", None),  # bandit routes learn at settlement
        bandit_states=LearningStateCache(settings.learning_table, dynamodb),
    )
    idempotency = Idempotency(settings.idempotency_table, dynamodb) if settings.idempotency_table else None
    learning_table = getattr(settings, "learning_table", None)  # bandit routes' state, where deployed
    feedback = FeedbackService(
        FeedbackStore(settings.provenance_table, dynamodb, learning_table), policies, telemetry
    )
    return RouterRuntime(settings, service, idempotency, policies, feedback)


def _guardrail(settings: Settings) -> Any:
    from modelrouter.providers.bedrock.guardrail import BedrockGuardrailService

    return BedrockGuardrailService(endpoint_url=settings.bedrock_endpoint_url)
