"""The simulated models' streams on the wire: OpenAI chunks, Anthropic events, Bedrock event-stream frames.

* OpenAI (``text/event-stream``): ``chat.completion.chunk`` data events — the role, content pieces or
  tool-call deltas (id and name in the first), an empty delta with the ``finish_reason``, the usage
  chunk (``choices: []``) when ``stream_options.include_usage``, then ``data: [DONE]``. Mid-stream
  errors are a ``{"error": …}`` data event.
* Anthropic (``text/event-stream``): ``message_start``, ``content_block_start`` /
  ``content_block_delta`` (``text_delta``, ``input_json_delta``) / ``content_block_stop`` per block,
  ``message_delta`` with the stop reason and usage, ``message_stop``; mid-stream errors an ``error``
  event.
* Bedrock ``converse-stream`` (``application/vnd.amazon.eventstream``): ``messageStart``,
  ``contentBlockStart`` for a tool use, ``contentBlockDelta`` (text or tool input), ``contentBlockStop``,
  ``messageStop``, ``metadata`` (usage, metrics); mid-stream errors a ``modelStreamErrorException``.
"""

from __future__ import annotations

import json
from typing import Any

from modelrouter.local.model_anthropic import STREAM_ERROR, anthropic_error, anthropic_stop, message_id
from modelrouter.local.model_stream import StreamBlock
from modelrouter.local.model_wire import bedrock_stop, tool_use_of
from modelrouter.local.models import SimAnswer

__all__ = [
    "EVENT_STREAM",
    "SSE",
    "AnthropicStream",
    "BedrockStream",
    "OpenAIStream",
    "converse_blocks",
    "openai_blocks",
]

SSE = "text/event-stream; charset=utf-8"
"""Content type of OpenAI and Anthropic streams."""
EVENT_STREAM = "application/vnd.amazon.eventstream"
"""Content type of Bedrock streams."""
_STREAM_ERROR_MESSAGE = "The model stopped answering in the middle of the stream; try again."


def _json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def openai_blocks(answer: SimAnswer) -> list[StreamBlock]:
    """The blocks an OpenAI stream carries: the text, or the tool call with its arguments' JSON text."""
    if answer.tool_call is not None:
        call = answer.tool_call
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        return [StreamBlock("tool_use", arguments, call.id, call.name)]
    return [StreamBlock("text", answer.text or "")]


def converse_blocks(answer: SimAnswer, forced_tool: str | None) -> list[StreamBlock]:
    """The blocks an Anthropic or Bedrock stream carries (a forced tool's JSON answer as tool input)."""
    use = tool_use_of(answer, forced_tool)
    if use is None:
        return [StreamBlock("text", answer.text or "")]
    return [StreamBlock("tool_use", json.dumps(use[2], ensure_ascii=False), use[0], use[1])]


