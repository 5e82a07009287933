"""POST JSON and stream the answer's bytes as they arrive: the transport of the HTTP providers' streams.

Timeouts, for a call given ``timeout_s`` and ``first_byte_timeout_s``:

* connecting waits at most :data:`~modelrouter.providers.http.CONNECT_TIMEOUT_S` (and never longer
  than the call);
* the response headers, the first byte of the body and every gap between two reads of it wait at
  most ``first_byte_timeout_s`` (``timeout_s`` when None): a stalled stream is a timeout;
* the whole stream may take ``timeout_s``: checked each time bytes arrive, so a stream that
  trickles on past its deadline ends at the next read (at most one gap late).

A non-2xx answer is read (at most :data:`MAX_ERROR_BODY_BYTES`) and raised as the provider's own
mapped error, exactly as a non-streaming call would raise it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from modelrouter.providers import http
from modelrouter.providers.errors import (
    MalformedResponseError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
)
from modelrouter.providers.sse import SseEvent, iter_events
from modelrouter.providers.stream_reader import EventReader, translate
from modelrouter.providers.types import StreamEvent

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_ERROR_BODY_BYTES", "ErrorMapper", "read_sse", "stream_post"]

MAX_ERROR_BODY_BYTES = 64 * 1024
"""Most bytes read of a failed (non-2xx) streaming answer's body before it is mapped to an error."""

ErrorMapper = Callable[[int, bytes, Mapping[str, str]], ProviderError]
"""Maps a failed answer (status, body, lower-cased headers) to the provider's typed error."""


def stream_post(
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeout_s: float,
    *,
    error_from_response: ErrorMapper,
    provider: str = "",
    client: httpx.Client | None = None,
    first_byte_timeout_s: float | None = None,
) -> Generator[bytes, None, None]:
    """POST ``body`` as JSON asking for an event stream; yield the 2xx body's bytes as they arrive.

    A generator: nothing is sent before its first ``next()``. Closing it closes the response (and
    its connection) at once.

    Raises:
        ProviderError: a non-2xx answer, mapped by ``error_from_response``.
        ProviderTimeoutError: no time left, no answer or no next byte within the first-byte timeout,
            or the stream still running after ``timeout_s``.
        ProviderConnectionError: no connection, or it was closed before the answer began.
        ProviderServerError: the connection broke after the answer began.
        MalformedResponseError: more than :data:`~modelrouter.providers.http.MAX_RESPONSE_BYTES`, or
            a body that cannot be decoded.
        BadRequestError: ``url`` is not a valid URL.
    """
    import httpx

    request = http.prepare_request(headers, body, timeout_s, first_byte_timeout_s, provider=provider)
    request.headers["accept"] = "text/event-stream"
    sender = client if client is not None else http.shared_client()
    gap_s = request.timeout.read
    deadline = time.monotonic() + timeout_s
    streaming = answered = False
    try:
        with sender.stream(
            "POST", url, content=request.payload, headers=request.headers, timeout=request.timeout
        ) as response:
            answered = True
            if not 200 <= response.status_code < 300:
                received = {name.lower(): value for name, value in response.headers.items()}
                raise error_from_response(response.status_code, _bounded_body(response), received)
            streaming = True
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > http.MAX_RESPONSE_BYTES:
                    raise MalformedResponseError(
                        f"stream exceeds {http.MAX_RESPONSE_BYTES} bytes", provider=provider
                    )
                if time.monotonic() > deadline:
                    raise ProviderTimeoutError(
                        f"stream not finished within {timeout_s:g}s", provider=provider
                    )
                yield chunk
    except httpx.TimeoutException as error:
        if streaming:
            raise ProviderTimeoutError(f"stream stalled: no byte for {gap_s:g}s", provider=provider) from None
        raise http.transport_error(error, timeout_s, provider) from None
    except httpx.RequestError as error:
        if streaming and not isinstance(error, httpx.DecodingError):
            raise ProviderServerError(
                f"stream broke after it started: {type(error).__name__}", provider=provider
            ) from None
        raise http.transport_error(error, timeout_s, provider, answered=answered) from None
    except httpx.InvalidURL as error:
        raise http.transport_error(error, timeout_s, provider) from None


def _bounded_body(response: httpx.Response) -> bytes:
    """At most :data:`MAX_ERROR_BODY_BYTES` of a failed answer's body."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ERROR_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_ERROR_BODY_BYTES]


def read_sse(chunks: Generator[bytes, None, None], reader: EventReader[SseEvent]) -> Iterator[StreamEvent]:
    """The provider stream events of the SSE byte ``chunks``, as ``reader`` translates them; the
    response is closed as soon as the terminal event is read (see :func:`~.stream_reader.translate`)."""
    return translate(iter_events(chunks), reader, chunks.close)
