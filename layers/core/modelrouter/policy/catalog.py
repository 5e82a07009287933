"""The model catalog: every model the policy may route to, how to call it, what it costs and may see."""

from __future__ import annotations

import re
from typing import Self

from pydantic import Field, model_validator

from modelrouter.policy.common import (
    Capability,
    DataClassification,
    DeploymentMode,
    Identifier,
    ProviderKind,
    StrictModel,
)

__all__ = ["ModelSpec", "Pricing", "SecretRef"]

_AWS_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
_BEDROCK_PINNED = re.compile(r"(:\d+$)|(^arn:aws)")
_FLOATING_ALIAS = re.compile(r"(latest|preview)$", re.IGNORECASE)


class Pricing(StrictModel):
    """List prices in USD per million tokens."""

    input_per_mtok: float = Field(ge=0)
    """Price of one million input (prompt) tokens."""
    output_per_mtok: float = Field(ge=0)
    """Price of one million output (completion) tokens."""
    cache_read_per_mtok: float | None = Field(default=None, ge=0)
    """Price of one million prompt tokens read from the provider's cache, where it reports them."""
    cache_write_per_mtok: float | None = Field(default=None, ge=0)
    """Price of one million prompt tokens written to the provider's cache, where it reports them."""


class SecretRef(StrictModel):
    """Where an API key is stored: a Secrets Manager secret or an SSM SecureString, never the key."""

    secretsmanager: str | None = Field(default=None, min_length=1)
    """Secrets Manager secret name or ARN."""
    ssm: str | None = Field(default=None, pattern=r"^/")
    """SSM parameter name (a SecureString), starting with '/'."""
    field: str | None = Field(default=None, min_length=1)
    """Key inside a JSON secret string; the whole secret string when omitted."""

    @model_validator(mode="after")
    def _exactly_one_store(self) -> Self:
        if (self.secretsmanager is None) == (self.ssm is None):
            raise ValueError("give exactly one of 'secretsmanager' or 'ssm'")
        return self


class ModelSpec(StrictModel):
    """One model in the catalog."""

    id: Identifier
    """The name routes, tenants and requests use for this model."""
    provider: ProviderKind
    """How the model is called."""
    model_id: str = Field(min_length=1)
    """The provider's model id, pinned to a version (``anthropic.claude-3-5-haiku-20241022-v1:0``)."""
    allow_unpinned: bool = False
    """Accept a floating alias (``…-latest``) as ``model_id``; answers may then change without notice."""
    region: str | None = Field(default=None, pattern=_AWS_REGION)
    """AWS region of a Bedrock model (required for ``bedrock``)."""
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    """Endpoint of an HTTP provider (required for ``openai``; defaults to Anthropic's for ``anthropic``)."""
    api_key: SecretRef | None = None
    """Where the API key of an HTTP provider is stored (required for ``anthropic``)."""
    api_version: str | None = None
    """Azure OpenAI ``api-version`` query parameter."""
    deployment: str | None = None
    """Azure OpenAI deployment name."""
    pricing: Pricing
    """List prices."""
    context_window: int = Field(ge=1)
    """Largest prompt plus answer, in tokens."""
    max_output_tokens: int = Field(ge=1)
    """Largest answer, in tokens."""
    typical_latency_ms: int | None = Field(default=None, ge=1)
    """Typical time to a full answer; routes with a tighter latency budget skip the model."""
    timeout_ms: int | None = Field(default=None, ge=100)
    """Longest one call to this model may take before the next candidate is tried (overrides the
    route's and the policy's ``attempt_timeout_ms``)."""
    max_concurrency: int | None = Field(default=None, ge=1, le=10_000)
    """Most calls to this model in flight at once across every router container (leases in the health
    table, released when each call ends); unset: no shared cap (each container still caps calls per
    endpoint at ``execution.max_concurrency_per_provider``). Costs two DynamoDB writes per call."""
    capabilities: frozenset[Capability] = frozenset()
    """What the model can do."""
    residency: str = Field(pattern=r"^[a-z]{2,12}$")
    """Where the data is processed (``us``, ``eu``, ``global`` …); tenants and requests restrict it."""
    max_classification: DataClassification
    """The most sensitive data classification this model is cleared for."""
    deployment_mode: DeploymentMode = DeploymentMode.PROVIDER_RETAINS
    """How the model is deployed: ``provider_retains`` (the default: the provider may keep prompts),
    ``zero_retention``, ``vpc`` or ``on_prem``. Tenants and data classifications may require modes."""
    tags: frozenset[Identifier] = frozenset()
    """Free labels (``cheap``, ``frontier``); tenants may allow models by tag."""
    enabled: bool = True
    """Disabled models stay in the catalog but are never chosen."""

    @model_validator(mode="after")
    def _provider_settings(self) -> Self:
        if self.max_output_tokens > self.context_window:
            raise ValueError("max_output_tokens cannot exceed context_window")
        if self.provider is ProviderKind.BEDROCK:
            if self.region is None:
                raise ValueError("a bedrock model needs 'region'")
            if self.api_key is not None or self.base_url is not None:
                raise ValueError("a bedrock model is called with IAM: remove 'api_key' and 'base_url'")
            if not self.allow_unpinned and not _BEDROCK_PINNED.search(self.model_id):
                raise ValueError(
                    f"model_id {self.model_id!r} is not pinned to a version"
                    " (expected a ':N' suffix or an ARN); set allow_unpinned: true to accept it"
                )
        if self.provider is ProviderKind.OPENAI and self.base_url is None:
            raise ValueError("an openai-compatible model needs 'base_url'")
        if self.provider is ProviderKind.ANTHROPIC and self.api_key is None:
            raise ValueError("an anthropic model needs 'api_key'")
        if (self.api_version or self.deployment) and self.provider is not ProviderKind.OPENAI:
            raise ValueError("'api_version' and 'deployment' apply to openai-compatible (Azure) models only")
        if not self.allow_unpinned and _FLOATING_ALIAS.search(self.model_id):
            raise ValueError(
                f"model_id {self.model_id!r} is a floating alias; pin a dated version"
                " or set allow_unpinned: true"
            )
        return self

    @property
    def endpoint(self) -> str:
        """Where the model is called, for display: the region or base URL."""
        if self.provider is ProviderKind.ANTHROPIC and self.base_url is None:
            return "https://api.anthropic.com"
        return self.region or self.base_url or ""
