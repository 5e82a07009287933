"""The simulated models' HTTP plumbing: a threaded server that tracks its connections, so a stop can
close every one of them, and tells a request handler whether its client has hung up."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from modelrouter.local.http_chunks import Gone, hung_up, never_gone, write_chunked

__all__ = ["Answer", "Gone", "Handle", "ModelHttpServer", "never_gone"]

Answer = tuple[int, dict[str, str], bytes | Iterator[bytes]]
"""An HTTP response: ``(status, headers, body)``, the body complete or as chunks sent as they come."""
Handle = Callable[[str, str, bytes, Gone], Answer | None]
"""``(method, path, body, gone) -> (status, headers, body)``, or None to close without answering."""


class ModelHttpServer(ThreadingHTTPServer):
    """HTTP/1.1 on ``address``, a thread per connection named ``thread_name``, each request to ``handle``."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handle: Handle, thread_name: str) -> None:
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}
        super().__init__(address, _handler_class(self, handle, thread_name))

    def track(self, connection: socket.socket | None) -> None:
        """Remember (or, with None, forget) the calling thread's connection."""
        with self._lock:
            if connection is None:
                self._connections.pop(threading.current_thread(), None)
            else:
                self._connections[threading.current_thread()] = connection

    def close_connections(self, join_timeout_s: float) -> None:
        """Shut every open connection down and wait for their threads."""
        with self._lock:
            connections = dict(self._connections)
        for connection in connections.values():
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        for thread in connections:
            thread.join(join_timeout_s)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients that hang up (timeouts) are expected."""


def _handler_class(server: ModelHttpServer, handle: Handle, thread_name: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            threading.current_thread().name = f"{thread_name}-connection"
            server.track(self.connection)

        def finish(self) -> None:
            server.track(None)
            with contextlib.suppress(OSError):
                super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = handle(self.command, self.path, body, lambda: hung_up(self.connection))
            if reply is None:
                self.close_connection = True
                return
            status, headers, payload = reply
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if isinstance(payload, bytes):
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                else:
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    if not write_chunked(self.wfile, payload, lambda: hung_up(self.connection)):
                        self.close_connection = True
            except OSError:  # the client gave up (its timeout fired)
                self.close_connection = True

        do_GET = do_POST = do_PUT = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler
