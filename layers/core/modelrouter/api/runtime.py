"""The router's per-container wiring: settings, AWS clients and adapters, built once at cold start.

Everything with I/O is created here and nowhere else, so the handler stays thin and tests (and local
mode) build the same runtime with their own clients or providers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from modelrouter.api.idempotency import Idempotency
from modelrouter.policy.store import PolicyStore
from modelrouter.service import RouterService, Telemetry
from modelrouter.settings import Settings

if TYPE_CHECKING:
    from modelrouter.execution.executor import Executor
    from modelrouter.policy.document import Policy
    from modelrouter.providers.secrets import KeyResolver
    from modelrouter.providers.types import Provider

__all__ = [
    "AWS_CONNECT_TIMEOUT_S",
    "AWS_READ_TIMEOUT_S",
    "RouterRuntime",
    "RuntimeTelemetry",
    "build_runtime",
]

AWS_CONNECT_TIMEOUT_S = 2.0
"""Connect timeout of the DynamoDB client: it sits on every request's path."""
AWS_READ_TIMEOUT_S = 3.0
"""Read timeout of the DynamoDB client."""
AWS_MAX_ATTEMPTS = 3
"""botocore's standard retry mode, attempts included the first."""
POLICY_CONNECT_TIMEOUT_S = 1.0
"""Connect timeout of the policy's S3 client."""
POLICY_READ_TIMEOUT_S = 2.0
"""Read timeout of the policy's S3 client."""
POLICY_MAX_ATTEMPTS = 1
"""A policy refresh is not retried within a request: the last good policy keeps serving and the next
refresh is due after ``POLICY_REFRESH_SECONDS`` (with no policy yet, every request tries again), so a
slow S3 costs one request at most ``POLICY_CONNECT_TIMEOUT_S + POLICY_READ_TIMEOUT_S``."""


class RuntimeTelemetry(Telemetry, Protocol):
    """Telemetry that also hears about policy loads (the Powertools one does)."""

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


def _aws_client(
    service: str,
    connect_timeout_s: float = AWS_CONNECT_TIMEOUT_S,
    read_timeout_s: float = AWS_READ_TIMEOUT_S,
    max_attempts: int = AWS_MAX_ATTEMPTS,
) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"max_attempts": max_attempts, "mode": "standard"},
    )
    return boto3.client(service, config=config)


def build_runtime(
    settings: Settings,
    telemetry: RuntimeTelemetry,
    *,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    key_resolver: KeyResolver | None = None,
    providers: Callable[[], dict[Any, Provider]] | None = None,
) -> RouterRuntime:
    """Build the container's runtime. AWS clients come from boto3 unless given.

    ``providers`` replaces the real provider adapters (tests); ``key_resolver`` replaces Secrets
    Manager (tests, local mode).
    """
    from modelrouter.accounting.store import BudgetStore
    from modelrouter.execution.executor import Executor

    dynamodb = dynamodb_client or _aws_client("dynamodb")
    policies = PolicyStore(
        settings.policy_bucket,
        settings.policy_key,
        settings.policy_refresh_seconds,
        s3_client=s3_client
        or _aws_client("s3", POLICY_CONNECT_TIMEOUT_S, POLICY_READ_TIMEOUT_S, POLICY_MAX_ATTEMPTS),
        on_event=telemetry.policy_event,
    )

    def make_executor(policy: Policy) -> Executor:
        if providers is not None:
            adapters = providers()
        else:
            from modelrouter.providers import build_providers
            from modelrouter.providers.secrets import PowertoolsKeyResolver

            adapters = build_providers(
                key_resolver or PowertoolsKeyResolver(), bedrock_endpoint_url=settings.bedrock_endpoint_url
            )
        return Executor(adapters, policy, guardrail=_guardrail(settings))

    service = RouterService(
        policies,
        BudgetStore(settings.budget_table, dynamodb),
        make_executor,
        settings.provenance_table,
        telemetry,
    )
    idempotency = Idempotency(settings.idempotency_table, dynamodb) if settings.idempotency_table else None
    return RouterRuntime(settings, service, idempotency, policies)


def _guardrail(settings: Settings) -> Any:
    from modelrouter.providers.bedrock.guardrail import BedrockGuardrailService

    return BedrockGuardrailService(endpoint_url=settings.bedrock_endpoint_url)
