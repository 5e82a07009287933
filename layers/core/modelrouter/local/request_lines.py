"""``modelrouter serve``'s one readable line per request:

    12:03:41  acme-support  support-triage → local-small   1 attempt   200  $0.000012  84 ms

Time the request arrived, tenant, route → model, attempts, HTTP status (and error code when refused),
cost, latency; streamed requests print when their stream ends (and how, unless it completed). The
figures are the router's own: its provenance record of the request, found by request id on the
``by_request_id`` index of the embedded provenance table, not a second count kept here. What the router
keeps no record of (``GET /v1/models``, a malformed body, a refusal by the gateway or the authorizer)
prints its method, path, status and the error code of the response body.

Lines are written by one background thread, so a request's client never waits for the lookup.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Final

from modelrouter.accounting.records import format_usd
from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.gateway_template import GatewayReply
from modelrouter.local.streams import FunctionResult

__all__ = ["RequestLine", "RequestLines", "format_line"]

ERROR_BODY_BYTES: Final = 16_384
"""How much of a refusal's body is kept to read its error code."""
REQUEST_ID_INDEX: Final = "by_request_id"
"""The provenance table's index on ``request_id`` (``template.yaml``)."""
RECORDED_METHODS: Final = frozenset({"POST"})
"""Requests the router may keep a provenance record of (the others are never looked up)."""
_STOP_WAIT_S: Final = 10.0
_TENANT_WIDTH: Final = 14
_WHAT_WIDTH: Final = 34
_ARROW: Final = "→"


@dataclass(frozen=True)
class RequestLine:
    """What one line says."""

    arrived: float
    """When the request arrived (seconds since the epoch)."""
    tenant: str | None
    """The caller's tenant (None: not known, e.g. a refused key)."""
    what: str
    """``route → model``, the route alone (no model answered), or ``METHOD /path``."""
    attempts: int | None
    """Model calls made (None: not a routed request)."""
    status: int
    """The HTTP status returned."""
    error_code: str | None
    """The error code of a refusal or failure."""
    cost_usd: Decimal | None
    """What the request cost (None: not a routed request)."""
    latency_ms: float | None
    """The router's latency for the request (None: not known)."""
    stream_end: str | None = None
    """How a streamed answer ended (``complete``, ``client_disconnected`` …); None if not streamed."""


def format_line(line: RequestLine) -> str:
    """The line as printed (columns aligned for the usual widths, never cut)."""
    parts = [
        time.strftime("%H:%M:%S", time.localtime(line.arrived)),
        f"{line.tenant or '-':<{_TENANT_WIDTH}}",
        f"{line.what:<{_WHAT_WIDTH}}",
    ]
    if line.attempts is not None:
        parts.append(f"{line.attempts} attempt{'' if line.attempts == 1 else 's'}".ljust(10))
    parts.append(f"{line.status} {line.error_code}" if line.error_code else str(line.status))
    if line.cost_usd is not None:
        parts.append(format_usd(line.cost_usd))
    if line.latency_ms is not None:
        parts.append(f"{line.latency_ms:.0f} ms")
    if line.stream_end is not None:
        parts.append("streamed" if line.stream_end == "complete" else f"stream {line.stream_end}")
    return "  ".join(parts).rstrip()


def _error_code(body: bytes) -> str | None:
    """The ``error.code`` (OpenAI) or ``error.type`` (Anthropic) of an error body, if it has one."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code") or error.get("type")
    return str(code) if code else None


@dataclass(frozen=True)
class _Finished:
    arrived: float
    event: dict[str, Any]
    status: int
    body: bytes
    elapsed_ms: float


class _Watched:
    """A streamed response's body that reports once when it is exhausted, fails or is closed."""

    def __init__(self, response: StreamingResponse, keep: bool, done: Callable[[bytes], None]) -> None:
        self._response, self._keep, self._done = response, keep, done
        self._chunks: Iterator[bytes] = response.chunks()
        self._kept = bytearray()
        self._reported = False

    def __iter__(self) -> _Watched:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except BaseException:  # the end (StopIteration) or a failure: the request is over either way
            self.close()
            raise
        if self._keep and len(self._kept) < ERROR_BODY_BYTES:
            self._kept += chunk[: ERROR_BODY_BYTES - len(self._kept)]
        return chunk

    def close(self) -> None:
        try:
            self._response.close()  # the function finishes (and records) before the line is made
        finally:
            if not self._reported:
                self._reported = True
                self._done(bytes(self._kept))


