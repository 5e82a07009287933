"""Subsegments of the current invocation's trace, and the container's recorder."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from modelrouter.tracing.emitter import UdpEmitter, daemon_address
from modelrouter.tracing.header import TraceHeader

__all__ = [
    "DAEMON_ADDRESS_ENV",
    "LAMBDA_TASK_ROOT_ENV",
    "TRACE_DISABLED_ENV",
    "TRACE_HEADER_ENV",
    "Emitter",
    "Recorder",
    "Subsegment",
    "recorder",
]

TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"
"""The invocation's trace header (set by Lambda, or by the layer's runtime loop per invocation)."""
DAEMON_ADDRESS_ENV = "AWS_XRAY_DAEMON_ADDRESS"
"""The X-Ray daemon's address, set by Lambda when active tracing is on."""
LAMBDA_TASK_ROOT_ENV = "LAMBDA_TASK_ROOT"
"""Set only inside Lambda: outside it there is no daemon, so nothing is sent."""
TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
"""``true`` turns tracing off (the name Powertools' tracer reads, so existing settings keep working)."""
_MAX_CAUSE_CHARS = 1_000
"""An exception message is cut to this length in the trace (it may quote a request)."""

F = TypeVar("F", bound=Callable[..., Any])


class Emitter(Protocol):
    """Where finished segment documents go (the daemon, or a list in tests)."""

    def send(self, document: dict[str, Any]) -> None:
        """Send one document; must not raise."""


@dataclass(slots=True)
class Subsegment:
    """One timed piece of an invocation: its X-Ray fields, sent as a document when it ends."""

    name: str
    """Shown in the trace map and timeline (e.g. ``DynamoDB``, ``## handler``)."""
    trace_id: str
    """The invocation's trace id."""
    parent_id: str
    """The enclosing subsegment's id, or Lambda's function segment's."""
    id: str = field(default_factory=lambda: os.urandom(8).hex())
    """This subsegment's id (16 hex digits)."""
    start_time: float = field(default_factory=time.time)
    """Epoch seconds."""
    namespace: str | None = None
    """``aws`` for AWS SDK calls, ``remote`` for other downstream calls."""
    annotations: dict[str, str | int | float | bool] = field(default_factory=dict)
    """Indexed key/values (filterable in X-Ray)."""
    aws: dict[str, Any] = field(default_factory=dict)
    """AWS call details: operation, region, request id, table name, retries."""
    http: dict[str, Any] = field(default_factory=dict)
    """HTTP details: request method and URL, response status."""
    error: bool = False
    """A 4xx answer."""
    throttle: bool = False
    """A 429 answer."""
    fault: bool = False
    """A 5xx answer or an exception."""
    cause: dict[str, Any] | None = None
    """The exception that ended it, by type and (cut) message."""

    def record_status(self, status: int) -> None:
        """Set the HTTP response status and the error/throttle/fault flags it implies."""
        self.http.setdefault("response", {})["status"] = status
        self.throttle = self.throttle or status == 429
        self.error = self.error or 400 <= status < 500
        self.fault = self.fault or status >= 500

    def record_exception(self, error: BaseException) -> None:
        """Mark it faulted by ``error``."""
        self.fault = True
        exception = {"id": os.urandom(8).hex(), "type": type(error).__name__, "message": str(error)}
        exception["message"] = exception["message"][:_MAX_CAUSE_CHARS]
        self.cause = {"exceptions": [exception]}

    def document(self, end_time: float) -> dict[str, Any]:
        """The segment document (an independent subsegment) ending at ``end_time``."""
        document: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "type": "subsegment",
            "start_time": self.start_time,
            "end_time": end_time,
        }
        for key in ("namespace", "cause", "annotations", "aws", "http"):
            if getattr(self, key):
                document[key] = getattr(self, key)
        for key in ("error", "throttle", "fault"):
            if getattr(self, key):
                document[key] = True
        return document


_current: ContextVar[Subsegment | None] = ContextVar("modelrouter_subsegment", default=None)


class Recorder:
    """Opens and sends subsegments of the invocation the trace header names."""

    def __init__(self, emitter: Emitter | None = None, *, enabled: bool | None = None) -> None:
        """``enabled`` defaults to: inside Lambda and not turned off by ``POWERTOOLS_TRACE_DISABLED``."""
        if enabled is None:
            disabled = os.environ.get(TRACE_DISABLED_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
            enabled = bool(os.environ.get(LAMBDA_TASK_ROOT_ENV)) and not disabled
        self.enabled = enabled
        self.emitter: Emitter = emitter or UdpEmitter(daemon_address(os.environ.get(DAEMON_ADDRESS_ENV)))
        self._cold = True

    def begin(self, name: str, namespace: str | None = None) -> Subsegment | None:
        """A new subsegment under the current one (or Lambda's segment); None when not sampled."""
        if not self.enabled:
            return None
        header = TraceHeader.parse(os.environ.get(TRACE_HEADER_ENV))
        if header is None or not header.sampled:
            return None
        current = _current.get()
        parent = current.id if current is not None and current.trace_id == header.root else header.parent
        return Subsegment(name=name, trace_id=header.root, parent_id=parent, namespace=namespace)

    def end(self, subsegment: Subsegment | None) -> None:
        """Send ``subsegment`` as ended now (nothing for None)."""
        if subsegment is not None:
            self.emitter.send(subsegment.document(time.time()))

    @contextmanager
    def subsegment(self, name: str, namespace: str | None = None) -> Iterator[Subsegment | None]:
        """Time the block as a subsegment (the current one while it runs); an exception faults it."""
        subsegment = self.begin(name, namespace)
        if subsegment is None:
            yield None
            return
        token = _current.set(subsegment)
        try:
            yield subsegment
        except BaseException as error:
            subsegment.record_exception(error)
            raise
        finally:
            _current.reset(token)
            self.end(subsegment)

    def capture_handler(self, service: str) -> Callable[[F], F]:
        """Decorate a Lambda handler: a ``## <name>`` subsegment annotated ``ColdStart`` and ``Service``."""

        def decorate(function: F) -> F:
            @functools.wraps(function)
            def traced(*args: Any, **kwargs: Any) -> Any:
                cold, self._cold = self._cold, False
                with self.subsegment(f"## {function.__name__}") as subsegment:
                    if subsegment is not None:
                        subsegment.annotations.update({"ColdStart": cold, "Service": service})
                    return function(*args, **kwargs)

            return traced  # type: ignore[return-value]

        return decorate


recorder = Recorder()
"""The container's recorder (enabled only inside Lambda)."""
