"""Runtime settings of the Lambda functions, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelrouter import env_names
from modelrouter.env_settings import environment_values
from modelrouter.errors import ModelRouterError

__all__ = ["ConfigurationError", "Settings"]

_ENVIRONMENT = {
    "policy_bucket": env_names.POLICY_BUCKET,
    "policy_key": env_names.POLICY_KEY,
    "policy_pointer_key": env_names.POLICY_POINTER_KEY,
    "policy_refresh_seconds": env_names.POLICY_REFRESH_SECONDS,
    "budget_table": env_names.BUDGET_TABLE,
    "provenance_table": env_names.PROVENANCE_TABLE,
    "idempotency_table": env_names.IDEMPOTENCY_TABLE,
    "learning_table": env_names.LEARNING_TABLE,
    "health_table": env_names.HEALTH_TABLE,
    "provider_secret_arn": env_names.PROVIDER_SECRET_ARN,
    "max_body_bytes": env_names.MAX_BODY_BYTES,
    "bedrock_endpoint_url": env_names.BEDROCK_ENDPOINT_URL,
    "hold_seconds": env_names.HOLD_SECONDS,
}


class ConfigurationError(ModelRouterError):
    """The function's environment is missing or has invalid settings."""

    code = "configuration_error"
    http_status = 503
    error_type = "service_unavailable"


class Settings(BaseModel):
    """What the router function needs from its environment (see ``template.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy_bucket: str = Field(min_length=3)
    """S3 bucket holding the routing policy (``POLICY_BUCKET``)."""
    policy_key: str = Field(default="incoming/policy.yaml", min_length=1)
    """Key operators upload policies to, under ``incoming/`` (``POLICY_KEY``); routers never read it
    directly, only the versions the active pointer names (it is named in the no-policy message)."""
    policy_pointer_key: str = Field(default="control/active.json", min_length=1)
    """Key of the active pointer the activator writes and routers follow (``POLICY_POINTER_KEY``)."""
    policy_refresh_seconds: int = Field(default=60, ge=0)
    """At most this often, a conditional GET checks S3 for a new policy (``POLICY_REFRESH_SECONDS``)."""
    budget_table: str = Field(min_length=3)
    """DynamoDB table of budgets and the ledger (``BUDGET_TABLE``)."""
    provenance_table: str = Field(min_length=3)
    """DynamoDB table of provenance records (``PROVENANCE_TABLE``)."""
    idempotency_table: str | None = None
    """DynamoDB table of idempotency records (``IDEMPOTENCY_TABLE``); without it the header is refused."""
    learning_table: str | None = Field(default=None, min_length=3)
    """DynamoDB table of the bandit routes' learning state (``LEARNING_TABLE``); without it bandit routes
    decide on their priors and learn nothing."""
    health_table: str | None = Field(default=None, min_length=3)
    """DynamoDB table of the health shared by every container (``HEALTH_TABLE``): breakers, cooldowns and
    distributed concurrency leases; without it each container keeps its own breakers."""
    provider_secret_arn: str | None = None
    """Secrets Manager secret with provider API keys (``PROVIDER_SECRET_ARN``), for reference."""
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    """Larger request bodies get 413 (``MAX_BODY_BYTES``)."""
    bedrock_endpoint_url: str | None = None
    """Bedrock endpoint override, for local mode (``BEDROCK_ENDPOINT_URL``)."""
    hold_seconds: int = Field(default=900, ge=61)
    """How long a budget hold lasts before it may be returned as abandoned (``HOLD_SECONDS``); it must
    exceed the function's timeout by at least 60 s (``BudgetStore`` checks this when told the timeout)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read the settings from ``environ`` (``os.environ`` by default).

        Raises:
            ConfigurationError: a required variable is missing or a value is invalid; the message
                names the environment variables at fault.
        """
        values = environment_values(os.environ if environ is None else environ, _ENVIRONMENT)
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            names = sorted({_ENVIRONMENT[str(e["loc"][0])] for e in error.errors() if e["loc"]})
            raise ConfigurationError(
                f"invalid or missing environment variables: {', '.join(names)}"
            ) from None
