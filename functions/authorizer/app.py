"""API Gateway REST API Lambda authorizer (REQUEST type): the API key → tenant.

The key comes in ``Authorization: Bearer <key>`` (OpenAI's clients) or ``x-api-key: <key>``
(Anthropic's clients and Claude Code); with both, ``Authorization`` is read
(:func:`~modelrouter.keys.bearer.api_key`). A REQUEST authorizer's identity sources must all be
present, so the template puts this function behind two authorizers: ``Authorization`` as the identity
source on the OpenAI paths (API Gateway caches each key's policy for 300 s), and none on the Messages
API paths, where API Gateway calls it for every request (its result cache needs an identity source).
For those, this function keeps accepted keys for :data:`ACCEPTED_KEY_SECONDS` per container (by the
token's SHA-256), so a warm container does not read the key table again, and a revocation bites within
the same 300 s as API Gateway's cache allows.

The answer is an IAM policy. Allowed: ``Allow`` on every method of the stage (it must cover every
route the key may call) and the context ``{"tenant_id", "key_id"}``, which the router reads in
``requestContext.authorizer``. Refused (no key, malformed, unknown or revoked key): ``Deny`` with the
context ``{"reason", "message"}``; the template's ``ACCESS_DENIED`` gateway response turns it into a
401 error whose message is ``$context.authorizer.message``, so the message is JSON-safe (no quotes,
backslashes or control characters). The key store failing (no table configured, DynamoDB
unreachable, a corrupt row): the handler logs and raises, API Gateway answers ``AUTHORIZER_FAILURE``
(503).

Logs are Powertools structured JSON: the outcome and the key id, never the token or its secret.

The key store is module-level: built from ``API_KEY_TABLE`` on first use (the settings are validated by
:class:`~modelrouter.keys.authorizer_settings.AuthorizerSettings`, and botocore is imported and the client
created then, once per container), or injected with :func:`set_key_store` by tests and local mode.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from modelrouter import env_names
from modelrouter.keys import MISSING_KEY, AuthOutcome, KeyStore, MalformedKeyError, api_key, parse_token

__all__ = [
    "ACCEPTED_KEY_SECONDS",
    "ANONYMOUS",
    "MALFORMED_HINT",
    "MAX_ACCEPTED_KEYS",
    "MISSING_MESSAGE",
    "REVOKED_MESSAGE",
    "TABLE_ENV",
    "UNKNOWN_MESSAGE",
    "handler",
    "json_safe",
    "key_store",
    "policy_resource",
    "set_key_store",
]

TABLE_ENV = env_names.API_KEY_TABLE
"""Environment variable naming the key table (the template's ``ApiKeyTable``)."""
ANONYMOUS = "anonymous"
"""``principalId`` of a refused request."""
POLICY_VERSION = "2012-10-17"
"""IAM policy language version."""
UNKNOWN_MESSAGE = "Incorrect API key provided. Check the key, or create one with modelrouter keys create."
"""Message of an unknown key (or a known key id with a wrong secret: the two are not told apart)."""
REVOKED_MESSAGE = "This API key was revoked. Create a new one with modelrouter keys create."
"""Message of a revoked key (only reported to someone holding the real secret)."""
HOW_TO_SEND = "send it as Authorization: Bearer <key> or x-api-key: <key>"
"""Where a key goes (both clients' ways)."""
MALFORMED_HINT = f"An API key looks like mr_<key id>_<secret>; {HOW_TO_SEND}."
"""Second sentence of every malformed-key message."""
MISSING_MESSAGE = f"Missing API key: {HOW_TO_SEND} (create a key with modelrouter keys create)."
"""Message of a request with no key at all."""
MAX_MESSAGE_LENGTH = 400
"""Messages are cut to this many characters (they travel in the authorizer context)."""
ACCEPTED_KEY_SECONDS = 300.0
"""How long a container reuses an accepted key's tenant without reading the key table."""
MAX_ACCEPTED_KEYS = 1024
"""Accepted keys a container remembers at most (the least recently used is forgotten first)."""

logger = Logger()
_store: KeyStore | None = None


class AcceptedKeys:
    """Accepted keys by the SHA-256 of their token (never the token): tenant and key id, for a while."""

    def __init__(self, ttl_s: float = ACCEPTED_KEY_SECONDS, size: int = MAX_ACCEPTED_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._ttl_s, self._size, self._clock = ttl_s, size, clock
        self._entries: OrderedDict[str, tuple[float, str, str]] = OrderedDict()

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def get(self, token: str) -> tuple[str, str] | None:
        """``(tenant id, key id)`` of ``token`` if it was accepted less than the TTL ago."""
        digest = self._digest(token)
        entry = self._entries.get(digest)
        if entry is None or self._clock() - entry[0] >= self._ttl_s:
            self._entries.pop(digest, None)
            return None
        self._entries.move_to_end(digest)
        return entry[1], entry[2]

    def put(self, token: str, tenant_id: str, key_id: str) -> None:
        """Remember that ``token`` was accepted now."""
        self._entries[self._digest(token)] = (self._clock(), tenant_id, key_id)
        self._entries.move_to_end(self._digest(token))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every key."""
        self._entries.clear()


accepted_keys = AcceptedKeys()
"""The container's accepted keys."""


def set_key_store(store: KeyStore | None) -> None:
    """Use ``store`` for the next invocations; ``None`` rebuilds it from the environment on next use.
    Either way the accepted keys are forgotten (they were the other store's)."""
    global _store  # noqa: PLW0603
    _store = store
    accepted_keys.clear()


def key_store() -> KeyStore:
    """The module's key store, built from ``API_KEY_TABLE`` on first use.

    Raises:
        AuthorizerConfigurationError: ``API_KEY_TABLE`` is not set or invalid (a ``RuntimeError``; the
            handler raises: ``AUTHORIZER_FAILURE``).
    """
    global _store  # noqa: PLW0603
    if _store is None:
        # pydantic on first use only: a request refused before any I/O never loads it
        from modelrouter.keys.authorizer_settings import AuthorizerSettings

        _store = KeyStore(AuthorizerSettings.from_env().api_key_table)
    return _store


def json_safe(text: str) -> str:
    """``text`` without quotes, backslashes or control characters, cut to :data:`MAX_MESSAGE_LENGTH`.

    The gateway response template pastes the message between JSON quotes as it is.
    """
    kept = "".join(
        " " if char in "\t\r\n" else char
        for char in text
        if char not in '"\\' and (ord(char) >= 0x20 or char in "\t\r\n") and ord(char) != 0x7F
    )
    return kept[:MAX_MESSAGE_LENGTH]


def policy_resource(method_arn: object) -> str:
    """Every method of the stage of ``method_arn``: ``arn:…:<api id>/<stage>/*/*``.

    A ``methodArn`` that is not ``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<method>/<path>``
    gives ``*`` (only ever used in a ``Deny``: an ``Allow`` needs a well-formed one).
    """
    if not isinstance(method_arn, str):
        return "*"
    parts = method_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "execute-api":
        return "*"
    api_id, _, rest = parts[5].partition("/")
    stage = rest.partition("/")[0]
    if not api_id or not stage:
        return "*"
    return ":".join(parts[:5]) + f":{api_id}/{stage}/*/*"


def _policy(principal: str, effect: str, resource: str, context: dict[str, str]) -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {
        "principalId": principal,
        "policyDocument": {"Version": POLICY_VERSION, "Statement": [statement]},
        "context": context,
    }


def _deny(resource: str, reason: str, message: str) -> dict[str, Any]:
    return _policy(ANONYMOUS, "Deny", resource, {"reason": reason, "message": json_safe(message)})


def _malformed_message(detail: str) -> str:
    detail = detail[:1].upper() + detail[1:]
    return f"Malformed API key: {detail.rstrip('.')}. {MALFORMED_HINT}"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Authorize one REST API request by its API key: an IAM policy with the tenant in its context.

    Raises:
        Exception: the key store could not answer (logged first; API Gateway: ``AUTHORIZER_FAILURE``).
    """
    event = event if isinstance(event, dict) else {}
    resource = policy_resource(event.get("methodArn"))
    headers = event.get("headers")
    try:
        token = api_key(headers if isinstance(headers, dict) else None)
        parse_token(token)  # no I/O for a token that cannot be a key
    except MalformedKeyError as error:
        if error.message == MISSING_KEY:
            logger.info("api key refused", extra={"outcome": "missing"})
            return _deny(resource, "missing", MISSING_MESSAGE)
        logger.info("api key refused", extra={"outcome": "malformed", "reason": error.message})
        return _deny(resource, "malformed", _malformed_message(error.message))
    if resource == "*":  # never from API Gateway; an Allow must name the API and stage it covers
        logger.error(
            "methodArn not understood; request refused", extra={"method_arn": str(event.get("methodArn"))}
        )
        return _deny(resource, "unknown", UNKNOWN_MESSAGE)
    found = accepted_keys.get(token)
    cached = found is not None
    if found is None:
        try:
            result = key_store().check(token)
        except Exception as error:
            logger.error(
                "api key check failed; authorizer failure",
                extra={"outcome": "error", "error_type": type(error).__name__, "reason": str(error)},
            )
            raise
        if result.outcome is AuthOutcome.REVOKED:
            logger.info("api key refused", extra={"outcome": "revoked", "key_id": result.key_id})
            return _deny(resource, "revoked", REVOKED_MESSAGE)
        if not result.ok or result.tenant_id is None or result.key_id is None:
            logger.info("api key refused", extra={"outcome": str(result.outcome), "key_id": result.key_id})
            return _deny(resource, "unknown", UNKNOWN_MESSAGE)
        found = (result.tenant_id, result.key_id)
        accepted_keys.put(token, *found)
    tenant_id, key_id = found
    logger.info("api key accepted", extra={"outcome": "ok", "key_id": key_id, "tenant_id": tenant_id,
                                           "cached": cached})  # fmt: skip
    return _policy(tenant_id, "Allow", resource, {"tenant_id": tenant_id, "key_id": key_id})