class RequestLines:
    """Writes one line per request to ``out``; :meth:`stop` writes what is pending and ends."""

    def __init__(self, out: IO[str], dynamodb: Any = None, provenance_table: str | None = None) -> None:
        self._out = out
        self._dynamodb, self._table = dynamodb, provenance_table
        self._jobs: queue.Queue[_Finished | RequestLine | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="request-lines", daemon=True)
        self._thread.start()

    def router(
        self, event: dict[str, Any], arrived: float, started: float, result: FunctionResult
    ) -> FunctionResult:
        """``result`` of the router for ``event`` (invoked at ``started``, monotonic), reported when it
        is over: at once when buffered, when its body ends when streamed."""
        if not isinstance(result, StreamingResponse):
            body = str(result.get("body") or "").encode("utf-8", "replace")
            status = int(result.get("statusCode", 200))
            self._jobs.put(_Finished(arrived, event, status, body, _since(started)))
            return result
        status = result.status_code

        def done(body: bytes) -> None:
            self._jobs.put(_Finished(arrived, event, status, body, _since(started)))

        watched = _Watched(result, status >= 400, done)
        return StreamingResponse(status, dict(result.headers), watched, list(result.cookies))

    def refused(self, method: str, path: str, reply: GatewayReply) -> None:
        """A response the gateway made itself (bad key, unknown path, integration timeout …)."""
        status, _, body = reply
        self._jobs.put(
            RequestLine(time.time(), None, f"{method} {path}", None, status, _error_code(body), None, None)
        )

    def stop(self) -> None:
        """Write every pending line, then end the writer thread."""
        self._jobs.put(None)
        self._thread.join(_STOP_WAIT_S)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                line = job if isinstance(job, RequestLine) else self._line(job)
                self._out.write(format_line(line) + "\n")
                self._out.flush()
            except Exception:  # a closed terminal or a stopped embedded AWS must not stop serve
                continue

    def _line(self, job: _Finished) -> RequestLine:
        context = job.event.get("requestContext") or {}
        authorizer = context.get("authorizer") or {}
        method, path = str(job.event.get("httpMethod", "")), str(job.event.get("path", ""))
        tenant = authorizer.get("tenant_id") if isinstance(authorizer, dict) else None
        record = self._record(str(context.get("requestId") or "")) if method in RECORDED_METHODS else None
        if record is None:
            code = _error_code(job.body) if job.status >= 400 else None
            return RequestLine(
                job.arrived, tenant, f"{method} {path}", None, job.status, code, None, job.elapsed_ms
            )
        route, model = str(record.get("route") or "-"), record.get("model")
        stream = record.get("streaming")
        return RequestLine(
            arrived=job.arrived,
            tenant=tenant or record.get("tenant_id"),
            what=f"{route} {_ARROW} {model}" if model else route,
            attempts=len(record.get("attempts") or ()),
            status=job.status,
            error_code=record.get("error_code") or (_error_code(job.body) if job.status >= 400 else None),
            cost_usd=Decimal(str(record.get("cost_usd") or 0)),
            latency_ms=float(record.get("latency_ms") or job.elapsed_ms),
            stream_end=str(stream.get("end")) if isinstance(stream, dict) and stream.get("end") else None,
        )

    def _record(self, request_id: str) -> dict[str, Any] | None:
        """The provenance record of ``request_id``, or None (no table, no id, no record)."""
        if self._dynamodb is None or not self._table or not request_id:
            return None
        from boto3.dynamodb.types import TypeDeserializer

        found = self._dynamodb.query(
            TableName=self._table,
            IndexName=REQUEST_ID_INDEX,
            KeyConditionExpression="request_id = :id",
            ExpressionAttributeValues={":id": {"S": request_id}},
        )["Items"]
        if not found:
            return None
        keys = {name: found[0][name] for name in ("tenant_id", "sort_key")}
        item = self._dynamodb.get_item(TableName=self._table, Key=keys).get("Item")
        if item is None:
            return None
        deserializer = TypeDeserializer()
        return {name: deserializer.deserialize(value) for name, value in item.items()}


def _since(started: float) -> float:
    return (time.monotonic() - started) * 1000
