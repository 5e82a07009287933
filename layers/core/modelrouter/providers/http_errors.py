"""The pure half of the HTTP providers' plumbing: retry hints, status and body errors, redaction.

Used by the providers' error mapping modules; re-exported by :mod:`modelrouter.providers.http`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from modelrouter.providers.errors import (
    AuthError,
    BadRequestError,
    ContextTooLongError,
    MalformedResponseError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)

__all__ = [
    "MAX_ERROR_MESSAGE_CHARS",
    "body_snippet",
    "decode_json",
    "error_class_for_status",
    "error_for_status",
    "error_for_stream_event",
    "parse_retry_after",
    "redact",
]

MAX_ERROR_MESSAGE_CHARS = 300
"""Provider error messages are cut to this length."""


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the provider asked to wait: ``retry-after-ms``, or ``retry-after`` in seconds or as a date.

    Returns None when neither header is present or readable. ``now`` (epoch seconds) is for tests.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = _non_negative(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000.0
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _non_negative(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _non_negative(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


_STATUS_CLASSES: dict[int, type[ProviderError]] = {
    401: AuthError,
    403: AuthError,
    404: ModelNotFoundError,
    408: ProviderTimeoutError,
    413: ContextTooLongError,
    429: RateLimitedError,
    500: ProviderServerError,
    502: ProviderServerError,
    503: OverloadedError,
    504: ProviderServerError,
    529: OverloadedError,
}


def error_class_for_status(status: int) -> type[ProviderError]:
    """The error class an HTTP status maps to when the body says nothing more specific."""
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if 400 <= status < 500 or 300 <= status < 400:
        return BadRequestError  # 3xx: a wrong base_url; trying again will not help
    return ProviderServerError


def error_for_status(
    status: int,
    message: str,
    retry_after_s: float | None,
    provider: str,
    *,
    error_class: type[ProviderError] | None = None,
) -> ProviderError:
    """The typed error for a failed HTTP call; ``error_class`` overrides the status mapping.

    ``message`` is the provider's own error message; it is truncated to
    :data:`MAX_ERROR_MESSAGE_CHARS` and must not contain headers or keys.
    """
    chosen = error_class if error_class is not None else error_class_for_status(status)
    text = _truncate(" ".join(message.split())) or "no error message"
    return chosen(
        f"{provider or 'provider'} returned HTTP {status}: {text}",
        provider=provider,
        status=status,
        retry_after_s=retry_after_s,
    )


def error_for_stream_event(error_class: type[ProviderError], message: str, provider: str) -> ProviderError:
    """The typed error for an error event inside a stream that had answered HTTP 200.

    ``message`` is the provider's own error message, truncated like :func:`error_for_status`'s; the
    error has no HTTP status and no retry hint (a stream carries neither).
    """
    text = _truncate(" ".join(message.split())) or "no error message"
    return error_class(f"{provider or 'provider'} stream error: {text}", provider=provider)


def decode_json(body: bytes, provider: str) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        MalformedResponseError: the body is empty, not UTF-8, not JSON (or truncated), or not an object.
    """
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        reason = "empty body" if not body.strip() else f"body is not valid JSON ({type(error).__name__})"
        raise MalformedResponseError(reason, provider=provider) from None
    if not isinstance(decoded, dict):
        raise MalformedResponseError(
            f"body is JSON {type(decoded).__name__}, not an object", provider=provider
        )
    return decoded


def body_snippet(body: bytes) -> str:
    """A short plain-text excerpt of a non-JSON error body (empty for HTML pages and binary data)."""
    text = body[: MAX_ERROR_MESSAGE_CHARS * 4].decode("utf-8", errors="replace").strip()
    if not text or text.startswith("<") or "\ufffd" in text:
        return ""
    return _truncate(" ".join(text.split()))


def redact(text: str, *secrets: str) -> str:
    """``text`` with every occurrence of each secret (of 8+ characters) replaced by ``***``."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


def _truncate(text: str) -> str:
    if len(text) <= MAX_ERROR_MESSAGE_CHARS:
        return text
    return text[: MAX_ERROR_MESSAGE_CHARS - 1] + "…"
