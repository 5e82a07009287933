"""A chat request answered as a live stream: tokens go out as they arrive; the request is closed once.

:func:`open_live_chat` runs the streamed execution until its first item, so every failure before the
first token (all candidates failed, a deadline, a guardrail on a route that fails) is raised as it is
for a buffered request — the client gets an ordinary HTTP error and the request is already closed and
recorded. After that, :class:`LiveChat` is a generator of items whose end (exhausted, or ``close()``d
when the client went away) closes the request exactly once: every attempt charged, the hold settled,
one provenance record with the stream's time to first token, chunk count and ending. A stream the
client left before its end has the implicit outcome ``cancelled`` (it teaches a bandit nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Literal

from modelrouter.closing import Admitted, Closed, Closer, close_request, report_quietly
from modelrouter.execution.records import (
    Attempt,
    AttemptLog,
    ExecutionCrashedError,
    ExecutionError,
    ExecutionResult,
)
from modelrouter.execution.stream_mode import StreamPlan
from modelrouter.execution.streaming import StreamDelta, StreamFinish, StreamItem
from modelrouter.ports import Telemetry

__all__ = ["LiveChat", "LiveEnd", "StreamStats", "open_live_chat"]

StreamEnding = Literal["complete", "content_filter", "provider_error", "client_disconnected", "failed"]


@dataclass
class StreamStats:
    """What a live stream did (recorded in provenance as ``stream``)."""

    mode: str
    """``incremental`` or ``validated``."""
    reason: str
    """Why that mode."""
    first_token_ms: float | None = None
    """Time from receipt to the first delta handed to the client."""
    chunks: int = 0
    """Deltas handed to the client."""
    end: StreamEnding | None = None
    """How the stream ended."""

    def record(self) -> dict[str, object]:
        """The ``stream`` object of the provenance record."""
        return {"mode": self.mode, "reason": self.reason, "first_token_ms": self.first_token_ms,
                "chunks": self.chunks, "end": self.end}  # fmt: skip


@dataclass(frozen=True)
class LiveEnd:
    """The last item of a live chat: the finish, and what closing the request did."""

    finish: StreamFinish
    """How the answer ended."""
    closed: Closed
    """What was charged and recorded."""
    attempts: tuple[Attempt, ...]
    """Every attempt, in order."""
    latency_ms: float
    """Time from receipt to the end of the stream."""


@dataclass
class LiveChat:
    """A streaming answer: ``first`` was produced already, ``rest`` yields the others then a LiveEnd."""

    admitted: Admitted
    """The admitted request."""
    stats: StreamStats
    """The stream's figures (final once the stream ended)."""
    first: StreamDelta | LiveEnd
    """The first item: a delta (already through the guardrails), or the end of an empty answer."""
    rest: Generator[StreamDelta | LiveEnd, None, None]
    """The remaining deltas, then exactly one :class:`LiveEnd`."""
    items: Generator[StreamDelta | LiveEnd, None, None] = field(init=False)
    """``first``, then ``rest``: what the API writes out."""

    def __post_init__(self) -> None:
        def everything() -> Generator[StreamDelta | LiveEnd, None, None]:
            try:
                yield self.first
                yield from self.rest
            finally:
                self.rest.close()

        self.items = everything()

    def close(self) -> None:
        """Stop now (the client went away): the model call stops and the request is closed."""
        self.items.close()
        self.rest.close()


def open_live_chat(
    admitted: Admitted,
    plan: StreamPlan,
    items: Callable[[AttemptLog], Iterator[StreamItem]],
    *,
    closer: Closer,
    telemetry: Telemetry,
    t0: float,
) -> LiveChat:
    """Start streaming: returns once the first delta exists; raises (request closed) if none comes."""
    stats = StreamStats(plan.mode, plan.reason)
    log = AttemptLog()
    live = _run(admitted, stats, items(log), log, closer=closer, telemetry=telemetry, t0=t0)
    first = next(live)  # raises what execution raised before the first token
    return LiveChat(admitted, stats, first, live)


def _run(
    admitted: Admitted,
    stats: StreamStats,
    items: Iterator[StreamItem],
    log: AttemptLog,
    *,
    closer: Closer,
    telemetry: Telemetry,
    t0: float,
) -> Generator[StreamDelta | LiveEnd, None, None]:
    decision = admitted.decision
    closed: Closed | None = None
    failure: ExecutionError | None = None
    finish: StreamFinish | None = None
    try:
        for item in items:
            if isinstance(item, StreamFinish):
                finish = item
                break
            if stats.first_token_ms is None:
                stats.first_token_ms = round(_since(t0), 3)
            stats.chunks += 1
            yield item
        if finish is None:  # the executor always ends a stream that sent tokens with a finish
            raise ExecutionCrashedError("the stream ended without a finish", log.attempts)
        stats.end = finish.end
        latency = _since(t0)
        outcome, error_code = _outcome(finish)
        closed = close_request(
            closer, admitted, log, latency_ms=latency, outcome=outcome, error_code=error_code,
            answered_by=finish.model, stream=stats.record(),
        )  # fmt: skip
        _report(telemetry, admitted, finish, log, latency, error_code)
        report_quietly(telemetry.stream_ended, decision, finish.model, stats.record())
        yield LiveEnd(finish, closed, tuple(log.attempts), latency)
    except GeneratorExit:
        stats.end = stats.end or "client_disconnected"
        raise
    except ExecutionError as error:
        stats.end, failure = "failed", error
        raise
    except BaseException as raised:
        stats.end = "failed"
        failure = ExecutionCrashedError(f"streaming stopped by {type(raised).__name__}", log.attempts)
        if isinstance(raised, Exception):
            raise failure from raised
        raise
    finally:
        close_items = getattr(items, "close", None)
        if callable(close_items):
            close_items()  # a cancelled call is logged (and charged) before the request closes
        if closed is None:
            code = failure.code if failure is not None else "client_disconnected"
            model = finish.model if finish is not None else _answering_model(log)
            close_request(closer, admitted, log, latency_ms=_since(t0), outcome="error", error_code=code,
                          answered_by=model, stream=stats.record(), cancelled=failure is None)  # fmt: skip
            if failure is not None:
                report_quietly(telemetry.request_failed, decision, failure, _since(t0))
            report_quietly(telemetry.stream_ended, decision, model, stats.record())


def _outcome(finish: StreamFinish) -> tuple[str, str | None]:
    if finish.end == "complete":
        return "success", None
    if finish.end == "content_filter":
        return "error", "content_filtered"
    return "error", (finish.error.code if finish.error is not None else "stream_interrupted")


def _report(  # noqa: PLR0917
    telemetry: Telemetry,
    admitted: Admitted,
    finish: StreamFinish,
    log: AttemptLog,
    latency_ms: float,
    error_code: str | None,
) -> None:
    if error_code is None:
        result = ExecutionResult(answer=finish.answer, model=finish.model, attempts=tuple(log.attempts))
        report_quietly(telemetry.request_completed, admitted.decision, result, latency_ms)
        return
    error = ExecutionError(f"stream ended: {finish.end}", log.attempts)
    error.code = error_code
    report_quietly(telemetry.request_failed, admitted.decision, error, latency_ms)


def _answering_model(log: AttemptLog) -> str | None:
    streamed = [a for a in log.attempts if a.first_token_ms is not None]
    return streamed[-1].model if streamed else None


def _since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
