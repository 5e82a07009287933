"""An HTTP server playing the simulated local models over the real wire protocols.

The router's own adapters run against it unchanged:

* OpenAI-compatible: ``POST <url>/v1/chat/completions`` (``base_url: <url>/v1``), model from the body;
  ``GET <url>/v1/models`` lists the models.
* Bedrock Converse: ``POST <url>/model/{modelId}/converse`` (``endpoint_url: <url>``); SigV4
  signatures are not checked.
* Control: ``GET <url>/_local/models`` (profiles, faults, call counts) and
  ``PUT <url>/_local/faults/{model}`` with ``{"fault": "rate_limit", "times": 2}`` (``{"fault": null}``
  clears), the same as :meth:`ModelServer.inject` and :meth:`ModelServer.clear`.

Any model id containing ``small``, ``medium`` or ``large`` is that model (``local.small-v1:0``,
``local-small-2026-01-01``); others get the protocol's 404. Faults (:data:`FAULTS`) apply per model,
``times`` calls or until cleared: ``rate_limit`` (429), ``server_error`` (500), ``timeout`` (no answer
for ``hang_seconds``, then a 504 / ``ModelTimeoutException``; released at once by :meth:`stop`) and
``invalid_json`` (a JSON answer that is not JSON, else a malformed response body).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote

from modelrouter.local.model_faults import FAULTS, Fault, FaultBoard, model_name
from modelrouter.local.model_wire import (
    FailureKind,
    Reply,
    WireError,
    bedrock_failure,
    bedrock_output,
    bedrock_request,
    openai_completion,
    openai_failure,
    openai_request,
)
from modelrouter.local.models import PROFILES, count_tokens, profile_for, simulate

__all__ = ["DEFAULT_HANG_SECONDS", "FAULTS", "Fault", "ModelServer"]

DEFAULT_HANG_SECONDS = 30.0
"""How long a ``timeout`` fault holds a request before answering 504."""

_JSON = {"content-type": "application/json"}
_MALFORMED_BODY = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"message": {"con'
_JOIN_TIMEOUT_S = 5.0
_POLL_INTERVAL_S = 0.2
_THREAD_NAME = "local-models"
_CONTROL_FAULTS = "/_local/faults/"
_TOO_LONG = (
    "Input is too long for requested model: this model's maximum context length is {window} tokens,"
    " the prompt has {tokens}."
)
_Wire = Literal["openai", "bedrock"]


def _control(status: int, document: Any) -> Reply:
    return status, dict(_JSON), json.dumps(document).encode()


class ModelServer:
    """Serves ``local-small``, ``local-medium`` and ``local-large`` on ``host:port`` (0: a free port).

    ``latency_scale`` multiplies the simulated latencies (0 answers at once). Use :meth:`start` /
    :meth:`stop`, ``with ModelServer() as server:``, or :meth:`serve_forever` in the foreground. A
    stopped server cannot be started again.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_scale: float = 1.0,
        hang_seconds: float = DEFAULT_HANG_SECONDS,
    ) -> None:
        self.latency_scale = latency_scale
        """Factor on every simulated latency."""
        self.hang_seconds = hang_seconds
        """How long a ``timeout`` fault holds a request."""
        self.faults = FaultBoard()
        """Injected faults and call counts."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._thread: threading.Thread | None = None
        self._serving = False
        self._server = _Server((host, port), _handler_class(self))

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ModelServer:
        """Serve in a background thread; returns the server."""
        self._serving = True
        self._thread = threading.Thread(target=self._serve, name=_THREAD_NAME, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread) or an exception."""
        self._serving = True
        self._serve()

    def stop(self) -> None:
        """Stop serving: release held requests, close every connection and the listening socket."""
        self._stopping.set()
        if self._serving:
            self._server.shutdown()
        with self._lock:
            connections = dict(self._connections)
        for connection in connections.values():
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        for thread in connections:
            thread.join(_JOIN_TIMEOUT_S)
        self._server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(_JOIN_TIMEOUT_S)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def inject(self, model: str, fault: Fault, times: int | None = None) -> None:
        """Make ``model`` fail with ``fault`` for its next ``times`` calls (None: until cleared).

        Raises:
            KeyError: no simulated model matches ``model``.
            ValueError: an unknown fault, or ``times`` below 1.
        """
        self.faults.inject(model, fault, times)

    def clear(self, model: str | None = None) -> None:
        """Clear the fault of ``model``, or of every model."""
        self.faults.clear(model)

    def calls(self, model: str) -> int:
        """How many calls reached ``model``, faulted ones included."""
        return self.faults.calls(model)

    def handle(self, method: str, path: str, body: bytes) -> Reply | None:
        """One HTTP request: ``(status, headers, body)``, or None to close without answering."""
        path = path.split("?", 1)[0]
        if method == "POST" and path.endswith("/chat/completions"):
            return self._call("openai", "", body)
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "model" and parts[2] == "converse":
            return self._call("bedrock", unquote(parts[1]), body)
        if method == "GET" and path == "/_local/models":
            return _control(200, {"models": self.faults.describe()})
        if method == "PUT" and path.startswith(_CONTROL_FAULTS):
            return self._put_fault(unquote(path.removeprefix(_CONTROL_FAULTS)), body)
        if method == "GET" and path.rstrip("/") == "/v1/models":
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "local"} for name in PROFILES]
            return _control(200, {"object": "list", "data": data})
        return _control(404, {"error": f"no route for {method} {path}"})

    def _call(self, protocol: _Wire, path_model: str, body: bytes) -> Reply | None:
        """A model call in ``protocol``; ``path_model`` is the model id in a Bedrock URL."""
        failure = openai_failure if protocol == "openai" else bedrock_failure
        forced_tool: str | None = None
        try:
            if protocol == "openai":
                model_id, request = openai_request(body)
            else:
                model_id, (request, forced_tool) = path_model, bedrock_request(body)
        except WireError as error:
            return failure("bad_request", str(error))
        profile = profile_for(model_id)
        if profile is None:
            return failure("not_found", f"The model '{model_id}' does not exist.")
        fault = self.faults.take(profile.name)
        if fault in ("rate_limit", "server_error", "timeout"):
            return self._fail(fault, failure)
        tokens = count_tokens(request.prompt_chars)
        if tokens > profile.context_window:
            return failure("context", _TOO_LONG.format(window=profile.context_window, tokens=tokens))
        wants_json = request.schema is not None or request.json_object
        answer = simulate(profile, request, garbled=fault == "invalid_json" and wants_json)
        delay = profile.latency_s(answer.output_tokens, self.latency_scale)
        if self._stopping.wait(delay):
            return None
        if fault == "invalid_json" and not wants_json:
            return 200, dict(_JSON), _MALFORMED_BODY
        if protocol == "openai":
            headers = {"openai-processing-ms": str(round(delay * 1000)), "x-request-id": uuid.uuid4().hex}
            document = openai_completion(model_id, answer, int(time.time()))
        else:
            headers = {"x-amzn-RequestId": str(uuid.uuid4())}
            document = bedrock_output(answer, forced_tool, round(delay * 1000))
        return 200, {**_JSON, **headers}, json.dumps(document, ensure_ascii=False).encode()

    def _fail(self, fault: Fault, failure: Callable[[FailureKind, str], Reply]) -> Reply | None:
        """The reply of a ``rate_limit``, ``server_error`` or ``timeout`` fault (None: stopped meanwhile)."""
        if fault == "timeout":
            if self._stopping.wait(self.hang_seconds):
                return None
            return failure("timeout", "Model has timed out in processing the request.")
        if fault == "rate_limit":
            return failure("rate_limit", "Rate limit reached for requests; please slow down.")
        return failure("server_error", "The server had an error while processing your request.")

    def _put_fault(self, model: str, body: bytes) -> Reply:
        try:
            document = json.loads(body or b"{}")
            fault, times = document.get("fault"), document.get("times")
            if fault is None:
                self.clear(model)
            else:
                self.inject(model, fault, times)
        except KeyError:
            return _control(404, {"error": f"no simulated model matches {model!r}"})
        except (ValueError, TypeError, AttributeError) as error:
            return _control(
                400, {"error": f"expected {{'fault': one of {list(FAULTS)} or null, 'times': n}}: {error}"}
            )
        return _control(200, {"model": model_name(model), "fault": self.faults.fault(model)})

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=_POLL_INTERVAL_S)

    def _track(self, connection: socket.socket | None) -> None:
        with self._lock:
            if connection is None:
                self._connections.pop(threading.current_thread(), None)
            else:
                self._connections[threading.current_thread()] = connection


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients that hang up (timeouts) are expected."""


def _handler_class(owner: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            threading.current_thread().name = f"{_THREAD_NAME}-connection"
            owner._track(self.connection)

        def finish(self) -> None:
            owner._track(None)
            with contextlib.suppress(OSError):
                super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = owner.handle(self.command, self.path, body)
            if reply is None:
                self.close_connection = True
                return
            status, headers, payload = reply
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (its timeout fired)
                self.close_connection = True

        do_GET = do_POST = do_PUT = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler
