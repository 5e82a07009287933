"""A live chat as OpenAI ``chat.completion.chunk`` server-sent events, written as tokens arrive.

The first event carries the role, then one event per delta (text or a tool call fragment), then the
finish: a chunk with the finish reason and the ``router`` summary, the usage chunk when the request
asked for it (``stream_options.include_usage``), and ``data: [DONE]``. A stream that a provider failure
ended after tokens were sent finishes with ``finish_reason: "error"`` and an OpenAI error event
(``{"error": {…}}``, which the ``openai`` package raises as ``APIError``) and no ``[DONE]``; a
guardrail cut finishes with ``finish_reason: "content_filter"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelrouter.api.openai_format import DONE_EVENT, ChunkEvents, router_summary, sse_event, usage_of
from modelrouter.execution.records import ExecutionResult
from modelrouter.execution.streaming import StreamDelta
from modelrouter.live import LiveChat, LiveEnd

__all__ = ["live_events"]

_FAILURE_MESSAGE = (
    "the model's stream failed after part of the answer was sent ({code}); the answer is incomplete"
)


def live_events(live: LiveChat, created: int) -> Iterator[bytes]:
    """The live chat's events, one ``bytes`` per event; closing this stops the live chat."""
    request_id = live.admitted.decision.request_id
    model = live.first.model if isinstance(live.first, StreamDelta) else live.first.finish.model
    events = ChunkEvents(request_id, created, model)
    try:
        yield events.chunk({"role": "assistant", "content": ""}).encode()
        for item in live.items:
            if isinstance(item, StreamDelta):
                yield events.chunk(_delta(item)).encode()
                continue
            yield from (event.encode() for event in _finish(live, item, events))
    finally:
        live.close()


def _delta(item: StreamDelta) -> dict[str, Any]:
    if item.tool_call is None:
        return {"content": item.text}
    call = item.tool_call
    fragment: dict[str, Any] = {"index": call.index, "function": {"arguments": call.arguments}}
    if call.id is not None:
        fragment["id"] = call.id
        fragment["type"] = "function"
    if call.name is not None:
        fragment["function"]["name"] = call.name
    return {"tool_calls": [fragment]}


def _finish(live: LiveChat, end: LiveEnd, events: ChunkEvents) -> Iterator[str]:
    finish = end.finish
    result = ExecutionResult(answer=finish.answer, model=finish.model, attempts=end.attempts)
    summary = router_summary(live.admitted.decision, result, end.latency_ms, live.admitted.reserved_usd)
    summary["stream"] = live.stats.record()
    if end.closed.overage_usd > 0:
        summary["overage_usd"] = round(end.closed.overage_usd, 9)
    yield events.chunk({}, finish.finish_reason, router=summary)
    if finish.end == "provider_error":
        code = finish.error.code if finish.error is not None else "stream_interrupted"
        error = {
            "message": _FAILURE_MESSAGE.format(code=code),
            "type": "server_error",
            "param": None,
            "code": code,
        }
        yield sse_event({"error": error})
        return
    options = live.admitted.request.stream_options
    if options is not None and options.include_usage:
        yield events.usage(usage_of(result))
    yield DONE_EVENT
