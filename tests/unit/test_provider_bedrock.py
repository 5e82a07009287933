"""The Bedrock provider: Converse mapping, errors, deadlines and guardrails.

Calls go through a real ``bedrock-runtime`` client wrapped in botocore's ``Stubber``, so every request
(and every canned response) is validated against the real service model, and the exact parameters
sent are compared with what the test expects.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)
from botocore.stub import Stubber
from tests.helpers import model_entry

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.check_specs import BedrockGuardrailCheck
from modelrouter.providers.answer_format import JSON_OBJECT_INSTRUCTION, json_schema_instruction
from modelrouter.providers.bedrock import (
    BedrockGuardrailService,
    BedrockProvider,
    error_from_client_error,
    from_converse_response,
    to_converse_request,
)
from modelrouter.providers.bedrock.mapping import request_metadata_value
from modelrouter.providers.bedrock.messages import BRIDGE_TEXT, tool_use_id
from modelrouter.providers.errors import (
    AuthError,
    BadRequestError,
    ContextTooLongError,
    MalformedResponseError,
    ModelNotFoundError,
    OverloadedError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)
from modelrouter.providers.types import ProviderCall, ProviderResult, ResultToolCall, Usage
from modelrouter.request import parse_chat_request

MODEL = ModelSpec.model_validate(model_entry("m"))
MODEL_ID = "vendor.m-v1:0"
METADATA = {"modelrouter_request_id": "req-1"}
PNG = b"\x89PNG\r\n\x1a\n fake image"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
WEATHER_SPEC = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
    "required": ["city", "temp"],
}


def runtime_client() -> Any:
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def make_call(body: dict[str, Any], *, timeout_s: float = 5.0, max_tokens: int = 256) -> ProviderCall:
    return ProviderCall(
        model=MODEL,
        request=parse_chat_request(body),
        max_output_tokens=max_tokens,
        timeout_s=timeout_s,
        request_id="req-1",
    )


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def converse_response(
    content: list[dict[str, Any]],
    stop_reason: str = "end_turn",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": usage or {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 42},
    }


def expected_request(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "modelId": MODEL_ID,
        "messages": messages,
        "inferenceConfig": {"maxTokens": 256},
        "requestMetadata": METADATA,
        **extra,
    }


def complete_stubbed(
    call: ProviderCall, response: dict[str, Any], expected: dict[str, Any] | None = None
) -> ProviderResult:
    """Run ``call`` through the provider with a stubbed client expecting exactly ``expected``."""
    client = runtime_client()
    regions: list[str] = []

    def factory(region: str) -> Any:
        regions.append(region)
        return client

    with Stubber(client) as stubber:
        stubber.add_response("converse", response, expected)
        result = BedrockProvider(client_factory=factory).complete(call)
        stubber.assert_no_pending_responses()
    assert regions == ["us-east-1"]
    return result


def shape_constraint(shape_name: str, member: str | None = None) -> dict[str, Any]:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.shape_for(shape_name)
    target = shape.members[member] if member else shape
    return dict(target.metadata)


# --- requests -----------------------------------------------------------------------------------


def test_plain_text_chat_maps_system_and_user_messages() -> None:
    # Given a system message, a developer message and two user turns in a row
    call = make_call(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
                user("Hello"),
                {"role": "user", "content": [{"type": "text", "text": "How warm is it?"}]},
            ]
        }
    )
    expected = expected_request(
        [{"role": "user", "content": [{"text": "Hello"}, {"text": "How warm is it?"}]}],
        system=[{"text": "Be brief."}, {"text": "Use metric units."}],
    )

    # When it is completed
    result = complete_stubbed(call, converse_response([{"text": "Hi"}, {"text": " there"}]), expected)

    # Then system texts go to `system`, the user turns are merged, and the answer is normalized
    assert result == ProviderResult(
        content="Hi there",
        finish_reason="stop",
        usage=Usage(input_tokens=10, output_tokens=5),
        reported_model=MODEL_ID,
        provider_latency_ms=42.0,
    )


def test_multi_turn_with_tool_calls_and_results_merges_and_alternates() -> None:
    # Given an assistant turn with two tool calls (and empty text), two tool results and a follow-up
    call = make_call(
        {
            "messages": [
                user("Weather in Paris and Rome?"),
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "24 C"}]},
                user("And in Oslo?"),
            ],
            "tools": [WEATHER_TOOL],
        }
    )
    expected = expected_request(
        [
            {"role": "user", "content": [{"text": "Weather in Paris and Rome?"}]},
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                    {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {"city": "Rome"}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "call_1",
                            "content": [{"text": "18 C"}],
                            "status": "success",
                        }
                    },
                    {
                        "toolResult": {
                            "toolUseId": "call_2",
                            "content": [{"text": "24 C"}],
                            "status": "success",
                        }
                    },
                ],
            },
            {"role": "assistant", "content": [{"text": BRIDGE_TEXT}]},
            {"role": "user", "content": [{"text": "And in Oslo?"}]},
        ],
        toolConfig={"tools": [WEATHER_SPEC]},
    )
    answer = converse_response(
        [
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "tooluse_9", "name": "get_weather", "input": {"city": "Oslo"}}},
        ],
        stop_reason="tool_use",
    )

    # When it is completed
    result = complete_stubbed(call, answer, expected)

    # Then the results share one user turn, a bridge separates them from the new question,
    # and the answer's toolUse comes back as an OpenAI-shaped tool call
    assert result.tool_calls == (
        ResultToolCall(id="tooluse_9", name="get_weather", arguments='{"city": "Oslo"}'),
    )
    assert result.finish_reason == "tool_calls"
    assert result.content == "Checking."


def test_tool_call_ids_outside_the_service_pattern_are_replaced_consistently() -> None:
    # Given a call id with characters a toolUseId may not contain
    odd = "call#1 with spaces and a very long suffix that goes well beyond sixty-four characters"

    # When it is mapped for a tool call and for its result
    call = make_call(
        {
            "messages": [
                user("hi"),
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": odd, "type": "function", "function": {"name": "f", "arguments": ""}}
                    ],
                },
                {"role": "tool", "tool_call_id": odd, "content": "done"},
            ],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        }
    )
    messages = to_converse_request(call)["messages"]

    # Then both carry the same id, which fits the service pattern; empty arguments are an empty object
    pattern = shape_constraint("ToolUseBlock", "toolUseId")["pattern"]
    use, result = messages[1]["content"][0]["toolUse"], messages[2]["content"][0]["toolResult"]
    assert use["toolUseId"] == result["toolUseId"] == tool_use_id(odd)
    assert re.fullmatch(pattern, use["toolUseId"])
    assert len(use["toolUseId"]) <= 64
    assert use["input"] == {}
    assert tool_use_id("tooluse_abc-1.2:3") == "tooluse_abc-1.2:3"


def test_tool_call_arguments_that_are_not_a_json_object_are_rejected() -> None:
    # Given an earlier tool call whose arguments are not a JSON object
    call = make_call(
        {
            "messages": [
                user("hi"),
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "x"},
            ],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        }
    )

    # When / Then mapping it fails as a bad request naming the call
    with pytest.raises(BadRequestError, match="c1"):
        to_converse_request(call)


def test_image_data_uri_is_sent_inline_as_bytes() -> None:
    # Given a user turn with text and a base64 JPEG data URI
    data = base64.b64encode(PNG).decode()
    call = make_call(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}},
                    ],
                }
            ]
        }
    )
    expected = expected_request(
        [
            {
                "role": "user",
                "content": [
                    {"text": "What is this?"},
                    {"image": {"format": "jpeg", "source": {"bytes": PNG}}},
                ],
            }
        ]
    )

    # When it is completed, Then the image goes as decoded bytes with its format
    result = complete_stubbed(call, converse_response([{"text": "A cat."}]), expected)
    assert result.content == "A cat."


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.com/cat.png", "inline images"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "png, jpeg, gif and webp"),
        ("data:image/png;base64,not base64!", "not valid base64"),
    ],
)
def test_unusable_images_are_rejected_before_any_call(url: str, message: str) -> None:
    # Given an image Bedrock cannot take (other schemes never get past parse_chat_request)
    call = make_call(
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}
    )
    client = runtime_client()

    # When it is completed with a stubbed client that expects no call
    with Stubber(client), pytest.raises(BadRequestError, match=message) as caught:
        BedrockProvider(client_factory=lambda region: client).complete(call)

    # Then it is a bad request that is not retried
    assert caught.value.retryable is False


def test_json_schema_without_tools_forces_a_schema_tool_and_returns_json_content() -> None:
    # Given a json_schema request without tools
    call = make_call(
        {
            "messages": [user("Weather in Paris as JSON")],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "weather", "description": "The weather", "schema": ANSWER_SCHEMA},
            },
        }
    )
    expected = expected_request(
        [{"role": "user", "content": [{"text": "Weather in Paris as JSON"}]}],
        toolConfig={
            "tools": [
                {
                    "toolSpec": {
                        "name": "weather",
                        "description": "The weather",
                        "inputSchema": {"json": ANSWER_SCHEMA},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "weather"}},
        },
    )
    answer = converse_response(
        [{"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"city": "Paris", "temp": 18.5}}}],
        stop_reason="tool_use",
    )

    # When it is completed
    result = complete_stubbed(call, answer, expected)

    # Then the forced tool's input is the answer's JSON content, with no tool calls
    assert json.loads(result.content or "") == {"city": "Paris", "temp": 18.5}
    assert result.tool_calls == ()
    assert result.finish_reason == "stop"


def test_json_schema_with_request_tools_falls_back_to_a_system_instruction() -> None:
    # Given a json_schema request that also offers tools
    call = make_call(
        {
            "messages": [user("Weather in Paris as JSON")],
            "tools": [WEATHER_TOOL],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "weather", "schema": ANSWER_SCHEMA},
            },
        }
    )

    # When it is mapped
    kwargs = to_converse_request(call)

    # Then the request's tools are offered unforced and the schema is in an appended instruction
    assert kwargs["toolConfig"] == {"tools": [WEATHER_SPEC]}
    assert kwargs["system"] == [{"text": json_schema_instruction(ANSWER_SCHEMA, "weather")}]

    # And a text answer comes back as text for the executor to validate
    text = '{"city": "Paris", "temp": 18}'
    result = complete_stubbed(call, converse_response([{"text": text}]), kwargs)
    assert (result.content, result.tool_calls) == (text, ())


def test_json_schema_that_is_not_an_object_uses_the_instruction() -> None:
    # Given a schema whose root is an array (tool inputs must be objects)
    call = make_call(
        {
            "messages": [user("List cities")],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "cities", "schema": {"type": "array", "items": {"type": "string"}}},
            },
        }
    )

    # When it is mapped, Then no tool is forced
    kwargs = to_converse_request(call)
    assert "toolConfig" not in kwargs
    assert kwargs["system"] == [
        {"text": json_schema_instruction({"type": "array", "items": {"type": "string"}}, "cities")}
    ]


def test_json_object_appends_an_instruction() -> None:
    # Given a json_object request with a system message
    call = make_call(
        {
            "messages": [{"role": "system", "content": "Be brief."}, user("Give me a JSON object")],
            "response_format": {"type": "json_object"},
        }
    )

    # When it is mapped, Then the instruction follows the request's own system text
    assert to_converse_request(call)["system"] == [{"text": "Be brief."}, {"text": JSON_OBJECT_INSTRUCTION}]


@pytest.mark.parametrize(
    ("tool_choice", "expected_choice"),
    [
        (None, None),
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_variants(tool_choice: Any, expected_choice: dict[str, Any] | None) -> None:
    # Given a request with a tool and a tool_choice
    body: dict[str, Any] = {"messages": [user("Weather?")], "tools": [WEATHER_TOOL]}
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    tool_config: dict[str, Any] = {"tools": [WEATHER_SPEC]}
    if expected_choice is not None:
        tool_config["toolChoice"] = expected_choice
    expected = expected_request([{"role": "user", "content": [{"text": "Weather?"}]}], toolConfig=tool_config)

    # When it is completed, Then the choice maps to Converse's union
    complete_stubbed(make_call(body), converse_response([{"text": "Sunny"}]), expected)


def test_tool_choice_none_omits_tools_and_renders_tool_history_as_text() -> None:
    # Given tool_choice none on a conversation that already used a tool
    call = make_call(
        {
            "messages": [
                user("Weather?"),
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "18 C"},
                user("Summarize without tools."),
            ],
            "tools": [WEATHER_TOOL],
            "tool_choice": "none",
        }
    )
    expected = expected_request(
        [
            {"role": "user", "content": [{"text": "Weather?"}]},
            {"role": "assistant", "content": [{"text": "[tool call c1: get_weather({})]"}]},
            {
                "role": "user",
                "content": [{"text": "[tool result c1]: 18 C"}, {"text": "Summarize without tools."}],
            },
        ]
    )

    # When it is completed, Then no toolConfig is sent (Converse rejects tool blocks without one)
    complete_stubbed(call, converse_response([{"text": "It is 18 C."}]), expected)


@pytest.mark.parametrize(
    ("fields", "inference"),
    [
        (
            {"stop": "END", "temperature": 0.2, "top_p": 0.9},
            {"stopSequences": ["END"], "temperature": 0.2, "topP": 0.9},
        ),
        ({"stop": ["a", "", "b"], "temperature": 0}, {"stopSequences": ["a", "b"], "temperature": 0}),
        ({"temperature": 1.7}, {"temperature": 1.0}),
    ],
)
def test_sampling_fields_map_to_inference_config(fields: dict[str, Any], inference: dict[str, Any]) -> None:
    # Given sampling fields on the request and a call's answer budget
    call = make_call({"messages": [user("Hi")], **fields}, max_tokens=99)
    expected = expected_request(
        [{"role": "user", "content": [{"text": "Hi"}]}], inferenceConfig={"maxTokens": 99, **inference}
    )

    # When it is completed, Then they map to inferenceConfig, temperature within Converse's range
    complete_stubbed(call, converse_response([{"text": "Hello"}]), expected)
    assert (
        expected["inferenceConfig"].get("temperature", 0)
        <= shape_constraint("InferenceConfiguration", "temperature")["max"]
    )


def test_request_metadata_fits_the_service_pattern() -> None:
    # Given the service model's key and value patterns for requestMetadata
    shape = botocore.session.get_session().get_service_model("bedrock-runtime").shape_for("RequestMetadata")
    key_pattern, value_pattern = shape.key.metadata["pattern"], shape.value.metadata["pattern"]

    # When request ids of every kind are fitted
    values = [request_metadata_value(raw) for raw in ("req-1", "a|b\u00e9c<d>", "x" * 300)]

    # Then the key and every value match the patterns, odd characters replaced and length capped
    assert re.fullmatch(key_pattern, "modelrouter_request_id")
    assert all(re.fullmatch(value_pattern, value) for value in values)
    assert values[:2] == ["req-1", "a_b_c_d_"]
    assert len(values[2]) == 256


def test_a_conversation_of_system_messages_only_is_rejected() -> None:
    # Given only a system message (Converse needs a user or assistant turn)
    call = make_call({"messages": [{"role": "system", "content": "Be brief."}]})

    # When / Then it is a bad request
    with pytest.raises(BadRequestError, match="at least one"):
        to_converse_request(call)


# --- responses ----------------------------------------------------------------------------------


def test_usage_with_cache_tokens_is_passed_through() -> None:
    # Given a response whose usage reports cache reads and writes (inputTokens excludes them)
    usage = {
        "inputTokens": 12,
        "outputTokens": 7,
        "totalTokens": 1319,
        "cacheReadInputTokens": 1000,
        "cacheWriteInputTokens": 300,
    }

    # When it is completed
    result = complete_stubbed(
        make_call({"messages": [user("Hi")]}), converse_response([{"text": "Hi"}], usage=usage)
    )

    # Then input tokens stay the uncached ones and the cache counts are reported apart
    assert result.usage == Usage(
        input_tokens=12, output_tokens=7, cache_read_tokens=1000, cache_write_tokens=300
    )


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("content_filtered", "content_filter"),
        ("guardrail_intervened", "content_filter"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str, finish: str) -> None:
    # Given a response with a stop reason
    response = converse_response([{"text": "partial"}], stop_reason=stop_reason)

    # When it is completed, Then the finish reason is the OpenAI equivalent
    assert complete_stubbed(make_call({"messages": [user("Hi")]}), response).finish_reason == finish


@pytest.mark.parametrize("stop_reason", ["malformed_model_output", "malformed_tool_use"])
def test_malformed_output_stop_reasons_are_retryable_errors(stop_reason: str) -> None:
    # Given a response saying the model's output could not be read
    response = converse_response([{"text": "?"}], stop_reason=stop_reason)

    # When / Then it is a malformed response, which the executor may retry
    with pytest.raises(MalformedResponseError, match=stop_reason):
        complete_stubbed(make_call({"messages": [user("Hi")]}), response)


@pytest.mark.parametrize("output", [{}, {"message": {"role": "assistant"}}, None])
def test_a_response_without_output_message_is_malformed(output: Any) -> None:
    # Given a response without output.message (the Stubber refuses to return one, so map it directly)
    response = {"output": output, "stopReason": "end_turn", "usage": {}, "metrics": {}}

    # When / Then it is a malformed response
    with pytest.raises(MalformedResponseError, match=r"output\.message"):
        from_converse_response(response, make_call({"messages": [user("Hi")]}))


def test_request_id_of_the_response_is_the_response_id() -> None:
    # Given a response with botocore's ResponseMetadata
    response = {**converse_response([{"text": "Hi"}]), "ResponseMetadata": {"RequestId": "abc-123"}}

    # When it is mapped, Then the AWS request id identifies the response
    assert from_converse_response(response, make_call({"messages": [user("Hi")]})).response_id == "abc-123"


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "message", "error_class"),
    [
        ("ThrottlingException", 429, "Too many requests, please wait.", RateLimitedError),
        ("ServiceQuotaExceededException", 400, "Quota exceeded.", RateLimitedError),
        ("ServiceUnavailableException", 503, "Service unavailable.", OverloadedError),
        ("ModelNotReadyException", 429, "Model is not ready.", OverloadedError),
        ("ModelTimeoutException", 408, "Model timed out.", ProviderTimeoutError),
        ("InternalServerException", 500, "Internal error.", ProviderServerError),
        ("ModelErrorException", 424, "The model failed.", ProviderServerError),
        ("ValidationException", 400, "Input is too long for requested model.", ContextTooLongError),
        ("ValidationException", 400, "messages.1.content: blank text", BadRequestError),
        ("AccessDeniedException", 403, "You don't have access to the model.", AuthError),
        ("UnrecognizedClientException", 403, "The security token is invalid.", AuthError),
        ("ResourceNotFoundException", 404, "Model not found.", ModelNotFoundError),
        ("SomethingNewException", 502, "Bad gateway.", ProviderServerError),
        ("SomethingElseException", 400, "Odd.", BadRequestError),
    ],
)
def test_service_errors_map_to_the_error_tree(
    code: str, status: int, message: str, error_class: type[ProviderError]
) -> None:
    # Given the service answering with an error code
    client = runtime_client()
    provider = BedrockProvider(client_factory=lambda region: client)

    # When the call is made
    with Stubber(client) as stubber:
        stubber.add_client_error("converse", code, message, http_status_code=status)
        with pytest.raises(ProviderError) as caught:
            provider.complete(make_call({"messages": [user("Hi")]}))

    # Then it is the mapped class, naming the provider and the status
    assert type(caught.value) is error_class
    assert (caught.value.provider, caught.value.status) == ("bedrock", status)
    assert code in caught.value.message


@pytest.mark.parametrize(
    "message",
    [
        "Input is too long for requested model.",
        "The model returned the following errors: prompt is too long: 200049 tokens > 200000 maximum",
        "The model returned the following errors: input length and `max_tokens` exceed context limit:"
        " 196395 + 64000 > 204698, decrease input length or `max_tokens` and try again",
        "This model's maximum context length is 1048576 tokens. Please reduce the length of the prompt.",
        "400 Bad Request: Too many input tokens. Max input tokens: 8192, request input token count: 9279",
        "Malformed input request: expected maxLength: 50000, actual: 52611, please reformat your input",
        "The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum"
        " tokens value that is lower than 4096.",
    ],
)
def test_too_long_validation_messages_are_context_too_long(message: str) -> None:
    # Given a real "too long" ValidationException message, When it is mapped, Then it is context-too-long
    assert type(error_from_client_error("ValidationException", message, 400)) is ContextTooLongError


@pytest.mark.parametrize(
    ("raised", "error_class"),
    [
        (ReadTimeoutError(endpoint_url="https://bedrock"), ProviderTimeoutError),
        (ConnectTimeoutError(endpoint_url="https://bedrock"), ProviderTimeoutError),
        (EndpointConnectionError(endpoint_url="https://bedrock"), ProviderConnectionError),
        (ConnectionClosedError(endpoint_url="https://bedrock"), ProviderConnectionError),
        (
            SSLError(endpoint_url="https://bedrock", error="certificate verify failed"),
            ProviderConnectionError,
        ),
    ],
)
def test_transport_errors_map_to_retryable_errors(
    raised: Exception, error_class: type[ProviderError]
) -> None:
    # Given a client whose call fails in transport
    class FailingClient:
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            raise raised

    provider = BedrockProvider(client_factory=lambda region: FailingClient())

    # When / Then the failure is the mapped retryable class
    with pytest.raises(error_class) as caught:
        provider.complete(make_call({"messages": [user("Hi")]}))
    assert caught.value.retryable is True


def test_botocore_parameter_validation_is_a_bad_request_without_values() -> None:
    # Given a real client whose own validation refuses a parameter holding prompt text
    secret = "do not leak this prompt"
    call = make_call({"messages": [user(secret)]})
    client = runtime_client()

    class BrokenClient:
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            result: dict[str, Any] = client.converse(**{**kwargs, "inferenceConfig": {"maxTokens": secret}})
            return result

    # When it is called, Then the error names the parameter but not its value
    with pytest.raises(BadRequestError) as caught:
        BedrockProvider(client_factory=lambda region: BrokenClient()).complete(call)
    assert "inferenceConfig.maxTokens" in caught.value.message
    assert secret not in caught.value.message


# --- deadlines and clients ----------------------------------------------------------------------


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_a_hanging_call_times_out_at_the_call_deadline(release: threading.Event) -> None:
    # Given a client whose call hangs far longer than the call's 0.2 s budget
    class HangingClient:
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            release.wait(10)
            return converse_response([{"text": "too late"}])

    provider = BedrockProvider(client_factory=lambda region: HangingClient())

    # When the call is made
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match=r"0\.2 s"):
        provider.complete(make_call({"messages": [user("Hi")]}, timeout_s=0.2))

    # Then it gives up at the deadline, not when the call ends
    assert time.monotonic() - started < 1.5


def test_one_client_per_region_is_created_once_across_threads() -> None:
    # Given a factory that counts the clients it creates
    created: list[str] = []
    lock = threading.Lock()

    class QuickClient:
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            return converse_response([{"text": "ok"}])

    def factory(region: str) -> Any:
        with lock:
            created.append(region)
        time.sleep(0.01)
        return QuickClient()

    provider = BedrockProvider(client_factory=factory)
    call = make_call({"messages": [user("Hi")]})

    # When many calls run at once
    threads = [threading.Thread(target=provider.complete, args=(call,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then a single client was created for the region
    assert created == ["us-east-1"]


def test_importing_the_provider_does_not_import_boto3() -> None:
    # Given a fresh interpreter, When the package is imported, Then boto3 and botocore are not loaded
    code = (
        "import sys, modelrouter.providers.bedrock; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False False"


def test_the_default_factory_makes_single_attempt_clients() -> None:
    # Given the default factory pointed at a local endpoint
    from modelrouter.providers.bedrock import default_client_factory

    # When it creates a client
    client = default_client_factory(endpoint_url="http://localhost:9", read_timeout_s=7)("eu-west-1")

    # Then botocore will not retry on its own and the timeouts and endpoint are set
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.read_timeout == 7
    assert client.meta.endpoint_url == "http://localhost:9"
    assert client.meta.region_name == "eu-west-1"


# --- guardrail ----------------------------------------------------------------------------------

GUARDRAIL = BedrockGuardrailCheck(id="gr123abc", version="3", region="eu-west-1")
GUARDRAIL_USAGE = {
    "topicPolicyUnits": 1,
    "contentPolicyUnits": 1,
    "wordPolicyUnits": 1,
    "sensitiveInformationPolicyUnits": 1,
    "sensitiveInformationPolicyFreeUnits": 0,
    "contextualGroundingPolicyUnits": 0,
}


def apply_stubbed(check: BedrockGuardrailCheck, text: str, response: dict[str, Any]) -> Any:
    client = runtime_client()
    regions: list[str] = []

    def factory(region: str) -> Any:
        regions.append(region)
        return client

    expected = {
        "guardrailIdentifier": check.id,
        "guardrailVersion": check.version,
        "source": "OUTPUT",
        "content": [{"text": {"text": text}}],
    }
    with Stubber(client) as stubber:
        stubber.add_response("apply_guardrail", response, expected)
        verdict = BedrockGuardrailService(client_factory=factory, default_region="us-east-1").apply(
            check, text, 2.0
        )
        stubber.assert_no_pending_responses()
    return verdict, regions


def test_guardrail_that_intervenes_names_the_policies_but_not_the_text() -> None:
    # Given ApplyGuardrail intervening on a topic, a content filter, a custom word and PII
    response = {
        "usage": GUARDRAIL_USAGE,
        "action": "GUARDRAIL_INTERVENED",
        "outputs": [{"text": "Sorry, I cannot answer that."}],
        "assessments": [
            {
                "topicPolicy": {
                    "topics": [{"name": "investment-advice", "type": "DENY", "action": "BLOCKED"}]
                },
                "contentPolicy": {
                    "filters": [
                        {"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED"},
                        {"type": "INSULTS", "confidence": "LOW", "action": "NONE"},
                    ]
                },
                "wordPolicy": {
                    "customWords": [{"match": "buy ACME", "action": "BLOCKED"}],
                    "managedWordLists": [],
                },
                "sensitiveInformationPolicy": {
                    "piiEntities": [{"match": "jane@example.com", "type": "EMAIL", "action": "ANONYMIZED"}],
                    "regexes": [],
                },
            }
        ],
    }

    # When the answer is assessed
    verdict, regions = apply_stubbed(GUARDRAIL, "You should buy ACME, mail jane@example.com", response)

    # Then it intervened, naming what fired and never the matched text
    assert verdict.intervened is True
    assert verdict.detail == (
        "guardrail gr123abc intervened: topic investment-advice, content filter VIOLENCE,"
        " custom words (1), PII EMAIL"
    )
    assert "ACME" not in verdict.detail
    assert "jane" not in verdict.detail
    assert regions == ["eu-west-1"]


def test_guardrail_that_does_not_intervene_passes() -> None:
    # Given ApplyGuardrail taking no action on a check without a region
    check = BedrockGuardrailCheck(id="gr123abc", version="DRAFT")
    response = {"usage": GUARDRAIL_USAGE, "action": "NONE", "outputs": [], "assessments": [{}]}

    # When the answer is assessed
    verdict, regions = apply_stubbed(check, "The weather is fine.", response)

    # Then it passes, and the service's default region was used
    assert verdict.intervened is False
    assert regions == ["us-east-1"]


def test_guardrail_region_comes_from_its_arn() -> None:
    # Given a guardrail named by ARN and no region on the check
    check = BedrockGuardrailCheck(
        id="arn:aws:bedrock:ap-southeast-2:123456789012:guardrail/abc123", version="1"
    )
    response = {"usage": GUARDRAIL_USAGE, "action": "NONE", "outputs": [], "assessments": []}

    # When it is applied, Then the ARN's region is used
    assert apply_stubbed(check, "ok", response)[1] == ["ap-southeast-2"]


def test_guardrail_errors_are_mapped_like_model_errors() -> None:
    # Given ApplyGuardrail throttled
    client = runtime_client()
    service = BedrockGuardrailService(client_factory=lambda region: client)

    # When the answer is assessed, Then the error is a rate limit
    with Stubber(client) as stubber:
        stubber.add_client_error("apply_guardrail", "ThrottlingException", "Slow down.", http_status_code=429)
        with pytest.raises(RateLimitedError):
            service.apply(GUARDRAIL, "text", 2.0)


def test_guardrail_skips_empty_answers() -> None:
    # Given an empty answer, When it is assessed, Then no call is made and it passes
    service = BedrockGuardrailService(client_factory=lambda region: pytest.fail("no client expected"))
    assert service.apply(GUARDRAIL, "  ", 1.0).intervened is False
