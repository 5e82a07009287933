"""A local stand-in for the API Gateway REST API with response streaming: HTTP in, the REQUEST
authorizer first, then the router's Lambda proxy integration, its response streamed back.

It does what the deployed API does for our methods (``template.yaml``, read once at start by
:mod:`modelrouter.local.gateway_template`): the stage prefix (``/api``), the methods of the OpenAPI
definition (anything else is ``MISSING_AUTHENTICATION_TOKEN``; ``security: []`` methods skip the
authorizer), a request without its authorizer's identity-source header is ``UNAUTHORIZED`` without
calling the authorizer (the Messages API's authorizer names none: its key may be in ``Authorization`` or
``x-api-key``), the authorizer's IAM policy decides (``Allow``: the
proxy event carries ``{principalId, **context}`` in ``requestContext.authorizer``; ``Deny``:
``ACCESS_DENIED``), an authorizer that fails is ``AUTHORIZER_FAILURE``, each rendered from the
template's gateway responses. A router that answers no prelude within the integration timeout is
``INTEGRATION_TIMEOUT``, one that fails before it ``DEFAULT_5XX`` (502).

A router's :class:`~modelrouter.lambda_runtime.StreamingResponse` is written as it comes: status and
headers once its prelude arrives, then each chunk of the body with HTTP/1.1 chunked encoding, flushed.
A client that goes away stops the function (``close()`` runs in the container); a body that fails
after the prelude ends the response abruptly (no last chunk), as API Gateway does. A plain-dict
response is written whole.

Requests are served concurrently (a thread each, a listen backlog of 128). Each function is either an
:class:`Invoker` — local mode's :class:`~modelrouter.local.pool.ContainerPool`, one process per
simulated container — or a plain handler, run in this process one invocation at a time (tests).
"""

from __future__ import annotations

import base64
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.events import STAGE, authorizer_event, proxy_event
from modelrouter.local.functions import project_root
from modelrouter.local.gateway_policy import allowed
from modelrouter.local.gateway_template import GatewayReply, GatewayTemplate
from modelrouter.local.gateway_write import write_response
from modelrouter.local.streams import FunctionResult, guarded

__all__ = ["AUTHORIZER_TIMEOUT_S", "MAX_REQUEST_BYTES", "Gateway", "Invoker", "LocalLambdaContext"]

Handler = Callable[[dict[str, Any], Any], Any]
"""A Lambda handler: ``(event, context) -> response`` (a dict or a StreamingResponse)."""

MAX_REQUEST_BYTES = 10 * 1024 * 1024
"""API Gateway's payload limit (10 MB); larger requests get ``REQUEST_TOO_LARGE`` before any Lambda runs."""
AUTHORIZER_TIMEOUT_S = 10.0
"""How long an authorizer may take (the template's authorizer function timeout)."""
BACKLOG = 128
"""Listen backlog: concurrent clients queue instead of being reset."""
LOCAL_PREFIX = "/_local/"
"""Local mode's own pages (the console): outside the stage, never part of the deployed API."""
LocalPages = Callable[[str, str, list[tuple[str, str]], str], GatewayReply]
"""``(method, raw path, headers, client address) -> reply`` for paths under :data:`LOCAL_PREFIX`."""


@runtime_checkable
class Invoker(Protocol):
    """A function that can be invoked from any thread (e.g. a pool of containers)."""

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> FunctionResult:
        """The function's response to ``event`` (a stream once its prelude is there); TimeoutError
        when none comes within ``timeout_s``."""
        ...


