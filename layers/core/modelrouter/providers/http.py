"""Shared HTTP plumbing of the HTTP providers: one pooled client, retry hints, status and body errors.

``httpx`` is imported only when a request is actually sent, so a container that only calls Bedrock
never pays for it. The helpers that read statuses, headers and bodies are pure and are also used by
the providers' error mapping modules.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CONNECT_TIMEOUT_S",
    "KEEPALIVE_EXPIRY_S",
    "MAX_CONNECTIONS",
    "MAX_ERROR_MESSAGE_CHARS",
    "MAX_KEEPALIVE_CONNECTIONS",
    "MAX_RESPONSE_BYTES",
    "HttpResponse",
    "body_snippet",
    "decode_json",
    "error_class_for_status",
    "error_for_status",
    "parse_retry_after",
    "post_json",
    "redact",
    "shared_client",
]

CONNECT_TIMEOUT_S = 3.0
"""Longest wait for a TCP + TLS connection (capped by the call's own timeout)."""
MAX_CONNECTIONS = 32
"""Connections the shared client may hold open at once, over all hosts."""
MAX_KEEPALIVE_CONNECTIONS = 16
"""Idle connections kept for reuse between invocations of a warm container."""
KEEPALIVE_EXPIRY_S = 60.0
"""How long an idle connection is kept."""
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Largest response body read; a bigger one is treated as malformed instead of exhausting memory."""
MAX_ERROR_MESSAGE_CHARS = 300
"""Provider error messages are cut to this length."""

_USER_AGENT = "modelrouter"
_client: httpx.Client | None = None
_client_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A finished HTTP response: status, headers (names lower-cased) and the raw body."""

    status: int
    """HTTP status code."""
    headers: Mapping[str, str]
    """Response headers, names lower-cased."""
    body: bytes
    """The body as received."""


def shared_client() -> httpx.Client:
    """The container's one ``httpx.Client``, created on first use (thread-safe)."""
    global _client  # noqa: PLW0603 - one pooled client per container is the point
    if _client is None:
        with _client_lock:
            if _client is None:
                import httpx

                _client = httpx.Client(
                    limits=httpx.Limits(
                        max_connections=MAX_CONNECTIONS,
                        max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
                        keepalive_expiry=KEEPALIVE_EXPIRY_S,
                    ),
                    headers={"user-agent": _USER_AGENT},
                    follow_redirects=False,
                )
    return _client


def post_json(
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeout_s: float,
    *,
    provider: str = "",
    client: httpx.Client | None = None,
    first_byte_timeout_s: float | None = None,
) -> HttpResponse:
    """POST ``body`` as JSON and read the whole response, whatever its status.

    The connect phase waits at most :data:`CONNECT_TIMEOUT_S`, every other phase at most
    ``timeout_s``, and reading the body stops once ``timeout_s`` has passed in total. With
    ``first_byte_timeout_s``, a server that sends nothing (no headers, or no next byte) for that long
    is given up on as hung, whatever time is left.

    Raises:
        ProviderTimeoutError: the call timed out.
        ProviderServerError: the connection failed or broke (DNS, refused, reset, protocol error).
        MalformedResponseError: the body is larger than :data:`MAX_RESPONSE_BYTES` or undecodable.
        BadRequestError: ``url`` is not a valid URL.
    """
    if timeout_s <= 0:
        raise ProviderTimeoutError("no time left for the call", provider=provider)
    import httpx

    http = client if client is not None else shared_client()
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    all_headers = {"content-type": "application/json", "accept": "application/json", **headers}
    read_s = min(timeout_s, first_byte_timeout_s) if first_byte_timeout_s else timeout_s
    timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s), read=read_s)
    deadline = time.monotonic() + timeout_s
    try:
        with http.stream("POST", url, content=payload, headers=all_headers, timeout=timeout) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise MalformedResponseError(
                        f"response body exceeds {MAX_RESPONSE_BYTES} bytes", provider=provider
                    )
                if time.monotonic() > deadline:
                    raise ProviderTimeoutError(f"response not read within {timeout_s:g}s", provider=provider)
                chunks.append(chunk)
            headers_out = {name.lower(): value for name, value in response.headers.items()}
            return HttpResponse(status=response.status_code, headers=headers_out, body=b"".join(chunks))
    except httpx.TimeoutException as error:
        raise ProviderTimeoutError(
            f"request timed out after {timeout_s:g}s ({type(error).__name__})", provider=provider
        ) from None
    except httpx.DecodingError:
        raise MalformedResponseError("response body could not be decoded", provider=provider) from None
    except httpx.RequestError as error:  # transport failures (DNS, refused, reset, protocol errors)
        raise ProviderServerError(f"connection failed: {type(error).__name__}", provider=provider) from None
    except httpx.InvalidURL:
        raise BadRequestError("the model's endpoint URL is invalid", provider=provider) from None


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
