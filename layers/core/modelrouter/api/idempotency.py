"""``Idempotency-Key``: a retried request returns the first response, with no second model call or charge.

Built on Powertools idempotency with its own DynamoDB table. The key is scoped to the tenant (two tenants
may use the same key); the body's SHA-256 is the payload checked on reuse. The same key still in flight
gives 409, the same key with another body 422. Error responses are not stored (Powertools deletes the
record when the function raises), so a request that failed can be retried with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from modelrouter.errors import InvalidRequestError, ModelRouterError
from modelrouter.problems import Problem

__all__ = [
    "IDEMPOTENCY_TTL_SECONDS",
    "MAX_KEY_LENGTH",
    "Idempotency",
    "IdempotencyConflictError",
    "IdempotencyKeyReusedError",
    "IdempotencyUnavailableError",
    "check_key",
]

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
"""How long a stored response answers retries with the same key, unless the tenant's
``idempotency_window_s`` is shorter."""
MAX_KEY_LENGTH = 255
"""Longer keys are refused (400)."""


class IdempotencyConflictError(ModelRouterError):
    """A request with the same ``Idempotency-Key`` is still being processed (409)."""

    code = "idempotency_in_progress"
    http_status = 409
    error_type = "conflict_error"
    expose_message = True


class IdempotencyKeyReusedError(ModelRouterError):
    """The ``Idempotency-Key`` was used before with a different body (422)."""

    code = "idempotency_key_reused"
    http_status = 422
    error_type = "invalid_request_error"
    expose_message = True


class IdempotencyUnavailableError(ModelRouterError):
    """The idempotency table cannot be reached, or this deployment has none (503)."""

    code = "idempotency_unavailable"
    http_status = 503
    error_type = "service_unavailable"
    public_message = (
        "idempotency is not available here; retry later, or send the request without an Idempotency-Key"
    )


def check_key(key: str) -> str:
    """The key, if acceptable: 1 to :data:`MAX_KEY_LENGTH` printable ASCII characters.

    Raises:
        InvalidRequestError: naming the ``Idempotency-Key`` header.
    """
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        problem = Problem("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
        raise InvalidRequestError([problem])
    return key


class Idempotency:
    """Runs a request at most once per (tenant, key) with Powertools idempotency.

    Args:
        table_name: The idempotency table (the template's ``IdempotencyTable``).
        client: A DynamoDB client (tests, local mode); by default one is created on first use.
    """

    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client
        self._by_window: dict[int, tuple[Any, Any]] = {}

    def _store(self, window_s: int) -> tuple[Any, Any]:
        """The persistence layer and config for one replay window (Powertools configures a layer once)."""
        found = self._by_window.get(window_s)
        if found is not None:
            return found
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

        if self._client is None:
            from modelrouter.aws import aws_client

            self._client = aws_client("dynamodb")
        persistence = DynamoDBPersistenceLayer(table_name=self._table_name, boto3_client=self._client)
        config = IdempotencyConfig(
            event_key_jmespath="[tenant_id, idempotency_key]",
            payload_validation_jmespath="body_sha256",
            expires_after_seconds=window_s,
            raise_on_no_idempotency_key=True,
        )
        self._by_window[window_s] = (persistence, config)
        return persistence, config

    def run(
        self,
        tenant_id: str,
        key: str,
        body: bytes,
        execute: Callable[[], dict[str, Any]],
        *,
        lambda_context: Any = None,
        window_s: int = IDEMPOTENCY_TTL_SECONDS,
    ) -> dict[str, Any]:
        """``execute()`` once for this tenant and key; later calls within ``window_s`` get its stored
        result (the response, answer text included, is kept in the table for that long).

        Raises:
            IdempotencyConflictError: the first request with this key is still running.
            IdempotencyKeyReusedError: the key was used with a different body.
            IdempotencyUnavailableError: the table could not be used.
        """
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        persistence, config = self._store(window_s)
        if lambda_context is not None:
            config.register_lambda_context(lambda_context)

        def run_once(request_key: dict[str, Any]) -> dict[str, Any]:
            return execute()

        once: Callable[..., dict[str, Any]] = idempotent_function(
            data_keyword_argument="request_key", config=config, persistence_store=persistence
        )(run_once)
        request_key = {
            "tenant_id": tenant_id,
            "idempotency_key": key,
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        try:
            result = once(request_key=request_key)
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyConflictError(
                "a request with this Idempotency-Key is still in progress; retry after it completes"
            ) from None
        except IdempotencyValidationError:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used with a different request body"
            ) from None
        except IdempotencyPersistenceLayerError as error:
            raise IdempotencyUnavailableError(
                f"idempotency table unavailable: {type(error).__name__}"
            ) from None
        return result
