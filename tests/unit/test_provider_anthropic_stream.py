# ruff: noqa: F811  (the api and provider fixtures are imported from the complete-call tests)
"""The Anthropic provider's stream: Messages API events to stream events, failures, stalls, closing.

Event fixtures follow the Messages API streaming reference (``message_start``, ``content_block_*``,
``message_delta``, ``message_stop``, ``ping``, ``error``), each an SSE event named after its type.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest
import respx
from tests.provider_streams import (
    SSE_HEADERS,
    ChunkStream,
    assert_close_stops_reading,
    assert_error_after,
    end_of,
    stalled_server,
)
from tests.unit.test_provider_anthropic import (  # noqa: F401 - fixtures
    KEY,
    MODEL_ID,
    SCHEMA_FORMAT,
    URL,
    WEATHER,
    api,
    call,
    model,
    provider,
)

from modelrouter.providers.anthropic import AnthropicProvider
from modelrouter.providers.errors import (
    AuthError,
    ContextTooLongError,
    MalformedResponseError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)
from modelrouter.providers.secrets import StaticKeyResolver
from modelrouter.providers.types import StreamEnd, StreamEvent, TextDelta, ToolCallDelta, Usage

MESSAGE_ID = "msg_014p7gG3wDgGV9EUtLvnow3U"
START = {
    "type": "message_start",
    "message": {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": MODEL_ID,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 472,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 2000,
            "output_tokens": 2,
        },
    },
}
PING = {"type": "ping"}
STOP = {"type": "message_stop"}


def events(*payloads: dict[str, Any]) -> bytes:
    """SSE events named after their ``type``, as the Messages API sends them."""
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)


def text_block(index: int, *texts: str) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": t}}
            for t in texts
        ),
        {"type": "content_block_stop", "index": index},
    ]


def tool_block(index: int, call_id: str, name: str, *fragments: str) -> list[dict[str, Any]]:
    start = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": f},
            }
            for f in ("", *fragments)
        ),
        {"type": "content_block_stop", "index": index},
    ]


def message_delta(stop_reason: str, output_tokens: int) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }


def answering(api: respx.MockRouter, *parts: bytes | Exception) -> ChunkStream:
    body = ChunkStream(*parts)
    api.post(URL).mock(return_value=httpx.Response(200, stream=body, headers=SSE_HEADERS))
    return body


def collect(stream: Any) -> list[StreamEvent]:
    return list(stream)


USAGE = Usage(input_tokens=472, output_tokens=15, cache_read_tokens=2000, cache_write_tokens=100)


# Answers


def test_text_arrives_as_deltas_and_message_stop_ends_the_stream(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a text answer with a ping, streamed in chunks cut anywhere
    stream = events(START, PING, *text_block(0, "Hello", "!"), message_delta("end_turn", 15), STOP)
    body = answering(api, *(stream[i : i + 50] for i in range(0, len(stream), 50)))

    # When it is streamed
    received = collect(provider.stream(call(temperature=0.3)))

    # Then the text comes as deltas and the end carries usage (cache tokens apart), model and id
    assert received == [
        TextDelta("Hello"),
        TextDelta("!"),
        StreamEnd(finish_reason="stop", usage=USAGE, reported_model=MODEL_ID, response_id=MESSAGE_ID),
    ]
    assert body.closed


def test_the_request_is_the_complete_body_with_stream(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given an endpoint that streams
    route = api.post(URL).mock(
        return_value=httpx.Response(
            200, stream=ChunkStream(events(START, message_delta("end_turn", 1), STOP)), headers=SSE_HEADERS
        )
    )

    # When a stream is read
    collect(provider.stream(call(temperature=0.3)))

    # Then the body is the Messages API body with stream set, sent with the key header
    sent = route.calls.last.request
    body = json.loads(sent.content)
    assert body["stream"] is True
    assert body["model"] == MODEL_ID
    assert body["temperature"] == 0.3
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["accept"] == "text/event-stream"


def test_tool_use_blocks_become_tool_call_deltas(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given text, then two tool calls (the second with empty input), stopping for tool use
    answering(
        api,
        events(
            START,
            *text_block(0, "Let me check."),
            *tool_block(1, "toolu_01A", "get_weather", '{"city": ', '"Paris"}'),
            *tool_block(2, "toolu_01B", "get_time"),
            message_delta("tool_use", 15),
            STOP,
        ),
    )

    # When it is streamed
    received = collect(provider.stream(call(tools=[WEATHER])))

    # Then tool calls are indexed among tool_use blocks, start with id and name, and an input that
    # never streamed is "{}" as in a complete answer
    assert received[:-1] == [
        TextDelta("Let me check."),
        ToolCallDelta(0, "toolu_01A", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"city": '),
        ToolCallDelta(0, None, None, '"Paris"}'),
        ToolCallDelta(1, "toolu_01B", "get_time", ""),
        ToolCallDelta(1, None, None, "{}"),
    ]
    assert end_of(received).finish_reason == "tool_calls"


def test_the_forced_json_tool_streams_as_answer_text(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a JSON-schema request, answered through the forced tool named after the schema
    answering(
        api,
        events(
            START,
            *tool_block(0, "toolu_01C", "result", '{"answer"', ": 42}"),
            message_delta("tool_use", 9),
            STOP,
        ),
    )

    # When it is streamed
    received = collect(provider.stream(call(response_format=SCHEMA_FORMAT)))

    # Then the tool's input is the answer text and the answer stopped normally
    assert received[:-1] == [TextDelta('{"answer"'), TextDelta(": 42}")]
    text = "".join(event.text for event in received if isinstance(event, TextDelta))
    assert json.loads(text) == {"answer": 42}
    assert end_of(received).finish_reason == "stop"


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [("max_tokens", "length"), ("stop_sequence", "stop"), ("refusal", "content_filter")],
)
def test_stop_reasons_are_mapped_as_for_complete_answers(
    api: respx.MockRouter, provider: AnthropicProvider, stop_reason: str, finish: str
) -> None:
    # Given an answer that stops for a reason
    answering(api, events(START, *text_block(0, "x"), message_delta(stop_reason, 3), STOP))

    # When it is streamed, then the reason is normalized
    assert end_of(collect(provider.stream(call()))).finish_reason == finish


def test_thinking_blocks_are_left_out(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given an answer that thinks first
    thinking = [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "6*7"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQ"}},
        {"type": "content_block_stop", "index": 0},
    ]
    answering(api, events(START, *thinking, *text_block(1, "42"), message_delta("end_turn", 5), STOP))

    # When it is streamed, then only the answer text comes
    assert collect(provider.stream(call()))[:-1] == [TextDelta("42")]


# Failures


def test_a_rate_limit_before_the_first_event_carries_the_retry_hint(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a 429 with retry-after
    body = {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Number of requests has exceeded your rate limit"},
    }
    api.post(URL).mock(return_value=httpx.Response(429, json=body, headers={"retry-after": "7"}))

    # When the stream is read, then the first next() raises the mapped error with its hint
    with pytest.raises(RateLimitedError) as caught:
        next(provider.stream(call()))
    assert caught.value.retry_after_s == 7.0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"type": "overloaded_error", "message": "Overloaded"}, OverloadedError),
        ({"type": "rate_limit_error", "message": "Rate limited"}, RateLimitedError),
        ({"type": "api_error", "message": "Internal server error"}, ProviderServerError),
        (
            {"type": "invalid_request_error", "message": "prompt is too long: 200001 tokens"},
            ContextTooLongError,
        ),
        ({"type": "billing_error", "message": f"credit low for {KEY}"}, AuthError),
        ({"type": "something_new", "message": "?"}, ProviderServerError),
    ],
)
def test_an_error_event_mid_stream_is_the_mapped_error(
    api: respx.MockRouter, provider: AnthropicProvider, error: dict[str, Any], expected: type[ProviderError]
) -> None:
    # Given a stream that sends some text and then an error event
    answering(api, events(START, *text_block(0, "Hel")[:2], {"type": "error", "error": error}))

    # When it is read, then the text comes first and then the mapped error, without the key
    failure = assert_error_after(provider.stream(call()), TextDelta("Hel"), expected, KEY)
    assert failure.provider == "anthropic"


def test_a_connection_cut_mid_stream_is_a_retryable_server_error(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a stream whose connection breaks after the first text
    answering(
        api, events(START, *text_block(0, "Hel")[:2]), httpx.RemoteProtocolError("peer closed connection")
    )
    stream = provider.stream(call())

    # When it is read, then the text comes and then a server error saying the stream broke
    assert next(stream) == TextDelta("Hel")
    with pytest.raises(ProviderServerError, match="stream broke"):
        next(stream)


def test_a_stalled_stream_times_out_after_the_first_byte_timeout() -> None:
    # Given a real server that sends the start and a ping, then nothing, and a short first-byte wait
    with stalled_server(events(START, PING)) as base_url, httpx.Client() as client:
        streaming = AnthropicProvider(StaticKeyResolver({"anthropic/key": KEY}), client=client)
        stalled = replace(call(model(base_url=base_url)), first_byte_timeout_s=0.2)

        # When it is read, then the stall is a timeout
        with pytest.raises(ProviderTimeoutError, match="stalled"):
            collect(streaming.stream(stalled))


def test_a_stream_without_message_stop_is_malformed(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a stream that ends after the message delta but before message_stop
    answering(api, events(START, *text_block(0, "42"), message_delta("end_turn", 3)))

    # When it is read, then the missing end is a malformed answer, after the text
    stream = provider.stream(call())
    assert next(stream) == TextDelta("42")
    with pytest.raises(MalformedResponseError, match="message_stop"):
        next(stream)


# Closing


def test_closing_after_the_first_event_closes_the_response(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a long answer, each event in its own part
    parts = [events(START), *(events(d) for d in text_block(0, *(f"w{n} " for n in range(50))))]
    body = answering(api, *parts)

    # When the first text is read and the stream closed, then the response is closed at once and
    # the rest is never read
    assert_close_stops_reading(provider.stream(call()), TextDelta("w0 "), body)
