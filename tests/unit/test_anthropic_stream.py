"""Anthropic's server-sent events for ``stream: true`` Messages requests: whole answers replayed, and live
streams written from the same LiveChat the OpenAI path streams, read back with the anthropic package's
own accumulator."""

from __future__ import annotations

import json
from typing import Any

from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter
from tests.fakes import Streamed, answer
from tests.service_fakes import ServiceRig, service_rig
from tests.unit.test_attempt_lifecycle import assert_books_balance, policy

from modelrouter.api.anthropic_format import parse_request, to_chat_request
from modelrouter.api.anthropic_message import message
from modelrouter.api.anthropic_request import MessagesRequest
from modelrouter.api.anthropic_stream import MessageEvents, live_events, stream_events
from modelrouter.api.openai_format import STREAM_PIECE_CHARS
from modelrouter.execution.records import Attempt, ExecutionResult
from modelrouter.live import LiveChat
from modelrouter.providers.errors import ProviderServerError
from modelrouter.providers.types import ProviderResult, ResultToolCall, ToolCallDelta, Usage

EVENTS: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
CITY_TOOL = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def parse_events(body: str | bytes) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, data)`` of each server-sent event of ``body``."""
    text = body.decode() if isinstance(body, bytes) else body
    events = []
    for block in filter(None, text.split("\n\n")):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def accumulated(events: list[tuple[str, dict[str, Any]]]) -> Message:
    """The message the anthropic package builds from ``events`` (each also checked against its types)."""
    snapshot, buffers = None, dict[int, bytes]()
    for name, data in events:
        assert data["type"] == name
        event = EVENTS.validate_python(data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    return snapshot


def test_a_whole_answer_replays_as_events_that_build_the_same_message() -> None:
    # Given a checked answer with long text and two tool calls
    calls = (ResultToolCall(id="toolu_1", name="get_weather", arguments='{"city": "Oslo"}'),
             ResultToolCall(id="toolu_2", name="get_weather", arguments='{"city": "Rome"}'))  # fmt: skip
    text = "It is raining in Oslo today; let me check Rome as well. " * 3
    attempt = Attempt(number=1, model="m1", provider="bedrock", provider_model_id="v.m1", started_ms=0,
                      duration_ms=5, outcome="success", input_tokens=50, output_tokens=40)  # fmt: skip
    answered = ProviderResult(content=text, tool_calls=calls, finish_reason="tool_calls")
    result = ExecutionResult(answer=answered, model="m1", attempts=(attempt,))
    summary = {"request_id": "req-7", "route": "r"}
    # When it is written as events
    events = parse_events(stream_events(result, summary))
    # Then they come in Anthropic's order: start, a text block in pieces, a block per tool, delta, stop
    names = [name for name, _ in events]
    pieces = -(-len(text) // STREAM_PIECE_CHARS)
    tool_block = ["content_block_start", "content_block_delta", "content_block_stop"]
    assert names == ["message_start", "content_block_start", *["content_block_delta"] * pieces,
                     "content_block_stop", *tool_block * 2, "message_delta", "message_stop"]  # fmt: skip
    # And the anthropic package builds from them the message the non-streamed answer is
    built = accumulated(events).model_dump(exclude_none=True)
    whole = message(result, summary)
    assert built["content"] == whole["content"]
    assert (built["id"], built["stop_reason"], built["usage"]["output_tokens"]) == (
        "msg_req-7",
        "tool_use",
        40,
    )
    # And the router block rides on message_delta
    assert events[-2][1]["router"] == summary


def test_blocks_open_and_close_as_text_and_tool_fragments_come() -> None:
    # Given an event writer
    writer = MessageEvents("r1", "m1")
    # When text, then two interleaved tool calls, then text again are written
    written = [*writer.text("Hi"), *writer.tool(0, "toolu_a", "a", '{"x":'),
               *writer.tool(1, "toolu_b", "b", ""), *writer.tool(0, None, None, "1}"), *writer.text("Done"),
               *writer.close()]  # fmt: skip
    events = [(name, data) for name, data in parse_events("".join(written))]
    # Then each call has its own block, fragments reach the block of their call, and text after a tool
    # opens a new text block
    starts = [(d["index"], d["content_block"]["type"]) for n, d in events if n == "content_block_start"]
    assert starts == [(0, "text"), (1, "tool_use"), (2, "tool_use"), (3, "text")]
    deltas = [(d["index"], d["delta"]) for n, d in events if n == "content_block_delta"]
    assert deltas == [(0, {"type": "text_delta", "text": "Hi"}),
                      (1, {"type": "input_json_delta", "partial_json": '{"x":'}),
                      (1, {"type": "input_json_delta", "partial_json": "1}"}),
                      (3, {"type": "text_delta", "text": "Done"})]  # fmt: skip
    assert [d["index"] for n, d in events if n == "content_block_stop"] == [0, 1, 2, 3]


def _live(scripts: dict[str, list[Any]], **fields: Any) -> tuple[ServiceRig, LiveChat, tuple[str, ...]]:
    """A live chat of a translated Messages request on a service with scripted models."""
    rig = service_rig(policy({"limits": {"latency_budget_ms": 20_000}}), scripts)
    document = {"model": "auto", "max_tokens": 300, "stream": True, "top_k": 4,
                "messages": [{"role": "user", "content": "Weather in Oslo?"}], **fields}  # fmt: skip
    translation = to_chat_request(parse_request(json.dumps(document), MessagesRequest))
    live = rig.service.respond("t1", json.dumps(translation.body), "req-1")
    assert isinstance(live, LiveChat)
    return rig, live, translation.ignored


def test_a_live_stream_is_written_as_tokens_arrive_and_builds_the_message() -> None:
    # Given a model that streams text pieces and then a tool call in fragments
    fragments = (ToolCallDelta(0, "toolu_1", "get_weather", ""), ToolCallDelta(0, None, None, '{"city": '),
                 ToolCallDelta(0, None, None, '"Oslo"}'))  # fmt: skip
    step = Streamed(pieces=("Let me ", "check."), tool_calls=fragments, finish_reason="tool_calls",
                    usage=Usage(input_tokens=70, output_tokens=9))  # fmt: skip
    rig, live, ignored = _live({"m1": [step], "m2": [answer()], "m3": [answer()]}, tools=[CITY_TOOL])
    # When its events are written
    events = parse_events(b"".join(live_events(live, ignored)))
    # Then one event per delta came out, and the anthropic package builds the whole message from them
    built = accumulated(events)
    assert [block.type for block in built.content] == ["text", "tool_use"]
    assert built.content[0].text == "Let me check."  # type: ignore[union-attr]
    assert built.content[1].input == {"city": "Oslo"}  # type: ignore[union-attr]
    assert (built.stop_reason, built.usage.input_tokens, built.usage.output_tokens) == ("tool_use", 70, 9)
    assert sum(1 for name, _ in events if name == "content_block_delta") == 2 + 2
    # And the router block has the stream's figures and the fields the translation dropped
    router = events[-2][1]["router"]
    assert (router["stream"]["end"], router["ignored_fields"], router["model"]) == (
        "complete",
        ["top_k"],
        "m1",
    )
    # And the request was closed once, charged and recorded
    assert rig.records()["req-1"]["outcome"] == "success"
    assert_books_balance(rig)


def test_a_failure_after_the_first_token_ends_with_an_error_event() -> None:
    # Given a model whose stream breaks after two pieces
    broken = Streamed(error=ProviderServerError("connection reset"), fail_after=2)
    rig, live, ignored = _live({"m1": [broken], "m2": [answer()], "m3": [answer()]})
    # When its events are written
    events = parse_events(b"".join(live_events(live, ignored)))
    # Then the text block is closed and an error event ends the stream (no message_stop), with the
    # router block, in Anthropic's error shape
    assert [name for name, _ in events][-2:] == ["content_block_stop", "error"]
    error = events[-1][1]
    assert error["type"] == "error"
    assert (error["error"]["type"], error["error"]["code"]) == ("api_error", "server_error")
    assert "incomplete" in error["error"]["message"]
    assert error["router"]["stream"]["end"] == "provider_error"
    assert rig.records()["req-1"]["outcome"] == "error"
    assert_books_balance(rig)


def test_closing_the_events_stops_the_live_chat_and_closes_the_request() -> None:
    # Given a long live stream
    rig, live, ignored = _live({"m1": [Streamed(pieces=tuple(f"w{i} " for i in range(40)))], "m2": [answer()],
                                "m3": [answer()]})  # fmt: skip
    events = live_events(live, ignored)
    # When the client reads the start and one delta, then goes away
    for _ in range(3):
        next(events)
    events.close()  # type: ignore[attr-defined]
    # Then the provider's stream is closed and the request recorded as the client's disconnection
    assert rig.provider.closed_streams == ["m1"]
    assert rig.records()["req-1"]["streaming"]["end"] == "client_disconnected"
    assert_books_balance(rig)