class _InProcess:
    """A handler run in this process, one invocation (and its stream) at a time, as one execution
    environment would."""

    def __init__(self, name: str, handler: Handler, timeout_s: float) -> None:
        self._name, self._handler, self._timeout_s = name, handler, timeout_s
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> FunctionResult:
        self._lock.acquire()
        try:
            response = self._handler(event, LocalLambdaContext(self._name, self._timeout_s))
        except BaseException:
            self._lock.release()
            raise
        if isinstance(response, StreamingResponse):
            return guarded(response, finish=self._lock.release)
        self._lock.release()
        return dict(response)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about a client that hangs up (a timeout, Ctrl-C); anything else is printed, as before."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class Gateway:
    """Serves the router on ``host:port`` (port 0 picks a free one) under the stage ``/api``."""

    def __init__(
        self,
        router: Handler | Invoker,
        authorizer: Handler | Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        router_timeout_s: float = 300.0,
        integration_timeout_s: float | None = None,
        template: GatewayTemplate | Path | None = None,
    ) -> None:
        if not isinstance(template, GatewayTemplate):
            template = GatewayTemplate.load(template or project_root() / "template.yaml")
        self.template = template
        """The methods and gateway responses read from ``template.yaml``."""
        self.integration_timeout_s = integration_timeout_s or template.integration_timeout_s
        """How long a request waits for the router's prelude before ``INTEGRATION_TIMEOUT``."""
        self._router = _function("modelrouter-router", router, router_timeout_s)
        self._authorizer = _function("modelrouter-authorizer", authorizer, AUTHORIZER_TIMEOUT_S)
        self.local_pages: LocalPages | None = None
        """What answers under ``/_local/`` (local mode's console); None: 404."""
        self.server = _Server((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL with the stage, e.g. ``http://127.0.0.1:8080/api`` (OpenAI clients use ``<url>/v1``)."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/{STAGE}"

    def refuse(self, response_type: str, method: str, path: str, **variables: str) -> GatewayReply:
        """API Gateway's own answer of ``response_type`` for a request to ``path`` (with the stage)."""
        return self.template.render(response_type, {"httpMethod": method, "path": path, **variables})

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: dict[str, str] | list[tuple[str, str]],
        body: bytes,
        source_ip: str = "127.0.0.1",
    ) -> GatewayReply | StreamingResponse:
        """One HTTP request through the authorizer and the router: ``(status, headers, body)``, or the
        router's stream (the caller writes it, and must exhaust or close it)."""
        path, _, query = raw_path.partition("?")
        resource_path = path.removeprefix(f"/{STAGE}") if path.startswith(f"/{STAGE}/") else None
        route = self.template.match(method, resource_path) if resource_path is not None else None
        if route is None or resource_path is None:
            return self.refuse("MISSING_AUTHENTICATION_TOKEN", method, path)
        event = proxy_event(
            method, resource_path, headers, body, query=query, source_ip=source_ip,
            resource=route.resource, path_parameters=route.path_parameters,
        )  # fmt: skip
        context = event["requestContext"]
        if not route.authorized:
            return self._integrate(event, method, path)
        sent = {name.lower() for name in event["headers"]}
        if any(header not in sent for header in route.identity_headers):
            return self.refuse("UNAUTHORIZED", method, path, requestId=context["requestId"])
        request = authorizer_event(event)
        try:
            answer = self._authorizer.invoke(request, AUTHORIZER_TIMEOUT_S)
        except Exception:  # timed out, raised or crashed: never cached, never a traceback to the client
            return self.refuse("AUTHORIZER_FAILURE", method, path, requestId=context["requestId"])
        verdict = allowed(answer, request["methodArn"]) if isinstance(answer, dict) else None
        if verdict is None or not isinstance(answer, dict):
            return self.refuse("AUTHORIZER_CONFIGURATION_ERROR", method, path, requestId=context["requestId"])
        authorizer = {"principalId": str(answer.get("principalId", "")), **(answer.get("context") or {})}
        if not verdict:
            found = {f"authorizer.{key}": str(value) for key, value in authorizer.items()}
            return self.refuse("ACCESS_DENIED", method, path, requestId=context["requestId"], **found)
        context["authorizer"] = authorizer
        return self._integrate(event, method, path)

    def _integrate(self, event: dict[str, Any], method: str, path: str) -> GatewayReply | StreamingResponse:
        """The router function's answer to ``event``, or API Gateway's own when it fails."""
        context = event["requestContext"]
        try:
            response = self._router.invoke(event, self.integration_timeout_s)
        except TimeoutError:
            return self.refuse("INTEGRATION_TIMEOUT", method, path, requestId=context["requestId"])
        except Exception:  # a function error is API Gateway's 502, never a traceback to the client
            return self.refuse("DEFAULT_5XX", method, path, requestId=context["requestId"])
        return response if isinstance(response, StreamingResponse) else _buffered(response)

    def local(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], source_ip: str
    ) -> GatewayReply:
        """Local mode's own page at ``raw_path`` (under ``/_local/``): :attr:`local_pages`' reply or 404."""
        if self.local_pages is None:
            return _NO_LOCAL_PAGE
        return self.local_pages(method, raw_path, headers, source_ip)

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


def _handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            reply: GatewayReply | StreamingResponse
            if length > MAX_REQUEST_BYTES:
                reply = gateway.refuse("REQUEST_TOO_LARGE", self.command, self.path.partition("?")[0])
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                pairs = [(str(name), str(value)) for name, value in self.headers.items()]
                if self.path.startswith(LOCAL_PREFIX):
                    reply = gateway.local(self.command, self.path, pairs, self.client_address[0])
                else:
                    reply = gateway.handle(self.command, self.path, pairs, raw, self.client_address[0])
            if not write_response(self, reply):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the handlers log each request themselves."""

    return RequestHandler


_NO_LOCAL_PAGE: GatewayReply = (404, {"content-type": "text/plain; charset=utf-8"}, b"not found\n")


def _function(name: str, function: Handler | Invoker, timeout_s: float) -> Invoker:
    return function if isinstance(function, Invoker) else _InProcess(name, function, timeout_s)


def _buffered(response: dict[str, Any]) -> GatewayReply:
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ", ".join(str(v) for v in values)
    headers.setdefault("content-type", "application/json")
    headers.pop("content-length", None)
    return int(response.get("statusCode", 200)), headers, raw
