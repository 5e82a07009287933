"""The DynamoDB client the budget store uses, and how its failures map to budget store errors.

boto3 and botocore are imported only when a client is built or an error is being classified.
"""

from __future__ import annotations

from typing import Any

from modelrouter.accounting.errors import BudgetStoreError, BudgetStoreUnavailableError

__all__ = ["UNAVAILABLE_CODES", "client_error_code", "dynamodb_client", "store_error"]

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


def client_error_code(error: BaseException) -> str | None:
    """The service error code of a botocore ``ClientError`` (None for any other exception)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


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
