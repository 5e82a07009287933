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

from modelrouter.providers.errors import (
    AuthError,
    ContentFilteredError,
    ContextTooLongError,
    ModelNotFoundError,
    ProviderError,
)
from modelrouter.providers.http import body_snippet, error_for_status, parse_retry_after, redact
from modelrouter.providers.openai.mapping import PROVIDER

__all__ = ["error_from_response"]

_CONTEXT_CODES = frozenset(
    {"context_length_exceeded", "exceed_context_size_error", "string_above_max_length"}
)
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation", "responsibleaipolicyviolation"})
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
_NOT_FOUND_CODES = frozenset({"model_not_found", "deploymentnotfound"})
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
    retry_after_s = parse_retry_after(headers)
    error_class: type[ProviderError] | None = None
    if codes & _QUOTA_CODES:
        error_class = AuthError
    elif codes & _CONTEXT_CODES or (400 <= status < 500 and status != 429 and _TOO_LONG.search(message)):
        error_class = ContextTooLongError
    elif codes & _FILTER_CODES:
        error_class = ContentFilteredError
    elif codes & _NOT_FOUND_CODES:
        error_class = ModelNotFoundError
    return error_for_status(status, message, retry_after_s, PROVIDER, error_class=error_class)


def _details(body: bytes) -> tuple[frozenset[str], str]:
    """``(lower-cased error codes and types, message)`` from any of the known error bodies."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return frozenset(), body_snippet(body)
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
