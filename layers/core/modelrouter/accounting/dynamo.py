"""The DynamoDB client the budget store uses, and how its failures map to budget store errors.

boto3 and botocore are imported only when a client is built or an error is being classified.
"""

from __future__ import annotations

from typing import Any

from modelrouter.accounting.errors import BudgetStoreError, BudgetStoreUnavailableError
from modelrouter.aws import client_error_code

__all__ = [
    "CANCELED",
    "CONDITION_FAILED",
    "CONFLICT",
    "RETRYABLE_REASONS",
    "UNAVAILABLE_CODES",
    "cancellation_codes",
    "cancellation_reasons",
    "client_error_code",
    "dynamodb_client",
    "store_error",
]

CANCELED = "TransactionCanceledException"
"""Error code of a transaction that wrote nothing; its cancellation reasons say why, item by item."""

CONFLICT = "TransactionConflictException"
"""Error code of a write that collided with a transaction in progress on the same item."""

CONDITION_FAILED = "ConditionalCheckFailed"
"""Cancellation reason of a transaction item whose condition was false."""

RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
"""Cancellation reasons that go away when the same transaction is tried again a little later."""

UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ResourceNotFoundException",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
    }
)
"""Service error codes meaning the table cannot be used right now (as opposed to a bad request)."""


def dynamodb_client(endpoint_url: str | None = None, region_name: str | None = None) -> Any:
    """A DynamoDB client with short timeouts, three standard-mode attempts and room for 32 threads."""
    from modelrouter.aws import aws_client

    return aws_client("dynamodb", endpoint_url=endpoint_url, region_name=region_name, max_pool_connections=32)


def cancellation_reasons(error: BaseException) -> list[dict[str, Any]]:
    """The cancellation reasons of a canceled transaction, one per item (empty for other errors)."""
    response = getattr(error, "response", None)
    reasons = response.get("CancellationReasons") if isinstance(response, dict) else None
    return [reason for reason in reasons or [] if isinstance(reason, dict)]


def cancellation_codes(error: BaseException, count: int) -> list[str]:
    """The cancellation reason code of each of ``count`` transaction items (``None`` when it was fine)."""
    codes = [str(reason.get("Code") or "None") for reason in cancellation_reasons(error)]
    return (codes + ["None"] * count)[:count]


def store_error(error: Exception, table: str) -> BudgetStoreError | None:
    """The budget store error for a botocore exception, or None when ``error`` is not botocore's.

    Throttling, missing tables, credential and access problems, server errors and transport
    failures are :class:`BudgetStoreUnavailableError`; other service refusals are
    :class:`BudgetStoreError`.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, BotoCoreError):
        return BudgetStoreUnavailableError(f"budget table {table} unreachable: {error}")
    if not isinstance(error, ClientError):
        return None
    code = client_error_code(error) or "Unknown"
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in UNAVAILABLE_CODES or code.startswith("AccessDenied") or int(status or 0) >= 500:
        return BudgetStoreUnavailableError(f"budget table {table} unavailable: {code}")
    return BudgetStoreError(f"budget table {table} refused the request: {code}: {error}")
