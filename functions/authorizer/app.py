"""API Gateway HTTP API Lambda authorizer: ``Authorization: Bearer <key>`` → tenant.

Payload format 2.0 with simple responses: ``{"isAuthorized": true, "context": {"tenant_id": …,
"key_id": …}}`` or ``{"isAuthorized": false}``. The handler parses the header, asks
:class:`modelrouter.keys.KeyStore` and maps the answer; it fails closed on every error (no table
configured, DynamoDB unreachable, a corrupt row, a bug): the request is refused and the error logged.

Logs are Powertools structured JSON: the outcome and the key id, never the token or its secret.

The key store is module-level: built from ``API_KEY_TABLE`` on first use (boto3 is imported and the
client created then, once per container), or injected with :func:`set_key_store` by tests and local
mode.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from modelrouter.keys import KeyStore, MalformedKeyError, bearer_token

__all__ = ["TABLE_ENV", "handler", "key_store", "set_key_store"]

TABLE_ENV = "API_KEY_TABLE"
"""Environment variable naming the key table (the template's ``ApiKeyTable``)."""

logger = Logger()
_store: KeyStore | None = None


def set_key_store(store: KeyStore | None) -> None:
    """Use ``store`` for the next invocations; ``None`` rebuilds it from the environment on next use."""
    global _store  # noqa: PLW0603
    _store = store


def key_store() -> KeyStore:
    """The module's key store, built from ``API_KEY_TABLE`` on first use.

    Raises:
        RuntimeError: ``API_KEY_TABLE`` is not set (the handler refuses the request).
    """
    global _store  # noqa: PLW0603
    if _store is None:
        table = os.environ.get(TABLE_ENV)
        if not table:
            raise RuntimeError(f"{TABLE_ENV} is not set")
        _store = KeyStore(table)
    return _store


def _deny() -> dict[str, Any]:
    return {"isAuthorized": False}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Authorize one HTTP API request by its API key (simple response, payload 2.0)."""
    headers = event.get("headers") if isinstance(event, dict) else None
    try:
        token = bearer_token(headers if isinstance(headers, dict) else None)
    except MalformedKeyError as error:
        logger.info("api key refused", extra={"outcome": "malformed", "reason": error.message})
        return _deny()
    try:
        result = key_store().check(token)
    except Exception as error:  # fail closed, whatever went wrong
        logger.error(
            "api key check failed; request refused",
            extra={"outcome": "error", "error_type": type(error).__name__, "reason": str(error)},
        )
        return _deny()
    if not result.ok or result.tenant_id is None or result.key_id is None:
        logger.info("api key refused", extra={"outcome": str(result.outcome), "key_id": result.key_id})
        return _deny()
    logger.info(
        "api key accepted", extra={"outcome": "ok", "key_id": result.key_id, "tenant_id": result.tenant_id}
    )
    return {"isAuthorized": True, "context": {"tenant_id": result.tenant_id, "key_id": result.key_id}}
