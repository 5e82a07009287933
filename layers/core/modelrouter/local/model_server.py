"""An HTTP server playing the simulated local models over the real wire protocols.

The router's own adapters run against it unchanged:

* OpenAI-compatible: ``POST <url>/v1/chat/completions`` (``base_url: <url>/v1``), model from the body;
  ``GET <url>/v1/models`` lists the models.
* Anthropic Messages: ``POST <url>/v1/messages`` (``base_url: <url>``), model from the body.
* Bedrock Converse: ``POST <url>/model/{modelId}/converse`` and ``…/converse-stream``
  (``endpoint_url: <url>``); SigV4 signatures are not checked.

Each streams when asked (``stream: true``, or ``converse-stream``): paced pieces of the same answer
in the protocol's own stream format (:mod:`modelrouter.local.model_stream`).
* Control: ``GET <url>/_local/models`` (profiles, faults, call counts) and
  ``PUT <url>/_local/faults/{model}`` with ``{"fault": "rate_limit", "times": 2}`` (``{"fault": null}``
  clears), the same as :meth:`ModelServer.inject` and :meth:`ModelServer.clear`.

Any model id containing ``small``, ``medium`` or ``large`` is that model (``local.small-v1:0``,
``local-small-2026-01-01``); others get the protocol's 404. Faults (:data:`FAULTS`, described in
:mod:`modelrouter.local.model_faults`) apply per model, for ``times`` calls or until cleared, each call
with a ``probability``. Held requests (``timeout``, ``hang``, ``slow_first_byte``) are released at once
by :meth:`ModelServer.stop`, and a ``hang`` also as soon as its client closes the connection.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from modelrouter.local.model_body import WireError
from modelrouter.local.model_faults import FAULTS, Fault, FaultBoard, Injection, model_name
from modelrouter.local.model_http import Answer, Gone, ModelHttpServer, never_gone
from modelrouter.local.model_protocols import PROTOCOLS, WireProtocol
from modelrouter.local.model_stream import Pace, StreamFault, paced
from modelrouter.local.model_wire import FailureKind, Reply
from modelrouter.local.models import PROFILES, count_tokens, profile_for, simulate

__all__ = ["DEFAULT_HANG_SECONDS", "FAULTS", "Fault", "ModelServer"]

DEFAULT_HANG_SECONDS = 30.0
"""How long a ``timeout`` fault holds a request before answering 504."""
MAX_HANG_SECONDS = 600.0
"""A ``hang`` whose client never gives up is closed, unanswered, after this long."""

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
_BEDROCK_ACTIONS = ("converse", "converse-stream")
_SERVER_ERROR = "The server had an error while processing your request."
_STREAM_FAULTS: dict[str, StreamFault] = {"stream_cut": "stream_cut", "stream_error": "stream_error"}


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
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._serving = False
        self._server = ModelHttpServer((host, port), self.handle, _THREAD_NAME)

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
        self._server.close_connections(_JOIN_TIMEOUT_S)
        self._server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(_JOIN_TIMEOUT_S)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def inject(self, model: str, fault: Fault, times: int | None = None, **options: Any) -> None:
        """Make ``model`` fail with ``fault`` for its next ``times`` calls (None: until cleared).

        ``options``: ``probability``, ``delay_ms``, ``retry_after_s`` (see :meth:`FaultBoard.inject`).

        Raises:
            KeyError: no simulated model matches ``model``.
            ValueError: an unknown fault, ``times`` below 1, or an invalid option.
        """
        self.faults.inject(model, fault, times, **options)

    def clear(self, model: str | None = None) -> None:
        """Clear the fault of ``model``, or of every model."""
        self.faults.clear(model)

    def calls(self, model: str) -> int:
        """How many calls reached ``model``, faulted ones included."""
        return self.faults.calls(model)

    def handle(self, method: str, path: str, body: bytes, gone: Gone = never_gone) -> Answer | None:
        """One HTTP request: ``(status, headers, body)`` (a body of chunks for a stream), or None to
        close without answering.

        ``gone`` tells whether the client has hung up (a ``hang`` waits for that).
        """
        path = path.split("?", 1)[0]
        if method == "POST" and path.endswith("/chat/completions"):
            return self._call(PROTOCOLS["openai"], "", body, gone)
        if method == "POST" and path.rstrip("/").endswith("/v1/messages"):
            return self._call(PROTOCOLS["anthropic"], "", body, gone)
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "model" and parts[2] in _BEDROCK_ACTIONS:
            streamed = parts[2] == "converse-stream"
            return self._call(PROTOCOLS["bedrock"], unquote(parts[1]), body, gone, streamed=streamed)
        if method == "GET" and path == "/_local/models":
            return _control(200, {"models": self.faults.describe()})
        if method == "PUT" and path.startswith(_CONTROL_FAULTS):
            return self._put_fault(unquote(path.removeprefix(_CONTROL_FAULTS)), body)
        if method == "GET" and path.rstrip("/") == "/v1/models":
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "local"} for name in PROFILES]
            return _control(200, {"object": "list", "data": data})
        return _control(404, {"error": f"no route for {method} {path}"})

    def _call(
        self, wire: WireProtocol, path_model: str, body: bytes, gone: Gone, *, streamed: bool = False
    ) -> Answer | None:
        """A model call in ``wire``'s protocol; ``path_model`` is the model id in a Bedrock URL."""
        try:
            model_id, request, forced_tool = wire.parse(body, path_model)
        except WireError as error:
            return wire.failure("bad_request", str(error))
        request = replace(request, stream=True) if streamed else request
        profile = profile_for(model_id)
        if profile is None:
            return wire.failure("not_found", f"The model '{model_id}' does not exist.")
        injection = self.faults.draw(profile.name)
        fault = injection.fault if injection is not None else None
        if injection is not None and injection.fault in ("rate_limit", "server_error", "timeout", "hang"):
            return self._fail(injection, wire, gone)
        if fault == "slow_first_byte" and injection and self._wait(injection.delay_ms / 1000, gone):
            return None
        tokens = count_tokens(request.prompt_chars)
        if tokens > profile.context_window:
            return wire.failure("context", _TOO_LONG.format(window=profile.context_window, tokens=tokens))
        wants_json = request.schema is not None or request.json_object
        answer = simulate(profile, request, garbled=fault == "invalid_json" and wants_json)
        delay = profile.latency_s(answer.output_tokens, self.latency_scale)
        if request.stream:
            blocks, encoder = wire.stream(model_id, answer, request, forced_tool, round(delay * 1000))
            headers = {"content-type": wire.stream_type, "cache-control": "no-cache"}
            if fault == "invalid_json" and not wants_json:
                return 200, headers, iter([wire.malformed_stream])
            broken = _STREAM_FAULTS.get(fault or "")
            pace = Pace.of(profile, self.latency_scale)
            return 200, headers, paced(encoder, blocks, pace, self._stopping.wait, broken)
        if self._stopping.wait(delay) or fault == "stream_cut":
            return None
        if fault == "stream_error":
            return wire.failure("server_error", _SERVER_ERROR)
        if fault == "invalid_json" and not wants_json:
            return 200, dict(_JSON), _MALFORMED_BODY
        answered = wire.answer(model_id, answer, forced_tool, round(delay * 1000))
        return 200, {**_JSON, **answered.headers}, json.dumps(answered.document, ensure_ascii=False).encode()

    def _fail(self, injection: Injection, wire: WireProtocol, gone: Gone) -> Reply | None:
        """The reply of a failing fault (None: no answer, the stop or the client came first)."""
        if injection.fault == "hang":
            self._wait(MAX_HANG_SECONDS, gone)
            return None
        if injection.fault == "timeout":
            if self._wait(self.hang_seconds, gone):
                return None
            kind: FailureKind = "timeout"
            message = "Model has timed out in processing the request."
        elif injection.fault == "rate_limit":
            kind, message = "rate_limit", "Rate limit reached for requests; please slow down."
        else:
            kind, message = "server_error", _SERVER_ERROR
        return wire.failure(kind, message, retry_after_s=injection.retry_after_s)

    def _wait(self, seconds: float, gone: Gone) -> bool:
        """Wait ``seconds``; True when the server stops or the client hangs up first."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping.wait(min(left, _POLL_INTERVAL_S)) or gone():
                return True
        return False

    def _put_fault(self, model: str, body: bytes) -> Reply:
        try:
            fault = self.faults.apply(model, json.loads(body or b"{}"))
        except KeyError:
            return _control(404, {"error": f"no simulated model matches {model!r}"})
        except (ValueError, TypeError) as error:
            expected = f"{{'fault': one of {list(FAULTS)} or null, 'times': n, 'probability': p, …}}"
            return _control(400, {"error": f"expected {expected}: {error}"})
        return _control(200, {"model": model_name(model), "fault": fault})

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=_POLL_INTERVAL_S)
