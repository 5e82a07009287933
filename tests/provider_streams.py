"""Stream test helpers shared by the providers' stream tests: response bodies sent part by part, a
server that stalls mid-stream, and assertions on how a provider stream ends or closes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from modelrouter.providers.errors import ProviderError
from modelrouter.providers.types import StreamEnd, StreamEvent

__all__ = [
    "SSE_HEADERS",
    "ChunkStream",
    "assert_close_stops_reading",
    "assert_error_after",
    "end_of",
    "stalled_server",
]

SSE_HEADERS = {"content-type": "text/event-stream"}
"""Headers of a streamed (server-sent events) answer."""


class ChunkStream(httpx.SyncByteStream):
    """A response body sent part by part; an exception among the parts is raised when reached."""

    def __init__(self, *parts: bytes | Exception, pause_s: float = 0.0) -> None:
        self.parts = parts
        self.pause_s = pause_s
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, Exception):
                raise part
            time.sleep(self.pause_s)
            self.sent += 1
            yield part

    def close(self) -> None:
        self.closed = True


@contextmanager
def stalled_server(*events: bytes) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that answers 200, sends ``events`` and then nothing at all."""
    server = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
            connection.sendall(head + b"".join(events))
            release.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    finally:
        release.set()
        thread.join(5)
        server.close()


def end_of(events: list[StreamEvent]) -> StreamEnd:
    """The last event, which must be the stream's end."""
    assert isinstance(events[-1], StreamEnd)
    return events[-1]


def assert_error_after(
    events: Iterator[StreamEvent], first: StreamEvent, expected: type[ProviderError], key: str = "-"
) -> ProviderError:
    """``events`` yields ``first``, then raises exactly ``expected``, naming no ``key``."""
    assert next(events) == first
    with pytest.raises(expected) as caught:
        next(events)
    assert type(caught.value) is expected
    assert key not in str(caught.value)
    return caught.value


def assert_close_stops_reading(events: Iterator[StreamEvent], first: StreamEvent, body: ChunkStream) -> None:
    """Closing ``events`` after its ``first`` event closes ``body`` at once, its rest never read."""
    assert next(events) == first
    events.close()  # type: ignore[attr-defined]
    assert body.closed
    assert body.sent < len(body.parts)
