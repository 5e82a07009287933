"""A fake Lambda Runtime API (http.server) for the streaming runtime loop's tests.

It implements what the documentation describes: ``GET /2018-06-01/runtime/invocation/next`` hands out
queued invocations with their ``Lambda-Runtime-*`` headers; ``POST …/invocation/{id}/response`` (plain
or chunked, with trailers), ``POST …/invocation/{id}/error`` and ``POST …/runtime/init/error`` are
recorded and answered 202. Chunked bodies are parsed by hand, and each chunk is recorded the moment it
arrives (a monotonic sequence number and an event tests can wait on), so a test can check that a chunk
arrived while the handler was still producing the next one.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeRuntimeApi", "Posted", "running_fake_runtime_api"]

PREFIX = "/2018-06-01/runtime"
WAIT_S = 10.0
"""Longest a test waits for something the loop should do (a bound on failures, not a timed assertion)."""


@dataclass
class Posted:
    """One POST the runtime made: kind (``response``, ``error``, ``init-error``), headers, body."""

    kind: str
    request_id: str | None
    headers: dict[str, str]
    chunks: list[bytes] = field(default_factory=list)
    """The body's HTTP chunks in arrival order (one item for a body that was not chunked)."""
    trailers: dict[str, str] = field(default_factory=dict)
    complete: threading.Event = field(default_factory=threading.Event)
    """Set when the whole body (and trailers) arrived."""
    chunk_arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def body(self) -> bytes:
        """The whole body received so far."""
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        """A request header, by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def wait_for_chunks(self, count: int) -> None:
        """Block until ``count`` chunks arrived (fails after :data:`WAIT_S`)."""
        with self.chunk_arrived:
            if not self.chunk_arrived.wait_for(lambda: len(self.chunks) >= count, WAIT_S):
                raise AssertionError(f"{len(self.chunks)} chunks arrived, waited for {count}")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class FakeRuntimeApi:
    """The server: queue invocations with :meth:`invoke`, read what came back in :attr:`posts`."""

    def __init__(self) -> None:
        self._pending: queue.Queue[tuple[str, bytes, dict[str, str]]] = queue.Queue()
        self.posts: list[Posted] = []
        self._posted = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self.server.daemon_threads = True

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def invoke(self, event: Any, *, deadline_ms: int, trace_id: str | None = None, **headers: str) -> str:
        """Queue an invocation of ``event``; returns its request id."""
        request_id = str(uuid.uuid4())
        sent = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:router",
            **headers,
        }
        if trace_id is not None:
            sent["Lambda-Runtime-Trace-Id"] = trace_id
        self._pending.put((request_id, json.dumps(event).encode(), sent))
        return request_id

    def _record(self, posted: Posted) -> None:
        with self._posted:
            self.posts.append(posted)
            self._posted.notify_all()

    def wait_for_post(self, request_id: str | None, kind: str) -> Posted:
        """The POST of ``kind`` for ``request_id`` once its headers arrived (fails after :data:`WAIT_S`)."""

        def found() -> Posted | None:
            return next((p for p in self.posts if (p.request_id, p.kind) == (request_id, kind)), None)

        with self._posted:
            if not self._posted.wait_for(lambda: found() is not None, WAIT_S):
                raise AssertionError(f"no {kind} for {request_id}; posts: {[p.kind for p in self.posts]}")
        posted = found()
        assert posted is not None
        return posted

    def completed(self, request_id: str | None, kind: str) -> Posted:
        """Like :meth:`wait_for_post`, once the whole body arrived."""
        posted = self.wait_for_post(request_id, kind)
        if not posted.complete.wait(WAIT_S):
            raise AssertionError(f"the {kind} of {request_id} never completed")
        return posted


def _handler_class(api: FakeRuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                self._answer(404, b'{"errorMessage": "not found"}')
                return
            request_id, event, headers = api._pending.get()  # long poll, as Lambda does
            del request_id
            self._answer(200, event, headers)

        def do_POST(self) -> None:
            kind, request_id = _route(self.path)
            if kind is None:
                self._answer(404, b'{"errorMessage": "not found"}')
                return
            posted = Posted(kind, request_id, dict(self.headers.items()))
            api._record(posted)
            if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                self._read_chunked(posted)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                with posted.chunk_arrived:
                    posted.chunks.append(self.rfile.read(length))
                    posted.chunk_arrived.notify_all()
            posted.complete.set()
            self._answer(202, b'{"status": "OK"}')

        def _read_chunked(self, posted: Posted) -> None:
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    break
                data = self.rfile.read(size)
                assert self.rfile.read(2) == b"\r\n", "a chunk must end with CRLF"
                with posted.chunk_arrived:
                    posted.chunks.append(data)
                    posted.chunk_arrived.notify_all()
            while line := self.rfile.readline().rstrip(b"\r\n"):
                name, _, value = line.decode("latin-1").partition(":")
                posted.trailers[name.strip()] = value.strip()

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _route(path: str) -> tuple[str | None, str | None]:
    """``(kind, request id)`` of a POST path."""
    if path == f"{PREFIX}/init/error":
        return "init-error", None
    parts = path.removeprefix(f"{PREFIX}/invocation/").split("/")
    if path.startswith(f"{PREFIX}/invocation/") and len(parts) == 2 and parts[1] in {"response", "error"}:
        return parts[1], parts[0]
    return None, None


@contextmanager
def running_fake_runtime_api() -> Iterator[FakeRuntimeApi]:
    """A fake Runtime API serving on a free local port until the block ends."""
    api = FakeRuntimeApi()
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
