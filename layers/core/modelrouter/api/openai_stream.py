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

from modelrouter.api.openai_format import (
    DONE_EVENT,
    ChunkEvents,
    router_summary,
    sse_event,
    tool_call_delta,
    usage_of,
)
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
    legacy = live.admitted.request.legacy_functions
    try:
        yield events.chunk({"role": "assistant", "content": ""}).encode()
        for item in live.items:
            if not isinstance(item, StreamDelta):
                yield from (event.encode() for event in _finish(live, item, events))
            elif item.tool_call is None:
                logprobs = {"content": list(item.logprobs)} if item.logprobs else None
                yield events.chunk({"content": item.text}, logprobs=logprobs).encode()
            elif not legacy or item.tool_call.index == 0:  # functions: one call per turn
                call = item.tool_call
                delta = tool_call_delta(call.index, call.id, call.name, call.arguments, call.kind, legacy)
                yield events.chunk(delta).encode()
    finally:
        live.close()


def _finish(live: LiveChat, end: LiveEnd, events: ChunkEvents) -> Iterator[str]:
    finish = end.finish
    result = ExecutionResult(answer=finish.answer, model=finish.model, attempts=end.attempts)
    admitted = live.admitted
    summary = router_summary(admitted.decision, result, end.latency_ms, admitted.reserved_usd,
                             overage_usd=end.closed.overage_usd, stream=live.stats.record())  # fmt: skip
    legacy = live.admitted.request.legacy_functions
    finish_reason = (
        "function_call" if legacy and finish.finish_reason == "tool_calls" else finish.finish_reason
    )
    yield events.chunk({}, finish_reason, router=summary)
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
