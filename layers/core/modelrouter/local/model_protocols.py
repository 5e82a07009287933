"""The simulated models' three wire protocols side by side: how each reads a request, answers, streams
and fails (OpenAI Chat Completions, Anthropic Messages, Bedrock Converse); pure, no I/O."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from modelrouter.local.model_anthropic import anthropic_failure, anthropic_message, anthropic_request
from modelrouter.local.model_stream import StreamBlock, StreamEncoder
from modelrouter.local.model_stream_wire import (
    EVENT_STREAM,
    SSE,
    AnthropicStream,
    BedrockStream,
    OpenAIStream,
    converse_blocks,
    openai_blocks,
)
from modelrouter.local.model_wire import (
    Reply,
    bedrock_failure,
    bedrock_output,
    bedrock_request,
    openai_completion,
    openai_failure,
    openai_request,
)
from modelrouter.local.models import SimAnswer, SimRequest

__all__ = ["PROTOCOLS", "Parsed", "WireName", "WireProtocol"]

WireName = Literal["openai", "anthropic", "bedrock"]
"""A wire protocol."""
Parsed = tuple[str, SimRequest, str | None]
"""``(model id, request, forced tool carrying a JSON answer or None)``."""
Failure = Callable[..., Reply]
"""``(kind, message, *, retry_after_s) -> reply``."""


@dataclass(frozen=True)
class Answered:
    """What a protocol sends for one answer."""

    headers: dict[str, str]
    """Response headers besides the content type."""
    document: dict[str, Any]
    """The unstreamed answer."""


@dataclass(frozen=True)
class WireProtocol:
    """One protocol's translations."""

    name: WireName
    """Protocol name."""
    parse: Callable[[bytes, str], Parsed]
    """A request body (and the model id of the URL, Bedrock's) → the request; raises WireError."""
    failure: Failure
    """An error response."""
    answer: Callable[[str, SimAnswer, str | None, int], Answered]
    """``(model id, answer, forced tool, latency ms)`` → the unstreamed answer."""
    stream: Callable[[str, SimAnswer, SimRequest, str | None, int], tuple[list[StreamBlock], StreamEncoder]]
    """``(model id, answer, request, forced tool, latency ms)`` → blocks and their encoder."""
    stream_type: str
    """Content type of a stream."""
    malformed_stream: bytes
    """What an ``invalid_json`` fault streams for an answer that is not JSON: unreadable bytes."""


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def _openai_parse(body: bytes, _: str) -> Parsed:
    model_id, request = openai_request(body)
    return model_id, request, None


def _openai_answer(model_id: str, answer: SimAnswer, _: str | None, latency_ms: int) -> Answered:
    headers = {"openai-processing-ms": str(latency_ms), "x-request-id": uuid.uuid4().hex}
    return Answered(headers, openai_completion(model_id, answer, int(time.time())))


def _openai_stream(
    model_id: str, answer: SimAnswer, request: SimRequest, _: str | None, __: int
) -> tuple[list[StreamBlock], StreamEncoder]:
    encoder = OpenAIStream(
        model_id, f"chatcmpl-{_digest(model_id, answer)}", answer, int(time.time()), request.stream_usage
    )
    return openai_blocks(answer), encoder


def _anthropic_parse(body: bytes, _: str) -> Parsed:
    return anthropic_request(body)


def _anthropic_answer(model_id: str, answer: SimAnswer, forced: str | None, _: int) -> Answered:
    return Answered({"request-id": f"req_{uuid.uuid4().hex}"}, anthropic_message(model_id, answer, forced))


def _anthropic_stream(
    model_id: str, answer: SimAnswer, _: SimRequest, forced: str | None, __: int
) -> tuple[list[StreamBlock], StreamEncoder]:
    return converse_blocks(answer, forced), AnthropicStream(model_id, answer, forced)


def _bedrock_parse(body: bytes, path_model: str) -> Parsed:
    request, forced = bedrock_request(body)
    return path_model, request, forced


def _bedrock_answer(_: str, answer: SimAnswer, forced: str | None, latency_ms: int) -> Answered:
    return Answered({"x-amzn-RequestId": str(uuid.uuid4())}, bedrock_output(answer, forced, latency_ms))


def _bedrock_stream(
    _: str, answer: SimAnswer, __: SimRequest, forced: str | None, latency_ms: int
) -> tuple[list[StreamBlock], StreamEncoder]:
    return converse_blocks(answer, forced), BedrockStream(answer, forced, latency_ms)


_BROKEN_SSE = b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{"del\n\n'
PROTOCOLS: dict[WireName, WireProtocol] = {
    "openai": WireProtocol(
        "openai", _openai_parse, openai_failure, _openai_answer, _openai_stream, SSE, _BROKEN_SSE
    ),
    "anthropic": WireProtocol(
        "anthropic",
        _anthropic_parse,
        anthropic_failure,
        _anthropic_answer,
        _anthropic_stream,
        SSE,
        b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n',
    ),
    "bedrock": WireProtocol(
        "bedrock",
        _bedrock_parse,
        bedrock_failure,
        _bedrock_answer,
        _bedrock_stream,
        EVENT_STREAM,
        b"\x00\x00\x00\x20\x00\x00\x00\x00broken-event-stream-frame",
    ),
}
"""Every protocol by name."""
