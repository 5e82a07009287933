"""The Bedrock provider's stream: real event-stream bytes, parsed by a real botocore client.

Every answer is encoded by :mod:`modelrouter.local.eventstream` and handed to a real
``bedrock-runtime`` client through botocore's ``before-send`` hook, so the client's own event-stream
decoder and parser (exception events included) read it exactly as they read Bedrock's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from tests.provider_streams import ChunkStream, assert_error_after, end_of
from tests.unit.test_provider_bedrock import (
    ANSWER_SCHEMA,
    MODEL_ID,
    WEATHER_TOOL,
    make_call,
    runtime_client,
    user,
)
from urllib3.exceptions import ProtocolError

from modelrouter.local.eventstream import CONTENT_TYPE, encode_event, encode_exception
from modelrouter.providers.bedrock import BedrockProvider, to_converse_request
from modelrouter.providers.errors import (
    ContextTooLongError,
    MalformedResponseError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)
from modelrouter.providers.types import StreamEnd, StreamEvent, TextDelta, ToolCallDelta, Usage

REQUEST_ID = "6f1c9d3e-2a4b-4c8d-9e0f-123456789abc"
START = encode_event("messageStart", {"role": "assistant"})
METADATA = encode_event(
    "metadata",
    {
        "usage": {
            "inputTokens": 12,
            "outputTokens": 5,
            "totalTokens": 2117,
            "cacheReadInputTokens": 2000,
            "cacheWriteInputTokens": 100,
        },
        "metrics": {"latencyMs": 321},
    },
)
USAGE = Usage(input_tokens=12, output_tokens=5, cache_read_tokens=2000, cache_write_tokens=100)


class Raw(ChunkStream):
    """The raw HTTP body botocore reads (``stream()``, ``close()``), sent part by part."""

    def __init__(self, *parts: bytes | Exception, pause_s: float = 0.0) -> None:
        super().__init__(*parts, pause_s=pause_s)
        self.closing = threading.Event()

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        return iter(self)

    def close(self) -> None:
        super().close()
        self.closing.set()


class Bedrock:
    """A provider whose real client gets ``raw`` as the HTTP answer of ``ConverseStream``."""

    def __init__(self, raw: Raw, *, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.raw = raw
        self.sent: list[AWSPreparedRequest] = []
        self.release = threading.Event()
        self.release.set()
        client = runtime_client()
        answer_headers = {"x-amzn-requestid": REQUEST_ID, "content-type": CONTENT_TYPE, **(headers or {})}

        def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
            self.sent.append(request)
            self.release.wait(5)
            return AWSResponse(request.url, status, answer_headers, raw)

        client.meta.events.register("before-send.bedrock-runtime.ConverseStream", send)
        self.provider = BedrockProvider(client_factory=lambda region: client)


def delta(index: int, text: str) -> bytes:
    return encode_event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": text}})


def tool_start(index: int, use_id: str, name: str) -> bytes:
    start = {"toolUse": {"toolUseId": use_id, "name": name}}
    return encode_event("contentBlockStart", {"contentBlockIndex": index, "start": start})


def tool_input(index: int, fragment: str) -> bytes:
    return encode_event(
        "contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": fragment}}}
    )


def block_stop(index: int) -> bytes:
    return encode_event("contentBlockStop", {"contentBlockIndex": index})


def message_stop(reason: str) -> bytes:
    return encode_event("messageStop", {"stopReason": reason})


HELLO = [START, delta(0, "Hel"), delta(0, "lo"), block_stop(0), message_stop("end_turn"), METADATA]


def chat(**fields: Any) -> Any:
    return make_call({"messages": [user("What is the weather in Paris?")], **fields})


# Answers


def test_text_deltas_and_metadata_end_the_stream() -> None:
    # Given a text answer, its bytes cut across message boundaries
    stream = b"".join(HELLO)
    bedrock = Bedrock(Raw(*(stream[i : i + 40] for i in range(0, len(stream), 40))))
    call = chat()

    # When it is streamed, then nothing is sent before the first next()
    stream = bedrock.provider.stream(call)
    assert not bedrock.sent
    received = list(stream)

    # Then the text comes as deltas and the end carries usage with cache tokens, latency and id
    assert received == [
        TextDelta("Hel"),
        TextDelta("lo"),
        StreamEnd(
            finish_reason="stop",
            usage=USAGE,
            reported_model=MODEL_ID,
            response_id=REQUEST_ID,
            provider_latency_ms=321.0,
        ),
    ]
    # And the request was converse's, sent to converse-stream, and the stream is closed
    [request] = bedrock.sent
    assert request.url.endswith("/converse-stream")
    expected = {key: value for key, value in to_converse_request(call).items() if key != "modelId"}
    assert json.loads(request.body) == expected
    assert bedrock.raw.closed


def test_tool_use_blocks_become_tool_call_deltas() -> None:
    # Given text, then two tool uses (the second with no input), stopping for tool use
    bedrock = Bedrock(
        Raw(
            START,
            delta(0, "Checking."),
            block_stop(0),
            tool_start(1, "tooluse_a1", "get_weather"),
            tool_input(1, '{"city":'),
            tool_input(1, '"Paris"}'),
            block_stop(1),
            tool_start(2, "tooluse_b2", "get_weather"),
            block_stop(2),
            message_stop("tool_use"),
            METADATA,
        )
    )

    # When it is streamed
    received = list(bedrock.provider.stream(chat(tools=[WEATHER_TOOL])))

    # Then the calls are indexed among tool uses, start with id and name, and an input that never
    # streamed is "{}" as in a complete answer
    assert received[:-1] == [
        TextDelta("Checking."),
        ToolCallDelta(0, "tooluse_a1", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"city":'),
        ToolCallDelta(0, None, None, '"Paris"}'),
        ToolCallDelta(1, "tooluse_b2", "get_weather", ""),
        ToolCallDelta(1, None, None, "{}"),
    ]
    assert (end_of(received).finish_reason, end_of(received).usage) == ("tool_calls", USAGE)


def test_the_forced_json_schema_tool_streams_as_answer_text() -> None:
    # Given a JSON-schema request (answered through the forced tool named after the schema)
    answer_format = {"type": "json_schema", "json_schema": {"name": "weather", "schema": ANSWER_SCHEMA}}
    call = chat(response_format=answer_format)
    assert to_converse_request(call)["toolConfig"]["toolChoice"] == {"tool": {"name": "weather"}}
    bedrock = Bedrock(
        Raw(
            START,
            tool_start(0, "tooluse_w", "weather"),
            tool_input(0, '{"city": "Paris", '),
            tool_input(0, '"temp": 21.5}'),
            block_stop(0),
            message_stop("tool_use"),
            METADATA,
        )
    )

    # When it is streamed
    received = list(bedrock.provider.stream(call))

    # Then the tool's input is the answer text, as complete() returns it, and it stopped normally
    text = "".join(event.text for event in received if isinstance(event, TextDelta))
    assert json.loads(text) == {"city": "Paris", "temp": 21.5}
    assert not [event for event in received if isinstance(event, ToolCallDelta)]
    assert end_of(received).finish_reason == "stop"


def test_a_stream_without_metadata_after_message_stop_ends_without_usage() -> None:
    # Given a stream that ends right after messageStop
    bedrock = Bedrock(Raw(START, delta(0, "42"), block_stop(0), message_stop("max_tokens")))

    # When it is streamed, then it ends cleanly, cut for length, with no usage
    assert list(bedrock.provider.stream(chat()))[-1] == StreamEnd(
        finish_reason="length", usage=None, reported_model=MODEL_ID, response_id=REQUEST_ID
    )


# Failures


@pytest.mark.parametrize(
    ("exception", "message", "expected"),
    [
        ("throttlingException", "Too many tokens, please wait before trying again.", RateLimitedError),
        ("modelStreamErrorException", "Model stream error", ProviderServerError),
        ("internalServerException", "Internal error", ProviderServerError),
        ("serviceUnavailableException", "Service unavailable", OverloadedError),
        ("validationException", "Input is too long for requested model.", ContextTooLongError),
    ],
)
def test_an_exception_event_mid_stream_is_the_mapped_error(
    exception: str, message: str, expected: type[ProviderError]
) -> None:
    # Given a stream that sends some text and then an exception event
    bedrock = Bedrock(Raw(START, delta(0, "Hel"), encode_exception(exception, message), delta(0, "lo")))
    stream = bedrock.provider.stream(chat())

    # When it is read, then the text comes first and then the error mapped as converse's would be
    assert assert_error_after(stream, TextDelta("Hel"), expected).provider == "bedrock"
    # And the stream was closed
    assert bedrock.raw.closed


def test_a_throttled_call_fails_before_the_first_event() -> None:
    # Given Bedrock refusing the call itself with a throttling error
    body = json.dumps({"message": "Too many requests, please wait before trying again."}).encode()
    bedrock = Bedrock(Raw(body), status=429, headers={"x-amzn-errortype": "ThrottlingException"})

    # When the stream is read, then the first next() raises the mapped error
    with pytest.raises(RateLimitedError, match="ThrottlingException"):
        next(bedrock.provider.stream(chat()))


def test_a_stream_without_message_stop_is_malformed() -> None:
    # Given a stream cut after some text
    bedrock = Bedrock(Raw(START, delta(0, "Hel")))
    stream = bedrock.provider.stream(chat())

    # When it is read, then the text comes and then the missing end is a malformed answer
    assert next(stream) == TextDelta("Hel")
    with pytest.raises(MalformedResponseError, match="messageStop"):
        next(stream)


def test_a_malformed_output_stop_is_malformed() -> None:
    # Given a stream that stops because the model's tool use could not be read
    bedrock = Bedrock(Raw(START, message_stop("malformed_tool_use"), METADATA))

    # When it is read, then it is a (retryable) malformed answer
    with pytest.raises(MalformedResponseError, match="malformed_tool_use"):
        list(bedrock.provider.stream(chat()))


def test_corrupted_bytes_and_a_broken_connection_are_mapped() -> None:
    # Given one stream with a corrupted message, and one whose connection breaks
    corrupted = bytearray(delta(0, "Hel"))
    corrupted[-6] ^= 0xFF
    broken = ProtocolError("Connection broken: IncompleteRead(12 bytes read)")

    # When they are read, then the first is malformed and the second a broken stream
    with pytest.raises(MalformedResponseError):
        list(Bedrock(Raw(START, bytes(corrupted))).provider.stream(chat()))
    with pytest.raises(ProviderServerError, match="stream broke"):
        list(Bedrock(Raw(START, delta(0, "Hel"), broken)).provider.stream(chat()))


def test_the_call_deadline_is_enforced_between_events() -> None:
    # Given a stream that keeps trickling events for longer than the call may take
    bedrock = Bedrock(Raw(START, *(delta(0, "x") for _ in range(40)), pause_s=0.02))

    # When it is read with a short deadline, then it times out before the end and is closed
    with pytest.raises(ProviderTimeoutError, match="not finished"):
        list(bedrock.provider.stream(make_call({"messages": [user("hi")]}, timeout_s=0.2)))
    assert bedrock.raw.closed


def test_a_stream_opened_after_its_first_byte_timeout_is_closed_when_it_comes() -> None:
    # Given a call whose response headers come only after the first-byte timeout
    bedrock = Bedrock(Raw(*HELLO))
    bedrock.release.clear()
    call = replace(chat(), first_byte_timeout_s=0.1)

    # When it is streamed, then it times out
    with pytest.raises(ProviderTimeoutError):
        next(bedrock.provider.stream(call))

    # And when the response does come, its stream is closed unread
    bedrock.release.set()
    assert bedrock.raw.closing.wait(5)
    assert bedrock.raw.sent == 0


# Closing


def test_closing_after_the_first_event_closes_the_event_stream() -> None:
    # Given a long answer, each message in its own part
    bedrock = Bedrock(Raw(START, *(delta(0, f"w{n} ") for n in range(50)), message_stop("end_turn")))
    stream = bedrock.provider.stream(chat())

    # When the first text is read and the stream closed
    first: StreamEvent = next(stream)
    stream.close()  # type: ignore[attr-defined]

    # Then the event stream is closed at once and the rest is never read
    assert first == TextDelta("w0 ")
    assert bedrock.raw.closed
    assert bedrock.raw.sent < len(bedrock.raw.parts)
