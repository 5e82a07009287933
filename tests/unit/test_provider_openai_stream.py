# ruff: noqa: F811  (the api and provider fixtures are imported from the complete-call tests)
"""The OpenAI-compatible provider's stream: chunks to stream events, failures, stalls and closing.

Chunk fixtures are checked with the official ``openai`` package's ``ChatCompletionChunk`` and the
request body with its streaming request type; the provider-neutral helpers are in
:mod:`tests.provider_streams`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import respx
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming
from pydantic import TypeAdapter
from tests.openai_shapes import shape_errors
from tests.provider_streams import (
    SSE_HEADERS,
    ChunkStream,
    assert_close_stops_reading,
    assert_error_after,
    end_of,
    stalled_server,
)
from tests.unit.test_provider_openai import KEY, MODEL_ID, URL, api, call, model, provider  # noqa: F401 - fixtures

from modelrouter.providers import http
from modelrouter.providers.errors import (
    ContextTooLongError,
    MalformedResponseError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)
from modelrouter.providers.openai import OpenAIProvider
from modelrouter.providers.secrets import StaticKeyResolver
from modelrouter.providers.types import StreamEnd, StreamEvent, TextDelta, ToolCallDelta, Usage

RESPONSE_ID = "chatcmpl-BsE2xYz"


def sse(*payloads: dict[str, Any] | str) -> bytes:
    """``data:`` events, each payload JSON-encoded unless it is already text."""
    return b"".join(f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n".encode() for p in payloads)


def chunk(
    delta: dict[str, Any] | None = None, finish_reason: str | None = None, **top: Any
) -> dict[str, Any]:
    """A chat.completion.chunk as OpenAI streams it, checked with the official package."""
    payload: dict[str, Any] = {
        "id": RESPONSE_ID,
        "object": "chat.completion.chunk",
        "created": 1741569952,
        "model": MODEL_ID,
        "system_fingerprint": "fp_06737a9306",
        "service_tier": "default",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}],
        "usage": None,
    }
    payload.update(top)
    ChatCompletionChunk.model_validate(payload)
    return payload


USAGE_CHUNK = chunk(
    choices=[],
    usage={
        "prompt_tokens": 19,
        "completion_tokens": 2,
        "total_tokens": 21,
        "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
    },
)
HELLO = sse(
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk({}, "stop"),
    USAGE_CHUNK,
    "[DONE]",
)


def answering(api: respx.MockRouter, *parts: bytes | Exception, pause_s: float = 0.0) -> ChunkStream:
    """Make the endpoint answer 200 with ``parts`` as its streamed body; return the body."""
    body = ChunkStream(*parts, pause_s=pause_s)
    api.post(URL).mock(return_value=httpx.Response(200, stream=body, headers=SSE_HEADERS))
    return body


def collect(events: Iterator[StreamEvent]) -> list[StreamEvent]:
    return list(events)


# Requests and answers# Requests and answers


def test_the_request_is_the_complete_body_with_stream_and_usage(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given an endpoint that streams an answer
    route = api.post(URL).mock(
        return_value=httpx.Response(200, stream=ChunkStream(HELLO), headers=SSE_HEADERS)
    )

    # When the stream is created, then nothing is sent before the first next()
    events = provider.stream(call(temperature=0.2))
    assert not route.called
    collect(events)

    # Then the body is a valid streaming Chat Completions body asking for usage at the end
    body = json.loads(route.calls.last.request.content)
    TypeAdapter(CompletionCreateParamsStreaming).validate_python(body)
    # (shape_errors reads the subclass's total=True as "every inherited field required": skip those)
    assert [e for e in shape_errors(body, CompletionCreateParamsStreaming) if not e.endswith("missing")] == []
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.2
    assert route.calls.last.request.headers["accept"] == "text/event-stream"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


def test_text_arrives_as_deltas_and_the_usage_chunk_ends_the_stream(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given the answer "Hello" streamed in chunks cut across event boundaries
    body = answering(api, *(HELLO[i : i + 37] for i in range(0, len(HELLO), 37)))

    # When it is streamed
    events = collect(provider.stream(call()))

    # Then the text comes as deltas, then one end with the normalized usage, model and id
    assert events == [
        TextDelta("Hel"),
        TextDelta("lo"),
        StreamEnd(
            finish_reason="stop",
            usage=Usage(input_tokens=15, output_tokens=2, cache_read_tokens=4),
            reported_model=MODEL_ID,
            response_id=RESPONSE_ID,
        ),
    ]
    # And the response was closed
    assert body.closed


def test_tool_call_pieces_become_tool_call_deltas(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given two parallel tool calls streamed piece by piece
    def piece(index: int, arguments: str, **first: Any) -> dict[str, Any]:
        function: dict[str, Any] = {"arguments": arguments}
        if first:
            function["name"] = first["name"]
            return chunk(
                {
                    "tool_calls": [
                        {"index": index, "id": first["id"], "type": "function", "function": function}
                    ]
                }
            )
        return chunk({"tool_calls": [{"index": index, "function": function}]})

    answering(
        api,
        sse(
            chunk({"role": "assistant", "content": None}),
            piece(0, "", id="call_a", name="get_weather"),
            piece(0, '{"city": '),
            piece(1, "", id="call_b", name="get_time"),
            piece(0, '"Paris"}'),
            piece(1, "{}"),
            chunk({}, "tool_calls"),
            USAGE_CHUNK,
            "[DONE]",
        ),
    )

    # When it is streamed
    events = collect(provider.stream(call()))

    # Then each call starts with its id and name, and its argument fragments follow in order
    assert events[:-1] == [
        ToolCallDelta(0, "call_a", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"city": '),
        ToolCallDelta(1, "call_b", "get_time", ""),
        ToolCallDelta(0, None, None, '"Paris"}'),
        ToolCallDelta(1, None, None, "{}"),
    ]
    assert end_of(events).finish_reason == "tool_calls"


def test_calls_without_index_or_id_and_object_arguments_still_read(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given an Ollama-style stream: whole calls without index or id, arguments as an object,
    # "stop" although the answer is tool calls, and no [DONE]
    raw_calls = [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
        {"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
    ]
    answering(
        api,
        sse({"model": "llama3.2", "choices": [{"index": 0, "delta": {"tool_calls": raw_calls}}]}),
        sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    )

    # When it is streamed
    events = collect(provider.stream(call()))

    # Then each call gets its own index and a made-up id, its arguments as JSON text, and it ends
    # cleanly as tool calls
    assert events == [
        ToolCallDelta(0, "call_0", "get_weather", '{"city": "Paris"}'),
        ToolCallDelta(1, "call_1", "get_weather", '{"city": "Oslo"}'),
        StreamEnd(finish_reason="tool_calls", usage=None, reported_model="llama3.2", response_id=None),
    ]


@pytest.mark.parametrize(("raw", "finish"), [("length", "length"), ("content_filter", "content_filter")])
def test_finish_reasons_are_mapped_as_for_complete_answers(
    api: respx.MockRouter, provider: OpenAIProvider, raw: str, finish: str
) -> None:
    # Given a stream that stops for a reason
    answering(api, sse(chunk({"content": "x"}), chunk({}, raw), "[DONE]"))

    # When it is streamed, then the reason is normalized
    assert end_of(collect(provider.stream(call()))).finish_reason == finish


def test_a_refusal_without_text_ends_as_content_filter(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a structured-outputs refusal streamed in its own field
    answering(api, sse(chunk({"refusal": "I can't help with that."}), chunk({}, "stop"), "[DONE]"))

    # When it is streamed, then no text is yielded and the stream ends as filtered
    events = collect(provider.stream(call()))
    assert len(events) == 1
    assert isinstance(events[0], StreamEnd)
    assert events[0].finish_reason == "content_filter"


# Failures


def test_a_rate_limit_before_the_first_event_carries_the_retry_hint(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given an endpoint that refuses with 429 and Retry-After
    body = {
        "error": {
            "message": "Rate limit reached",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    api.post(URL).mock(return_value=httpx.Response(429, json=body, headers={"retry-after": "2"}))

    # When the stream is read, then the first next() raises the mapped error with its hint
    with pytest.raises(RateLimitedError) as caught:
        next(provider.stream(call()))
    assert caught.value.retry_after_s == 2.0
    assert caught.value.status == 429


def test_a_context_error_body_refines_the_status_as_for_complete_calls(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a 400 whose body says the prompt is too long
    body = {
        "error": {
            "message": "maximum context length is 128000 tokens",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    }
    api.post(URL).mock(return_value=httpx.Response(400, json=body))

    # When the stream is read, then it is a context error, not a plain bad request
    with pytest.raises(ContextTooLongError):
        next(provider.stream(call()))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            },
            ProviderServerError,
        ),
        (
            {
                "message": "Rate limit reached for tokens",
                "type": "tokens",
                "param": None,
                "code": "rate_limit_exceeded",
            },
            RateLimitedError,
        ),
        (
            {
                "message": "too long",
                "type": "invalid_request_error",
                "param": None,
                "code": "context_length_exceeded",
            },
            ContextTooLongError,
        ),
        ({"message": f"bad key {KEY}", "type": "weird", "param": None, "code": None}, ProviderServerError),
    ],
)
def test_an_error_event_mid_stream_is_the_mapped_error(
    api: respx.MockRouter, provider: OpenAIProvider, error: dict[str, Any], expected: type[ProviderError]
) -> None:
    # Given a stream that sends some text and then an error event
    answering(api, sse(chunk({"content": "Hel"}), {"error": error}))

    # When it is read, then the text comes first and then the mapped error, without the key
    failure = assert_error_after(provider.stream(call()), TextDelta("Hel"), expected, KEY)
    assert failure.provider == "openai"


def test_a_connection_cut_mid_stream_is_a_retryable_server_error(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a stream whose connection breaks after the first event
    answering(api, sse(chunk({"content": "Hel"})), httpx.ReadError("connection reset by peer"))
    events = provider.stream(call())

    # When it is read, then the text comes and then a server error saying the stream broke
    assert next(events) == TextDelta("Hel")
    with pytest.raises(ProviderServerError, match="stream broke") as caught:
        next(events)
    assert caught.value.retryable


@pytest.mark.parametrize("sent", [b"", sse(chunk({"content": "Hel"}))], ids=["no byte", "after one event"])
def test_a_stalled_stream_times_out_after_the_first_byte_timeout(sent: bytes) -> None:
    # Given a real server that answers 200 and then stalls, and a call with a short first-byte wait
    with stalled_server(sent) as base_url, httpx.Client() as client:
        streaming = OpenAIProvider(StaticKeyResolver({"openai/key": KEY}), client=client)
        stalled = replace(call(model(base_url=base_url)), timeout_s=30.0, first_byte_timeout_s=0.2)

        # When it is read, then whatever came is yielded and the stall is a timeout
        received: list[StreamEvent] = []
        with pytest.raises(ProviderTimeoutError):
            received.extend(streaming.stream(stalled))
    assert received == ([TextDelta("Hel")] if sent else [])


def test_a_stream_running_past_its_deadline_times_out(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a stream that keeps trickling events for longer than the call may take
    answering(api, *(sse(chunk({"content": "x"})) for _ in range(40)), pause_s=0.02)

    # When it is read with a short deadline, then it times out before the end
    with pytest.raises(ProviderTimeoutError, match="not finished"):
        collect(provider.stream(replace(call(), timeout_s=0.2)))


def test_a_stream_larger_than_the_limit_is_malformed(
    api: respx.MockRouter, provider: OpenAIProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit smaller than the stream
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", 200)
    answering(api, HELLO)

    # When it is read, then it is refused as malformed
    with pytest.raises(MalformedResponseError):
        collect(provider.stream(call()))


def test_a_stream_cut_before_any_finish_is_malformed(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given a stream that ends cleanly at the TCP level but without finish_reason or [DONE]
    answering(api, sse(chunk({"content": "Hel"})))

    # When it is read, then the missing end is a malformed answer
    with pytest.raises(MalformedResponseError, match="without a finish_reason"):
        collect(provider.stream(call()))


def test_a_stream_without_done_after_a_finish_reason_ends_cleanly(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a server that omits [DONE] after the finish and usage chunks
    answering(api, sse(chunk({"content": "42"}), chunk({}, "stop"), USAGE_CHUNK))

    # When it is read, then it ends with the usage
    events = collect(provider.stream(call()))
    assert events[0] == TextDelta("42")
    assert events[-1] == StreamEnd("stop", Usage(15, 2, 4), MODEL_ID, RESPONSE_ID)


def test_garbage_data_is_malformed(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given an event whose data is not JSON
    answering(api, b"data: {not json\n\n")

    # When it is read, then it is malformed
    with pytest.raises(MalformedResponseError):
        collect(provider.stream(call()))


# Closing


def test_closing_after_the_first_event_closes_the_response(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a long stream, each event in its own part
    body = answering(api, *(sse(chunk({"content": f"w{n} "})) for n in range(50)))

    # When the first event is read and the stream closed (the client went away), then the response
    # is closed at once and the rest is never read
    assert_close_stops_reading(provider.stream(call()), TextDelta("w0 "), body)


def test_the_response_is_closed_before_the_end_is_yielded(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a complete stream
    body = answering(api, HELLO)
    events = provider.stream(call())

    # When it is read up to its end without asking for more
    ends = [event for event in events if isinstance(event, StreamEnd) and body.closed]

    # Then the connection was already released when the end came
    assert len(ends) == 1