class OpenAIStream:
    """``chat.completion.chunk`` events of one answer."""

    def __init__(
        self, model_id: str, completion_id: str, answer: SimAnswer, created: int, usage: bool
    ) -> None:
        self._model_id, self._id, self._answer = model_id, completion_id, answer
        self._created, self._usage = created, usage

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        document: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model_id,
            "system_fingerprint": "local",
            "choices": choices,
        }
        if self._usage:
            document["usage"] = None
        document |= extra
        return f"data: {_json(document)}\n\n".encode()

    def _delta(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return self._chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

    def opening(self) -> bytes:
        """The role chunk."""
        text = None if self._answer.tool_call is not None else ""
        return self._delta({"role": "assistant", "content": text, "refusal": None})

    def block_start(self, index: int, block: StreamBlock) -> bytes:
        """A tool call's id and name."""
        if block.kind == "text":
            return b""
        function = {"name": block.name, "arguments": ""}
        return self._delta({"tool_calls": [{"index": 0, "id": block.tool_id, "type": "function",
                                            "function": function}]})  # fmt: skip

    def delta(self, index: int, block: StreamBlock, piece: str) -> bytes:
        """Content, or a fragment of the tool call's arguments."""
        if block.kind == "text":
            return self._delta({"content": piece})
        return self._delta({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})

    def block_stop(self, index: int, block: StreamBlock) -> bytes:
        """Nothing: OpenAI does not mark the end of a block."""
        return b""

    def closing(self) -> bytes:
        """The finish reason, the usage chunk when asked for, ``[DONE]``."""
        answer = self._answer
        chunks = [self._delta({}, answer.finish)]
        if self._usage:
            usage = {
                "prompt_tokens": answer.input_tokens,
                "completion_tokens": answer.output_tokens,
                "total_tokens": answer.input_tokens + answer.output_tokens,
            }
            chunks.append(self._chunk([], usage=usage))
        return b"".join(chunks) + b"data: [DONE]\n\n"

    def error_event(self) -> bytes:
        """An ``{"error": …}`` data event."""
        error = {"message": _STREAM_ERROR_MESSAGE, "type": "server_error", "param": None, "code": None}
        return f"data: {_json({'error': error})}\n\n".encode()


def _event(name: str, document: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {_json(document)}\n\n".encode()


class AnthropicStream:
    """Messages API stream events of one answer."""

    def __init__(self, model_id: str, answer: SimAnswer, forced_tool: str | None) -> None:
        self._model_id, self._answer, self._forced_tool = model_id, answer, forced_tool

    def opening(self) -> bytes:
        """``message_start``."""
        message: dict[str, Any] = {
            "id": message_id(self._model_id, self._answer),
            "type": "message",
            "role": "assistant",
            "model": self._model_id,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._answer.input_tokens, "output_tokens": 1},
        }
        return _event("message_start", {"type": "message_start", "message": message})

    def block_start(self, index: int, block: StreamBlock) -> bytes:
        """``content_block_start``."""
        start: dict[str, Any] = {"type": "text", "text": ""}
        if block.kind == "tool_use":
            start = {"type": "tool_use", "id": block.tool_id, "name": block.name, "input": {}}
        return _event("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": start})  # fmt: skip

    def delta(self, index: int, block: StreamBlock, piece: str) -> bytes:
        """``content_block_delta``: ``text_delta`` or ``input_json_delta``."""
        delta = {"type": "text_delta", "text": piece}
        if block.kind == "tool_use":
            delta = {"type": "input_json_delta", "partial_json": piece}
        return _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def block_stop(self, index: int, block: StreamBlock) -> bytes:
        """``content_block_stop``."""
        return _event("content_block_stop", {"type": "content_block_stop", "index": index})

    def closing(self) -> bytes:
        """``message_delta`` (stop reason, usage) and ``message_stop``."""
        delta = {"stop_reason": anthropic_stop(self._answer, self._forced_tool), "stop_sequence": None}
        usage = {"output_tokens": self._answer.output_tokens}
        return _event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}) + _event(
            "message_stop", {"type": "message_stop"}
        )

    def error_event(self) -> bytes:
        """An ``error`` event."""
        return _event("error", anthropic_error(*STREAM_ERROR))


class BedrockStream:
    """``converse-stream`` event-stream frames of one answer."""

    def __init__(self, answer: SimAnswer, forced_tool: str | None, latency_ms: int) -> None:
        self._answer, self._forced_tool, self._latency_ms = answer, forced_tool, latency_ms

    def opening(self) -> bytes:
        """``messageStart``."""
        return _frame("messageStart", {"role": "assistant"})

    def block_start(self, index: int, block: StreamBlock) -> bytes:
        """``contentBlockStart`` for a tool use (text blocks have none)."""
        if block.kind == "text":
            return b""
        start = {"toolUse": {"toolUseId": block.tool_id, "name": block.name}}
        return _frame("contentBlockStart", {"contentBlockIndex": index, "start": start})

    def delta(self, index: int, block: StreamBlock, piece: str) -> bytes:
        """``contentBlockDelta``: text, or a fragment of the tool input."""
        delta: dict[str, Any] = {"text": piece}
        if block.kind == "tool_use":
            delta = {"toolUse": {"input": piece}}
        return _frame("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})

    def block_stop(self, index: int, block: StreamBlock) -> bytes:
        """``contentBlockStop``."""
        return _frame("contentBlockStop", {"contentBlockIndex": index})

    def closing(self) -> bytes:
        """``messageStop`` and ``metadata``."""
        answer = self._answer
        usage = {
            "inputTokens": answer.input_tokens,
            "outputTokens": answer.output_tokens,
            "totalTokens": answer.input_tokens + answer.output_tokens,
        }
        stop = {"stopReason": bedrock_stop(answer, self._forced_tool)}
        metadata = {"usage": usage, "metrics": {"latencyMs": self._latency_ms}}
        return _frame("messageStop", stop) + _frame("metadata", metadata)

    def error_event(self) -> bytes:
        """A ``modelStreamErrorException``."""
        from modelrouter.local.eventstream import encode_exception

        return encode_exception("modelStreamErrorException", _STREAM_ERROR_MESSAGE)


def _frame(event_type: str, payload: dict[str, Any]) -> bytes:
    from modelrouter.local.eventstream import encode_event  # written alongside; imported when used

    return encode_event(event_type, payload)
