"""Failed OpenAI-compatible calls to the typed provider errors; pure, no I/O.

The HTTP status decides first (:func:`~modelrouter.providers.http.error_for_status`); the error
body refines it. Bodies differ between servers, so all of these are read:
``{"error": {"message", "type", "code"}}`` (OpenAI, Groq, Together, vLLM, llama.cpp),
``{"error": {"code", "message", "innererror"}}`` (Azure), ``{"object": "error", "message", "type"}``
(Mistral, older vLLM), ``{"error": "text"}`` (Ollama) and ``{"detail": ...}``.

``insufficient_quota`` (HTTP 429 from OpenAI when the account's credit or spend limit is used up) is
mapped to :class:`~modelrouter.providers.errors.AuthError`, not to a rate limit: it does not come
back within a request's deadline, so retrying only burns the time left, and like a revoked key it
needs an operator. It is not retryable, so the executor moves to the next candidate at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from modelrouter.providers.errors import (
    AuthError,
    ContentFilteredError,
    ContextTooLongError,
    ModelNotFoundError,
    ProviderError,
)
from modelrouter.providers.http_errors import (
    body_snippet,
    error_class_for_status,
    error_for_status,
    error_for_stream_event,
    parse_retry_after,
    redact,
)
from modelrouter.providers.openai.mapping import PROVIDER

__all__ = ["error_from_event", "error_from_response"]

_CONTEXT_CODES = frozenset(
    {"context_length_exceeded", "exceed_context_size_error", "string_above_max_length"}
)
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation", "responsibleaipolicyviolation"})
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
_NOT_FOUND_CODES = frozenset({"model_not_found", "deploymentnotfound"})
_EVENT_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "timeout": 408,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "tokens": 429,
    "requests": 429,
    "server_error": 500,
    "api_error": 500,
    "overloaded_error": 503,
    "service_unavailable": 503,
}
"""The HTTP status an error event's ``type`` or ``code`` stands for (streams have answered 200)."""
_TOO_LONG = re.compile(
    r"maximum context length|context length|context window|context size|prompt is too long"
    r"|too many tokens|too large for model",
    re.IGNORECASE,
)


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """The typed error for a non-2xx response; ``secrets`` are scrubbed from the message."""
    codes, message = _details(body)
    message = redact(message, *secrets)
    error_class = _refined_class(status, codes, message)
    return error_for_status(status, message, parse_retry_after(headers), PROVIDER, error_class=error_class)


def error_from_event(data: Mapping[str, Any], *, secrets: tuple[str, ...] = ()) -> ProviderError:
    """The typed error for an ``{"error": …}`` event in a stream that had answered HTTP 200.

    Its ``type`` or ``code`` stands in for the missing HTTP status (``rate_limit_exceeded`` is a 429,
    ``invalid_request_error`` a 400 …); an error naming neither is a server error, worth a retry.
    """
    codes, message = _details_of(data)
    message = redact(message, *secrets)
    status = next((_EVENT_STATUS[code] for code in sorted(codes) if code in _EVENT_STATUS), 500)
    error_class = _refined_class(status, codes, message) or error_class_for_status(status)
    return error_for_stream_event(error_class, message, PROVIDER)


def _refined_class(status: int, codes: frozenset[str], message: str) -> type[ProviderError] | None:
    """The class the body's codes and message choose over the status mapping, if any."""
    if codes & _QUOTA_CODES:
        return AuthError
    if codes & _CONTEXT_CODES or (400 <= status < 500 and status != 429 and _TOO_LONG.search(message)):
        return ContextTooLongError
    if codes & _FILTER_CODES:
        return ContentFilteredError
    if codes & _NOT_FOUND_CODES:
        return ModelNotFoundError
    return None


def _details(body: bytes) -> tuple[frozenset[str], str]:
    """``(lower-cased error codes and types, message)`` from any of the known error bodies."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return frozenset(), body_snippet(body)
    return _details_of(data)


def _details_of(data: Any) -> tuple[frozenset[str], str]:
    """:func:`_details` of a decoded body."""
    if not isinstance(data, dict):
        return frozenset(), ""
    error = data.get("error", data)
    if isinstance(error, str):
        return frozenset(), error
    if not isinstance(error, dict):
        return frozenset(), ""
    codes = {str(error.get(key)).lower() for key in ("code", "type") if isinstance(error.get(key), str)}
    inner = error.get("innererror")
    if isinstance(inner, dict) and isinstance(inner.get("code"), str):
        codes.add(inner["code"].lower())
    message = error.get("message") or data.get("message") or data.get("detail") or ""
    if not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False)[:1000]
    return frozenset(codes), message
