"""botocore clients for the router's own AWS calls (S3, DynamoDB): short timeouts, standard retries.

These calls sit on a request's path, so they fail fast rather than hang; one shared session (created
lazily, guarded by a lock because sessions are not thread-safe) lets every client reuse botocore's
loaded endpoint and model data, which is most of a client's creation cost. botocore is imported on
first use only, and boto3 not at all: its import loads s3transfer and the resource layer (about a
fifth of the dependencies' import time), and the router only ever uses the low-level clients, which
boto3's ``Session.client`` makes with the same botocore call.
"""

from __future__ import annotations

import threading
from typing import Any

from modelrouter import timeouts

__all__ = [
    "AWS_CONNECT_TIMEOUT_S",
    "AWS_MAX_ATTEMPTS",
    "AWS_READ_TIMEOUT_S",
    "aws_client",
    "client_error_code",
    "describe_aws_error",
]

AWS_CONNECT_TIMEOUT_S = timeouts.AWS_CONNECT_TIMEOUT_S
"""Default connect timeout."""
AWS_READ_TIMEOUT_S = timeouts.AWS_READ_TIMEOUT_S
"""Default read timeout."""
AWS_MAX_ATTEMPTS = timeouts.AWS_MAX_ATTEMPTS
"""Default attempts in botocore's standard retry mode, the first included."""

_LOCK = threading.Lock()
_SESSION: list[Any] = []


def aws_client(
    service: str,
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    connect_timeout_s: float = AWS_CONNECT_TIMEOUT_S,
    read_timeout_s: float = AWS_READ_TIMEOUT_S,
    max_attempts: int = AWS_MAX_ATTEMPTS,
    max_pool_connections: int = 10,
) -> Any:
    """A client for ``service`` with the given timeouts and attempts (thread-safe to call)."""
    import botocore.session
    from botocore.config import Config

    from modelrouter.dynamodb_wire import speed_up_attribute_values
    from modelrouter.tracing.botocore_hooks import instrument_client

    config = Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        # The router builds every parameter itself and the service validates them again; botocore's
        # client-side walk visits every node of every item, the provenance record's too (a bad call is
        # still refused: a ClientError, ValidationException, instead of a ParamValidationError).
        parameter_validation=False,
    )
    with _LOCK:
        if not _SESSION:
            _SESSION.append(botocore.session.Session())
        client = _SESSION[0].create_client(
            service, endpoint_url=endpoint_url, region_name=region_name, config=config
        )
    if service == "dynamodb":
        speed_up_attribute_values(client)
    instrument_client(client)
    return client


def client_error_code(error: BaseException) -> str | None:
    """The service error code of a botocore ``ClientError`` (None for any other exception)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def describe_aws_error(error: Exception) -> str:
    """One line about a boto3 failure: the AWS error code and message, or the botocore message."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        details = response.get("Error", {})
        code = details.get("Code", "Unknown")
        message = details.get("Message", "")
        return f"{code}: {message}" if message else str(code)
    return " ".join(str(error).split()) or type(error).__name__
