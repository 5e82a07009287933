"""A local stand-in for API Gateway's HTTP API: HTTP in, authorizer first, then the router handler.

It does what the deployed API does for our routes and nothing more: a request without the identity
header gets 401, an unauthorized one 403 (API Gateway's own ``{"message": …}`` bodies), an authorized
one becomes a payload 2.0 proxy event with the authorizer's context, and the handler's response is
written back (text or base64 bodies, headers, status).

Requests are served concurrently (a thread each, a listen backlog of 128). Each function is either an
:class:`Invoker` — local mode's :class:`~modelrouter.local.pool.ContainerPool`, one process per
simulated container, so requests run in parallel as in Lambda — or a plain handler, run in this process
one invocation at a time (tests). A function error is API Gateway's 500, no answer within the
integration timeout (30 s for the router, as in ``template.yaml``) its 503.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, runtime_checkable

from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.events import authorizer_event, proxy_event

__all__ = ["INTEGRATION_TIMEOUT_S", "MAX_REQUEST_BYTES", "Gateway", "Invoker", "LocalLambdaContext"]

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
"""A Lambda handler: ``(event, context) -> response``."""

MAX_REQUEST_BYTES = 10 * 1024 * 1024
"""API Gateway's payload limit for HTTP APIs (10 MB); larger requests get 413 before any Lambda runs."""
INTEGRATION_TIMEOUT_S = 30.0
"""The routes' ``TimeoutInMillis`` in ``template.yaml``: no answer by then is a 503."""
BACKLOG = 128
"""Listen backlog: concurrent clients queue instead of being reset."""


@runtime_checkable
class Invoker(Protocol):
    """A function that can be invoked from any thread (e.g. a pool of containers)."""

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """The function's response to ``event``; TimeoutError when none comes within ``timeout_s``."""
        ...


class _InProcess:
    """A handler run in this process, one invocation at a time, as one execution environment would."""

    def __init__(self, name: str, handler: Handler, timeout_s: float) -> None:
        self._name, self._handler, self._timeout_s = name, handler, timeout_s
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        with self._lock:
            context = LocalLambdaContext(self._name, self._timeout_s)
            return self._handler(event, context)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG


def _gateway_error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps({"message": message}).encode()


class Gateway:
    """Serves the router on ``host:port`` (port 0 picks a free one), authorizer first."""

    def __init__(
        self,
        router: Handler | Invoker,
        authorizer: Handler | Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        router_timeout_s: float = 60.0,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
    ) -> None:
        self.integration_timeout_s = integration_timeout_s
        """How long a request waits for a function before it is answered 503."""
        self._router = _function("modelrouter-router", router, router_timeout_s)
        self._authorizer = _function("modelrouter-authorizer", authorizer, 10.0)
        gateway = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_REQUEST_BYTES:
                    status, headers, body = _gateway_error(413, "Request Entity Too Large")
                    self.close_connection = True
                else:
                    raw = self.rfile.read(length) if length else b""
                    status, headers, body = gateway.handle(
                        self.command, self.path, dict(self.headers.items()), raw, self.client_address[0]
                    )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the handlers log each request themselves."""

        self.server = _Server((host, port), RequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080`` (OpenAI clients use ``<url>/v1``)."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request through the authorizer and the router: ``(status, headers, body)``."""
        event = proxy_event(method, raw_path, headers, body, source_ip=source_ip)
        if "authorization" not in event["headers"]:
            return _gateway_error(401, "Unauthorized")
        try:
            verdict = self._authorizer.invoke(authorizer_event(event), self.integration_timeout_s)
            if not verdict.get("isAuthorized"):
                return _gateway_error(403, "Forbidden")
            event["requestContext"]["authorizer"] = {"lambda": dict(verdict.get("context") or {})}
            response = self._router.invoke(event, self.integration_timeout_s)
        except TimeoutError:
            return _gateway_error(503, "Service Unavailable")
        except Exception:  # a crashed function is API Gateway's 500, never a traceback to the client
            return _gateway_error(500, "Internal Server Error")
        return _http_response(response)

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another."""
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> str:
        """Serve in a background thread; returns :attr:`url`."""
        self._thread = threading.Thread(target=self.serve_forever, name="gateway", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving (if serving) and release the port."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server.server_close()

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve in a background thread; yields the base URL and stops on exit."""
        try:
            yield self.start()
        finally:
            self.stop()


def _function(name: str, function: Handler | Invoker, timeout_s: float) -> Invoker:
    return function if isinstance(function, Invoker) else _InProcess(name, function, timeout_s)


def _http_response(response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ", ".join(str(v) for v in values)
    headers.setdefault("content-type", "application/json")
    headers.pop("content-length", None)
    return int(response.get("statusCode", 200)), headers, raw
