"""The authorizer function's settings, from its environment (``template.yaml``), validated.

=====================  ===============================================
variable               meaning
=====================  ===============================================
``API_KEY_TABLE``      the key table (required; the ``ApiKeyTable``)
=====================  ===============================================

The authorizer imports this module when it first builds its key store (with botocore), never on a request
refused before any I/O, so pydantic stays out of its cold start until a key must be looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field

from modelrouter import env_names
from modelrouter.env_settings import settings_from_environment

__all__ = ["ENVIRONMENT", "AuthorizerConfigurationError", "AuthorizerSettings"]

ENVIRONMENT: Final = {"api_key_table": env_names.API_KEY_TABLE}
"""Setting → environment variable."""


class AuthorizerConfigurationError(RuntimeError):
    """The function's environment is missing a setting or has an invalid one (the message names it).
    The handler raises it, so API Gateway answers ``AUTHORIZER_FAILURE``."""


class AuthorizerSettings(BaseModel):
    """What the authorizer reads from its environment (see the module's table)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key_table: str = Field(min_length=3, max_length=1024)
    """Name (or ARN) of the DynamoDB key table."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings in ``environ`` (``os.environ`` by default); an empty variable counts as unset.

        Raises:
            AuthorizerConfigurationError: a variable is missing or invalid; the message names each one.
        """
        return settings_from_environment(cls, ENVIRONMENT, AuthorizerConfigurationError, environ)
