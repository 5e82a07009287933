"""Failed Messages API calls to the typed provider errors; pure, no I/O.

Anthropic's error bodies are ``{"type": "error", "error": {"type", "message", "details":
{"error_code"}}, "request_id"}``; the error type refines the HTTP status. A 400
``invalid_request_error`` saying the prompt is too long is a
:class:`~modelrouter.providers.errors.ContextTooLongError`. Spent credit or spend limits
(``billing_error``, "credit balance is too low", and the 429s whose ``details.error_code`` is a
spend limit) are :class:`~modelrouter.providers.errors.AuthError`: they will not come back within
the request's deadline, so they are not retried, and they need an operator. A 413 comes from
Cloudflare, often with an HTML body, and is mapped by its status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from modelrouter.providers.anthropic.mapping import PROVIDER
from modelrouter.providers.errors import (
    AuthError,
    ContextTooLongError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)
from modelrouter.providers.http_errors import (
    body_snippet,
    error_class_for_status,
    error_for_status,
    error_for_stream_event,
    parse_retry_after,
    redact,
)

__all__ = ["error_from_event", "error_from_response"]

_TYPE_CLASSES: dict[str, type[ProviderError]] = {
    "rate_limit_error": RateLimitedError,
    "overloaded_error": OverloadedError,
    "api_error": ProviderServerError,
    "timeout_error": ProviderTimeoutError,
    "authentication_error": AuthError,
    "permission_error": AuthError,
    "billing_error": AuthError,
    "not_found_error": ModelNotFoundError,
    "request_too_large": ContextTooLongError,
}
_ACCOUNT_CODES = frozenset(
    {
        "contract_spend_limit_reached",
        "enforced_spend_limit_reached",
        "linked_organization_spend_limit_reached",
        "linked_organization_billing_unavailable",
        "organization_on_hold",
    }
)
_TOO_LONG = re.compile(r"prompt is too long|exceeds? (the )?context|context (window|limit|length)", re.I)
_NO_CREDIT = re.compile(r"credit balance is too low", re.IGNORECASE)


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """The typed error for a non-2xx response; ``secrets`` are scrubbed from the message."""
    error_type, error_code, message = _details(body)
    message = redact(message, *secrets)
    error_class = _error_class(status, error_type, error_code, message)
    return error_for_status(status, message, parse_retry_after(headers), PROVIDER, error_class=error_class)


def error_from_event(data: Mapping[str, Any], *, secrets: tuple[str, ...] = ()) -> ProviderError:
    """The typed error for an ``error`` event in a stream that had answered HTTP 200.

    Mapped as an error body is (``overloaded_error`` is an :class:`OverloadedError` …); with no HTTP
    status, an ``invalid_request_error`` stands for a 400 and an unknown type for a server error.
    """
    error_type, error_code, message = _details_of(data)
    message = redact(message, *secrets)
    status = 400 if error_type == "invalid_request_error" else 500
    error_class = _error_class(status, error_type, error_code, message) or error_class_for_status(status)
    return error_for_stream_event(error_class, message, PROVIDER)


def _error_class(status: int, error_type: str, error_code: str, message: str) -> type[ProviderError] | None:
    """The class the body's type, code and message choose over the status mapping, if any."""
    if error_code in _ACCOUNT_CODES or (_is_request_error(status, error_type) and _NO_CREDIT.search(message)):
        return AuthError
    if _is_request_error(status, error_type) and _TOO_LONG.search(message):
        return ContextTooLongError
    return _TYPE_CLASSES.get(error_type)


def _is_request_error(status: int, error_type: str) -> bool:
    """An ``invalid_request_error``, or a 4xx whose body names no known error type."""
    return error_type == "invalid_request_error" or (error_type not in _TYPE_CLASSES and 400 <= status < 500)


def _details(body: bytes) -> tuple[str, str, str]:
    """``(error type, details.error_code, message with the request id)``; empty when not known."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return "", "", body_snippet(body)
    return _details_of(data)


def _details_of(data: Any) -> tuple[str, str, str]:
    """:func:`_details` of a decoded body."""
    if not isinstance(data, dict):
        return "", "", ""
    error = data.get("error")
    if not isinstance(error, dict):
        return "", "", str(error or "")
    details = error.get("details")
    error_code = details.get("error_code") if isinstance(details, dict) else None
    message = _text(error.get("message"))
    request_id = data.get("request_id")
    if isinstance(request_id, str) and request_id:
        message = f"{message} (request_id {request_id})"
    return _text(error.get("type")), _text(error_code), message


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
