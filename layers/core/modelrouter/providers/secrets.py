"""API keys from Secrets Manager or SSM Parameter Store, through Powertools parameters, cached.

Keys are never logged and never put into error messages. ``KeyResolver`` is the small interface the
HTTP adapters use, so tests and local mode can swap in a dictionary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from modelrouter.policy.catalog import SecretRef
from modelrouter.providers.errors import AuthError

__all__ = ["KEY_CACHE_SECONDS", "KeyResolver", "PowertoolsKeyResolver", "StaticKeyResolver"]

KEY_CACHE_SECONDS = 300
"""How long a fetched key is reused before it is fetched again (rotation takes effect within this)."""


class KeyResolver(Protocol):
    """Turns a :class:`SecretRef` into the key it points at."""

    def api_key(self, ref: SecretRef) -> str:
        """The key; raises :class:`AuthError` if it cannot be read."""
        ...


class PowertoolsKeyResolver:
    """Reads keys with Powertools parameters (cached for :data:`KEY_CACHE_SECONDS`)."""

    def __init__(self, max_age_s: int = KEY_CACHE_SECONDS) -> None:
        self._max_age_s = max_age_s

    def api_key(self, ref: SecretRef) -> str:
        """Fetch (or reuse) the key ``ref`` points at."""
        from aws_lambda_powertools.utilities import parameters

        try:
            if ref.secretsmanager is not None:
                raw = parameters.get_secret(ref.secretsmanager, max_age=self._max_age_s)
            else:
                raw = parameters.get_parameter(str(ref.ssm), decrypt=True, max_age=self._max_age_s)
        # Any store failure means "no key"; only the exception type is kept, never its text.
        except Exception as error:
            where = ref.secretsmanager or ref.ssm
            raise AuthError(f"cannot read API key from {where!r}: {type(error).__name__}") from None
        return _select_field(raw if isinstance(raw, str) else raw.decode(), ref)


class StaticKeyResolver:
    """Keys from a mapping of store name to secret string (tests, local mode)."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self._secrets = dict(secrets)

    def api_key(self, ref: SecretRef) -> str:
        """The key from the mapping."""
        name = ref.secretsmanager or ref.ssm or ""
        if name not in self._secrets:
            raise AuthError(f"no API key stored under {name!r}")
        return _select_field(self._secrets[name], ref)


def _select_field(secret: str, ref: SecretRef) -> str:
    if ref.field is None:
        return secret.strip()
    try:
        value = json.loads(secret)[ref.field]
    except (ValueError, KeyError, TypeError):
        raise AuthError(f"secret {ref.secretsmanager or ref.ssm!r} has no JSON field {ref.field!r}") from None
    if not isinstance(value, str) or not value:
        raise AuthError(f"secret field {ref.field!r} is not a non-empty string")
    return value
