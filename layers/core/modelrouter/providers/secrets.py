"""API keys from Secrets Manager or SSM Parameter Store, cached.

Keys are never logged and never put into error messages. ``KeyResolver`` is the small interface the
HTTP adapters use, so tests and local mode can swap in a dictionary.

The store clients belong to the resolver, which belongs to a runtime: they are made from the
environment when the first key is read, like the runtime's other clients. (Powertools parameters
kept one client per process for good, so a process that ran a second local stack read keys from the
first stack's stopped endpoint once its cache expired; it also imports boto3.)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from modelrouter.aws import aws_client
from modelrouter.policy.catalog import SecretRef
from modelrouter.providers.errors import AuthError

__all__ = ["KEY_CACHE_SECONDS", "AwsKeyResolver", "KeyResolver", "StaticKeyResolver"]

KEY_CACHE_SECONDS = 300
"""How long a fetched key is reused before it is fetched again (rotation takes effect within this)."""


class KeyResolver(Protocol):
    """Turns a :class:`SecretRef` into the key it points at."""

    def api_key(self, ref: SecretRef) -> str:
        """The key; raises :class:`AuthError` if it cannot be read."""
        ...


class AwsKeyResolver:
    """Reads keys from Secrets Manager or SSM (decrypted), each cached for :data:`KEY_CACHE_SECONDS`."""

    def __init__(
        self,
        max_age_s: float = KEY_CACHE_SECONDS,
        *,
        client_factory: Callable[[str], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age_s = max_age_s
        self._client_factory = client_factory or aws_client
        self._clock = clock
        self._clients: dict[str, Any] = {}
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def api_key(self, ref: SecretRef) -> str:
        """Fetch (or reuse) the key ``ref`` points at."""
        store, name = ("secretsmanager", ref.secretsmanager) if ref.secretsmanager else ("ssm", str(ref.ssm))
        now = self._clock()
        with self._lock:
            cached = self._cache.get((store, name))
        if cached is not None and now - cached[0] < self._max_age_s:
            return _select_field(cached[1], ref)
        try:
            raw = self._fetch(store, name)
        # Any store failure means "no key"; only the exception type is kept, never its text.
        except Exception as error:
            raise AuthError(f"cannot read API key from {name!r}: {type(error).__name__}") from None
        with self._lock:
            self._cache[(store, name)] = (now, raw)
        return _select_field(raw, ref)

    def _fetch(self, store: str, name: str) -> str:
        client = self._client(store)
        if store == "ssm":
            return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
        secret = client.get_secret_value(SecretId=name)
        if "SecretString" in secret:
            return str(secret["SecretString"])
        return bytes(secret["SecretBinary"]).decode()

    def _client(self, store: str) -> Any:
        with self._lock:
            if store not in self._clients:
                self._clients[store] = self._client_factory(store)
            return self._clients[store]


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
