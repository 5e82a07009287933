"""Shared HTTP plumbing of the HTTP providers: one pooled client, retry hints, status and body errors.

``httpx`` is imported only when a request is actually sent, so a container that only calls Bedrock
never pays for it. The helpers that read statuses, headers and bodies are pure, live in
:mod:`modelrouter.providers.http_errors` and are re-exported here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter import timeouts
from modelrouter.providers.errors import (
    BadRequestError,
    MalformedResponseError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
)
from modelrouter.providers.http_errors import (
    MAX_ERROR_MESSAGE_CHARS,
    body_snippet,
    decode_json,
    error_class_for_status,
    error_for_status,
    parse_retry_after,
    redact,
)
from modelrouter.tracing.httpx_hooks import end_failed, event_hooks

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
    "PreparedRequest",
    "body_snippet",
    "decode_json",
    "error_class_for_status",
    "error_for_status",
    "parse_retry_after",
    "post_json",
    "prepare_request",
    "redact",
    "shared_client",
    "transport_error",
]

CONNECT_TIMEOUT_S = timeouts.HTTP_CONNECT_TIMEOUT_S
"""Longest wait for a TCP + TLS connection (capped by the call's own timeout)."""
MAX_CONNECTIONS = 32
"""Connections the shared client may hold open at once, over all hosts."""
MAX_KEEPALIVE_CONNECTIONS = 16
"""Idle connections kept for reuse between invocations of a warm container."""
KEEPALIVE_EXPIRY_S = timeouts.HTTP_KEEPALIVE_EXPIRY_S
"""How long an idle connection is kept."""
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Largest response body read; a bigger one is treated as malformed instead of exhausting memory."""

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
                    event_hooks=event_hooks(),
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
        ProviderConnectionError: no connection, or it was closed before the answer began (DNS,
            refused, TLS, reset).
        ProviderServerError: the connection broke while the answer was being read.
        MalformedResponseError: the body is larger than :data:`MAX_RESPONSE_BYTES` or undecodable.
        BadRequestError: ``url`` is not a valid URL.
    """
    request = prepare_request(headers, body, timeout_s, first_byte_timeout_s, provider=provider)
    import httpx

    http = client if client is not None else shared_client()
    deadline = time.monotonic() + timeout_s
    answered = False
    try:
        with http.stream(
            "POST", url, content=request.payload, headers=request.headers, timeout=request.timeout
        ) as response:
            answered = True
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
    except (httpx.RequestError, httpx.InvalidURL) as error:  # RequestError includes timeouts
        raise transport_error(error, timeout_s, provider, answered=answered) from None


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A JSON POST ready to send: the encoded body, the headers and httpx's timeouts."""

    payload: bytes
    """The body as compact UTF-8 JSON."""
    headers: dict[str, str]
    """The JSON content headers plus the caller's."""
    timeout: httpx.Timeout
    """Connect capped at :data:`CONNECT_TIMEOUT_S`, reads at the first-byte timeout, others the call's."""


def prepare_request(
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeout_s: float,
    first_byte_timeout_s: float | None,
    *,
    provider: str = "",
) -> PreparedRequest:
    """Encode ``body`` and set the timeouts of a call that may take ``timeout_s``.

    Raises:
        ProviderTimeoutError: ``timeout_s`` is not positive (no time left for the call).
    """
    if timeout_s <= 0:
        raise ProviderTimeoutError("no time left for the call", provider=provider)
    import httpx

    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    all_headers = {"content-type": "application/json", "accept": "application/json", **headers}
    read_s = min(timeout_s, first_byte_timeout_s) if first_byte_timeout_s else timeout_s
    timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s), read=read_s)
    return PreparedRequest(payload=payload, headers=all_headers, timeout=timeout)


def transport_error(
    error: Exception, timeout_s: float, provider: str, *, answered: bool = False
) -> ProviderError:
    """The typed error for an httpx failure to send a request or read its answer.

    Timeouts are :class:`ProviderTimeoutError`, undecodable bodies :class:`MalformedResponseError`, an
    invalid URL :class:`BadRequestError`. A network failure (DNS, refused, TLS, reset, closed
    without a response) before the answer began (``answered``: the status line arrived) is a
    :class:`ProviderConnectionError`; any other transport failure :class:`ProviderServerError`.
    The failed request's trace subsegment (if sampled) ends here with ``error``.
    """
    import httpx

    end_failed(error)

    if isinstance(error, httpx.TimeoutException):
        return ProviderTimeoutError(
            f"request timed out after {timeout_s:g}s ({type(error).__name__})", provider=provider
        )
    if isinstance(error, httpx.DecodingError):
        return MalformedResponseError("response body could not be decoded", provider=provider)
    if isinstance(error, httpx.InvalidURL):
        return BadRequestError("the model's endpoint URL is invalid", provider=provider)
    unreachable = httpx.NetworkError | httpx.ProxyError | httpx.RemoteProtocolError
    if isinstance(error, unreachable) and not answered:
        return ProviderConnectionError(f"could not connect: {type(error).__name__}", provider=provider)
    return ProviderServerError(f"connection failed: {type(error).__name__}", provider=provider)
