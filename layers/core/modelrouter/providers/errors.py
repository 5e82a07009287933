"""The typed provider error tree, the same for every provider.

Each provider adapter maps its own failures (HTTP statuses, botocore error codes, transport errors) to
exactly one of these classes, in one place. The executor only looks at the class: retryable errors
are retried with backoff (honouring ``retry_after_s``) and count against the model's circuit breaker;
the others move on to the next candidate at once.

Messages never contain API keys or prompt text.
"""

from __future__ import annotations

from typing import ClassVar

from modelrouter.errors import ModelRouterError

__all__ = [
    "AuthError",
    "BadRequestError",
    "ContentFilteredError",
    "ContextTooLongError",
    "MalformedResponseError",
    "ModelNotFoundError",
    "OverloadedError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderServerError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "RetryableProviderError",
]


class ProviderError(ModelRouterError):
    """A model call failed."""

    code = "provider_error"
    http_status = 502
    error_type = "upstream_error"
    public_message = "a model provider failed; try again"
    retryable: ClassVar[bool] = False
    """Whether the same call may succeed if tried again later."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        """Provider kind that failed (``bedrock``, ``openai``, ``anthropic``)."""
        self.status = status
        """HTTP status, where there was one."""
        self.retry_after_s = retry_after_s
        """How long the provider asked us to wait (``Retry-After``), if it said."""


class RetryableProviderError(ProviderError):
    """A transient failure: worth another try after a pause."""

    code = "retryable_provider_error"
    retryable = True


class RateLimitedError(RetryableProviderError):
    """Throttled or rate limited (HTTP 429, ``ThrottlingException``)."""

    code = "rate_limited"


class ProviderTimeoutError(RetryableProviderError):
    """The call did not finish in the time it was given."""

    code = "timeout"


class ProviderServerError(RetryableProviderError):
    """The provider failed (HTTP 5xx, a connection that broke in the middle of an answer)."""

    code = "server_error"


class ProviderConnectionError(RetryableProviderError):
    """The provider could not be reached: connection refused, DNS failure, TLS or connect error, or the
    connection closed or reset before any byte of an answer. Nothing reached the model."""

    code = "provider_connection_error"


class OverloadedError(RetryableProviderError):
    """The provider or model is temporarily unable to serve (HTTP 503/529, model not ready)."""

    code = "overloaded"


class MalformedResponseError(RetryableProviderError):
    """The provider answered with a body we cannot read (truncated JSON, no choices)."""

    code = "malformed_response"


class BadRequestError(ProviderError):
    """The provider rejected the request as invalid."""

    code = "bad_request"


class AuthError(ProviderError):
    """Missing, wrong or unauthorized credentials (HTTP 401/403, ``AccessDeniedException``)."""

    code = "auth_error"


class ContextTooLongError(ProviderError):
    """The prompt plus answer does not fit the model's context window."""

    code = "context_too_long"


class ContentFilteredError(ProviderError):
    """The provider refused the content (safety filter)."""

    code = "content_filtered"


class ModelNotFoundError(ProviderError):
    """The model or endpoint does not exist (HTTP 404, ``ResourceNotFoundException``)."""

    code = "not_found"
