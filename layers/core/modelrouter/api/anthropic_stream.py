"""Answers to ``stream: true`` Messages requests as Anthropic's server-sent events.

``message_start``, then per content block ``content_block_start``, ``content_block_delta`` (``text_delta``
or ``input_json_delta``) and ``content_block_stop``, then ``message_delta`` (stop reason, usage and the
router's ``router`` block) and ``message_stop``. Live streams (:func:`live_events`) are written from the
same :class:`~modelrouter.live.LiveChat` the OpenAI path streams, as tokens arrive; validated answers
(:func:`stream_events`) are the checked answer replayed in pieces. A stream that a provider failure
ended after tokens were sent ends with an ``error`` event (which the ``anthropic`` package raises as
``APIStatusError``) carrying the router block, and no ``message_stop``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from modelrouter.api.anthropic_errors import error_document
from modelrouter.api.anthropic_message import stop_reason, tool_input, usage
from modelrouter.api.openai_format import STREAM_PIECE_CHARS, router_summary
from modelrouter.execution.records import ExecutionResult
from modelrouter.execution.streaming import StreamDelta
from modelrouter.features.tokens import estimate_request_tokens
from modelrouter.live import LiveChat, LiveEnd

__all__ = ["FAILURE_MESSAGE", "MessageEvents", "event", "live_events", "stream_events"]

FAILURE_MESSAGE = (
    "the model's stream failed after part of the answer was sent ({code}); the answer is incomplete"
)
"""The message of the ``error`` event that ends a stream a provider failure cut."""


def event(name: str, document: dict[str, Any]) -> str:
    """One server-sent event: ``event: <name>`` and the JSON document (compact, non-ASCII kept)."""
    return f"event: {name}\ndata: {json.dumps(document, ensure_ascii=False, separators=(',', ':'))}\n\n"


@dataclass
class MessageEvents:
    """Writes the events of one message, opening and closing content blocks as text and tool calls come."""

    request_id: str
    """The router's request id (the message id is ``msg_<request id>``)."""
    model: str
    """The catalog model answering."""
    _open: int | None = None
    _blocks: int = 0
    _tools: dict[int, int] = field(default_factory=dict)

    def start(self, input_tokens: int) -> str:
        """``message_start``: the empty message, with the prompt's tokens (estimated while streaming)."""
        message: dict[str, Any] = {
            "id": f"msg_{self.request_id}", "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 0},
        }  # fmt: skip
        return event("message_start", {"type": "message_start", "message": message})

    def _open_block(self, block: dict[str, Any]) -> list[str]:
        events = self.close()
        self._open, self._blocks = self._blocks, self._blocks + 1
        events.append(event("content_block_start", {"type": "content_block_start", "index": self._open,
                                                    "content_block": block}))  # fmt: skip
        return events

    def _delta(self, index: int, delta: dict[str, Any]) -> str:
        return event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def text(self, text: str) -> list[str]:
        """A piece of answer text (a new text block unless one is open)."""
        events: list[str] = []
        if self._open is None or self._open in self._tools.values():
            events = self._open_block({"type": "text", "text": ""})
        events.append(self._delta(self._blocks - 1, {"type": "text_delta", "text": text}))  # the open block
        return events

    def tool(self, index: int, call_id: str | None, name: str | None, arguments: str) -> list[str]:
        """A fragment of tool call ``index`` (its first fragment opens a ``tool_use`` block)."""
        events: list[str] = []
        if index not in self._tools:
            call_id = call_id or f"toolu_{self.request_id}_{index}"
            block = {"type": "tool_use", "id": call_id, "name": name or "", "input": {}}
            events = self._open_block(block)
            self._tools[index] = self._blocks - 1
        if arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append(self._delta(self._tools[index], delta))
        return events

    def close(self) -> list[str]:
        """``content_block_stop`` of the open block, if one is open."""
        if self._open is None:
            return []
        index, self._open = self._open, None
        return [event("content_block_stop", {"type": "content_block_stop", "index": index})]

    def finish(self, finish_reason: str, result: ExecutionResult, summary: dict[str, Any]) -> list[str]:
        """The open block's stop, ``message_delta`` (stop reason, usage, router block), ``message_stop``."""
        delta = {"stop_reason": stop_reason(finish_reason), "stop_sequence": None}
        final = {"type": "message_delta", "delta": delta, "usage": usage(result), "router": summary}
        return [*self.close(), event("message_delta", final), event("message_stop", {"type": "message_stop"})]


def stream_events(result: ExecutionResult, summary: dict[str, Any]) -> str:
    """A checked whole answer as a ``text/event-stream`` body: text in pieces, each tool call in one delta."""
    events = MessageEvents(summary["request_id"], result.model)
    answer = result.answer
    written = [events.start(result.attempts[-1].input_tokens)]
    content = answer.content or ""
    for start in range(0, len(content), STREAM_PIECE_CHARS):
        written += events.text(content[start : start + STREAM_PIECE_CHARS])
    for index, call in enumerate(answer.tool_calls):
        written += events.tool(index, call.id, call.name, json.dumps(tool_input(call.arguments)))
    written += events.finish(answer.finish_reason, result, summary)
    return "".join(written)


def live_events(live: LiveChat, ignored: tuple[str, ...] = ()) -> Iterator[bytes]:
    """The live chat's events, one ``bytes`` per event; closing this stops the live chat."""
    request = live.admitted.request
    model = live.first.model if isinstance(live.first, StreamDelta) else live.first.finish.model
    events = MessageEvents(live.admitted.decision.request_id, model)
    try:
        yield events.start(estimate_request_tokens(request)).encode()
        for item in live.items:
            if isinstance(item, LiveEnd):
                yield from (text.encode() for text in _finish(live, item, events, ignored))
            elif item.tool_call is None:
                yield from (text.encode() for text in events.text(item.text))
            else:
                call = item.tool_call
                yield from (
                    text.encode() for text in events.tool(call.index, call.id, call.name, call.arguments)
                )
    finally:
        live.close()


def _finish(live: LiveChat, end: LiveEnd, events: MessageEvents, ignored: tuple[str, ...]) -> list[str]:
    finish = end.finish
    result = ExecutionResult(answer=finish.answer, model=finish.model, attempts=end.attempts)
    admitted = live.admitted
    summary = router_summary(admitted.decision, result, end.latency_ms, admitted.reserved_usd,
                             overage_usd=end.closed.overage_usd, stream=live.stats.record(),
                             ignored=ignored)  # fmt: skip
    if finish.end != "provider_error":
        return events.finish(finish.finish_reason, result, summary)
    code = finish.error.code if finish.error is not None else "stream_interrupted"
    failure = error_document(502, FAILURE_MESSAGE.format(code=code), code=code)
    return [*events.close(), event("error", {**failure, "router": summary})]
