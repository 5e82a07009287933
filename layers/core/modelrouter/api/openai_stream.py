"""A live chat as OpenAI ``chat.completion.chunk`` server-sent events, written as tokens arrive.

The first event carries the role, then one event per delta (text or a tool call fragment), then the
finish: a chunk with the finish reason and the ``router`` summary, the usage chunk when the request
asked for it (``stream_options.include_usage``), and ``data: [DONE]``. A stream that a provider failure
ended after tokens were sent finishes with ``finish_reason: "error"`` and an OpenAI error event
(``{"error": {…}}``, which the ``openai`` package raises as ``APIError``) and no ``[DONE]``; a
guardrail cut finishes with ``finish_reason: "content_filter"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from modelrouter.api.openai_format import router_summary, usage_of
from modelrouter.execution.records import ExecutionResult
from modelrouter.execution.streaming import StreamDelta
from modelrouter.live import LiveChat, LiveEnd

__all__ = ["live_events"]

_FAILURE_MESSAGES = {
    "provider_error": "the model's stream failed after part of the answer was sent",
}


def _event(document: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(document, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def live_events(live: LiveChat, created: int) -> Iterator[bytes]:
    """The live chat's events, one ``bytes`` per event; closing this stops the live chat."""
    request_id = live.admitted.decision.request_id
    model = live.first.model if isinstance(live.first, StreamDelta) else live.first.finish.model
    base = {"id": f"chatcmpl-{request_id}", "object": "chat.completion.chunk", "created": created,
            "model": model}  # fmt: skip

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _event({**base, "choices": [choice], **extra})

    try:
        yield chunk({"role": "assistant", "content": ""})
        for item in live.items:
            if isinstance(item, StreamDelta):
                yield chunk(_delta(item))
                continue
            yield from _finish(live, item, chunk, base)
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


def _finish(live: LiveChat, end: LiveEnd, chunk: Any, base: dict[str, Any]) -> Iterator[bytes]:
    finish = end.finish
    result = ExecutionResult(answer=finish.answer, model=finish.model, attempts=end.attempts)
    summary = router_summary(live.admitted.decision, result, end.latency_ms, live.admitted.reserved_usd)
    summary["stream"] = live.stats.record()
    if end.closed.overage_usd > 0:
        summary["overage_usd"] = round(end.closed.overage_usd, 9)
    yield chunk({}, finish.finish_reason, router=summary)
    if finish.end == "provider_error":
        code = finish.error.code if finish.error is not None else "stream_interrupted"
        message = _FAILURE_MESSAGES["provider_error"] + f" ({code}); the answer is incomplete"
        yield _event({"error": {"message": message, "type": "server_error", "param": None, "code": code}})
        return
    options = live.admitted.request.stream_options
    if options is not None and options.include_usage:
        yield _event({**base, "choices": [], "usage": usage_of(result)})
    yield b"data: [DONE]\n\n"
