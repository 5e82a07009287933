"""The context object a handler receives: what Lambda's Python runtime passes, built from the Runtime
API's invocation headers and the ``AWS_LAMBDA_*`` environment (the attributes Powertools reads included).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelrouter import env_names

__all__ = ["ClientContext", "CognitoIdentity", "LambdaContext", "now_ms"]


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (the unit of ``Lambda-Runtime-Deadline-Ms``)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class CognitoIdentity:
    """``context.identity``: the Cognito identity of a mobile SDK caller (empty otherwise)."""

    cognito_identity_id: str | None = None
    """Cognito identity id."""
    cognito_identity_pool_id: str | None = None
    """Cognito identity pool id."""


@dataclass(frozen=True)
class ClientContext:
    """``context.client_context``: what a mobile SDK caller sent in ``X-Amz-Client-Context``."""

    client: Mapping[str, Any] | None = None
    """The ``client`` object (app title, version …)."""
    custom: Mapping[str, Any] | None = None
    """The ``custom`` object."""
    env: Mapping[str, Any] | None = None
    """The ``env`` object."""


@dataclass(frozen=True)
class LambdaContext:
    """The Python runtime's ``context`` for one invocation."""

    aws_request_id: str
    """Lambda's request id of the invocation."""
    invoked_function_arn: str
    """ARN used to invoke the function (may carry a version or alias)."""
    deadline_ms: int
    """When the invocation times out, in epoch milliseconds."""
    function_name: str = ""
    """``AWS_LAMBDA_FUNCTION_NAME``."""
    function_version: str = ""
    """``AWS_LAMBDA_FUNCTION_VERSION``."""
    memory_limit_in_mb: int = 0
    """``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``."""
    log_group_name: str = ""
    """``AWS_LAMBDA_LOG_GROUP_NAME``."""
    log_stream_name: str = ""
    """``AWS_LAMBDA_LOG_STREAM_NAME``."""
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    """Cognito identity (empty unless a mobile SDK invoked the function)."""
    client_context: ClientContext | None = None
    """Mobile SDK client context, if one was sent."""
    clock_ms: Callable[[], int] = field(default=now_ms, repr=False, compare=False)
    """Epoch milliseconds now (tests replace it)."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out (never negative)."""
        return max(0, self.deadline_ms - self.clock_ms())

    @classmethod
    def from_invocation(
        cls, headers: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> LambdaContext:
        """The context of an invocation, from its ``Lambda-Runtime-*`` headers (names case-insensitive)."""
        environ = os.environ if environ is None else environ
        lower = {name.lower(): value for name, value in headers.items()}
        try:
            deadline = int(lower.get("lambda-runtime-deadline-ms", ""))
        except ValueError:
            deadline = now_ms()
        return cls(
            aws_request_id=lower.get("lambda-runtime-aws-request-id", ""),
            invoked_function_arn=lower.get("lambda-runtime-invoked-function-arn", ""),
            deadline_ms=deadline,
            function_name=environ.get(env_names.AWS_LAMBDA_FUNCTION_NAME, ""),
            function_version=environ.get(env_names.AWS_LAMBDA_FUNCTION_VERSION, ""),
            memory_limit_in_mb=_int(environ.get(env_names.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)),
            log_group_name=environ.get(env_names.AWS_LAMBDA_LOG_GROUP_NAME, ""),
            log_stream_name=environ.get(env_names.AWS_LAMBDA_LOG_STREAM_NAME, ""),
            identity=_identity(lower.get("lambda-runtime-cognito-identity")),
            client_context=_client_context(lower.get("lambda-runtime-client-context")),
        )


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _json_object(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _identity(text: str | None) -> CognitoIdentity:
    document = _json_object(text) or {}
    return CognitoIdentity(
        cognito_identity_id=document.get("cognitoIdentityId"),
        cognito_identity_pool_id=document.get("cognitoIdentityPoolId"),
    )


def _client_context(text: str | None) -> ClientContext | None:
    document = _json_object(text)
    if document is None:
        return None
    return ClientContext(
        client=document.get("client"), custom=document.get("custom"), env=document.get("env")
    )
