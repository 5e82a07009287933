"""The Anthropic provider: Messages API requests as sent, answers and failures as received.

Response and error fixtures follow the Messages API reference (``type: message`` objects, and
``{"type": "error", "error": {...}, "request_id"}`` bodies).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from tests.helpers import model_entry

from modelrouter.policy.catalog import ModelSpec
from modelrouter.providers.anthropic import AnthropicProvider
from modelrouter.providers.end_user import end_user_id
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
from modelrouter.providers.secrets import StaticKeyResolver
from modelrouter.providers.types import ProviderCall, ProviderResult, ResultToolCall, Usage
from modelrouter.request import parse_chat_request

KEY = "sk-ant-api03-TESTKEY0123456789abcdef"
URL = "https://api.anthropic.com/v1/messages"
MODEL_ID = "claude-sonnet-4-5-20250929"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "result", "schema": SCHEMA}}


def model(**overrides: Any) -> ModelSpec:
    entry = model_entry(
        "claude",
        provider="anthropic",
        region=None,
        model_id=MODEL_ID,
        api_key={"secretsmanager": "anthropic/key"},
    )
    entry.update(overrides)
    return ModelSpec.model_validate({name: value for name, value in entry.items() if value is not None})


def call(spec: ModelSpec | None = None, **fields: Any) -> ProviderCall:
    body = {"messages": [{"role": "user", "content": "What is 6 x 7?"}], **fields}
    return ProviderCall(
        model=spec or model(),
        request=parse_chat_request(body),
        max_output_tokens=1024,
        timeout_s=20.0,
        request_id="req-0001",
    )


def message(
    content: list[dict[str, Any]] | None = None, stop_reason: str | None = "end_turn", **usage: int
) -> dict[str, Any]:
    """A Messages API response object."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": MODEL_ID,
        "content": content if content is not None else [{"type": "text", "text": "42"}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 25,
            "output_tokens": 4,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
            **usage,
        },
    }


def error_body(error_type: str, text: str) -> dict[str, Any]:
    """A Messages API error body."""
    return {
        "type": "error",
        "error": {"type": error_type, "message": text},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def provider() -> Iterator[AnthropicProvider]:
    with httpx.Client() as client:
        yield AnthropicProvider(StaticKeyResolver({"anthropic/key": KEY}), client=client)


def sent_body(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


# Requests as sent


def test_request_is_sent_in_messages_api_shape(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given system and developer instructions, two user turns in a row and sampling settings
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))
    request = call(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer with a number."}]},
            {"role": "user", "content": "Hi."},
            {"role": "user", "content": "What is 6 x 7?"},
        ],
        temperature=1.5,
        top_p=0.5,
        stop="\n\nHuman:",
        user="alice@example.com",
    )

    # When it is sent
    provider.complete(request)

    # Then instructions go to `system`, same-role turns are merged, temperature is capped
    assert sent_body(route) == {
        "model": MODEL_ID,
        "max_tokens": 1024,
        "system": "Be brief.\n\nAnswer with a number.",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi."}, {"type": "text", "text": "What is 6 x 7?"}],
            }
        ],
        "temperature": 1.0,
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": end_user_id(request.request)},
    }
    # And the key is only in x-api-key, next to the API version
    sent = route.calls.last.request
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert KEY not in str(sent.url)
    assert KEY.encode() not in sent.content
    assert not [name for name, value in sent.headers.items() if KEY in value and name != "x-api-key"]
    assert b"alice@example.com" not in sent.content
    assert sent.extensions["timeout"]["read"] == 20.0


def test_top_p_is_sent_without_temperature(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given only top_p
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))

    # When it is sent, then top_p is kept
    provider.complete(call(top_p=0.8))
    assert sent_body(route)["top_p"] == 0.8


def test_sampling_parameters_go_to_claude_unless_it_thinks(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a model that can think, and sampling settings
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))
    spec = model(capabilities=["reasoning", "tools"])

    # When it is sent without thinking, then the temperature goes (Claude refuses it only while thinking)
    provider.complete(call(spec, temperature=0.2, top_p=0.8))
    body = sent_body(route)
    assert body["temperature"] == 0.2
    assert "top_p" not in body  # never beside temperature

    # When it is sent with a thinking budget, then neither goes
    thinking = call(spec, temperature=0.2, top_p=0.8, reasoning_effort="low")
    provider.complete(dataclasses.replace(thinking, max_output_tokens=8000))
    body = sent_body(route)
    assert body["thinking"]["type"] == "enabled"
    assert "temperature" not in body
    assert "top_p" not in body


@pytest.mark.parametrize(
    "base_url", ["https://llm-gateway.internal/anthropic", "https://llm-gateway.internal/anthropic/v1/"]
)
def test_custom_base_urls_get_the_messages_path(api: respx.MockRouter, base_url: str) -> None:
    # Given a model behind a gateway
    route = api.post("https://llm-gateway.internal/anthropic/v1/messages").mock(
        return_value=httpx.Response(200, json=message())
    )
    with httpx.Client() as client:
        provider = AnthropicProvider(StaticKeyResolver({"anthropic/key": KEY}), client=client)

        # When it is called, then the Messages path is appended once
        provider.complete(call(model(base_url=base_url)))
    assert route.called


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"tool_choice": "auto"}, {"type": "auto"}),
        ({"tool_choice": "required"}, {"type": "any"}),
        ({"tool_choice": "none"}, {"type": "none"}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
            {"type": "tool", "name": "get_weather"},
        ),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
        (
            {"tool_choice": "required", "parallel_tool_calls": False},
            {"type": "any", "disable_parallel_tool_use": True},
        ),
    ],
)
def test_tools_and_tool_choice_are_mapped(
    api: respx.MockRouter,
    provider: AnthropicProvider,
    fields: dict[str, Any],
    expected: dict[str, Any] | None,
) -> None:
    # Given a request with a tool
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))

    # When it is sent
    provider.complete(call(tools=[WEATHER], **fields))

    # Then the tool has an input_schema and the choice is Anthropic's
    body = sent_body(route)
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "input_schema": WEATHER["function"]["parameters"],  # type: ignore[index]
        }
    ]
    assert body.get("tool_choice") == expected


def test_tool_history_becomes_tool_use_and_tool_result_blocks(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given an assistant turn with text and two tool calls, their results, and a follow-up question
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))
    history = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "toolu_02",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "not json"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_01", "content": '{"temp_c": 18}'},
        {"role": "tool", "tool_call_id": "toolu_02", "content": [{"type": "text", "text": "22 C"}]},
        {"role": "user", "content": "Which is warmer?"},
    ]

    # When it is sent
    provider.complete(call(messages=history, tools=[WEATHER]))

    # Then turns alternate and the tool results lead the user turn that follows
    assert sent_body(route)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
                {
                    "type": "tool_use",
                    "id": "toolu_02",
                    "name": "get_weather",
                    "input": {"_raw_arguments": "not json"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": '{"temp_c": 18}'},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": "22 C"},
                {"type": "text", "text": "Which is warmer?"},
            ],
        },
    ]


def test_empty_tool_results_have_no_content(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given a tool that returned nothing
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))
    call_ = {"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    history = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call_]},
        {"role": "tool", "tool_call_id": "toolu_01", "content": ""},
    ]

    # When it is sent, then the result block has no (empty) content
    provider.complete(call(messages=history, tools=[WEATHER]))
    assert sent_body(route)["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01"}],
    }


def test_images_become_base64_and_url_sources(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given a data-URI image and an https image
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))
    parts = [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}},
    ]

    # When it is sent
    provider.complete(call(messages=[{"role": "user", "content": parts}]))

    # Then each becomes an image block of the matching source type
    assert sent_body(route)["messages"][0]["content"] == [
        {"type": "text", "text": "Compare these."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


@pytest.mark.parametrize("url", ["data:image/svg+xml;base64,PHN2Zz4="])
def test_unusable_images_are_refused_before_sending(
    api: respx.MockRouter, provider: AnthropicProvider, url: str
) -> None:
    # Given an image Anthropic cannot take (other schemes never get past parse_chat_request)
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))
    parts = [{"type": "image_url", "image_url": {"url": url}}]

    # When it is called, then it fails as a bad request without a call
    with pytest.raises(BadRequestError):
        provider.complete(call(messages=[{"role": "user", "content": parts}]))
    assert not route.called


# JSON answers


def test_json_schema_answers_use_a_forced_tool(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given a JSON-schema request without tools, and Claude's forced tool call
    answer = [{"type": "tool_use", "id": "toolu_01A", "name": "result", "input": {"answer": 42}}]
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message(answer, "tool_use")))

    # When it is sent
    result = provider.complete(
        call(
            messages=[{"role": "system", "content": "Be exact."}, {"role": "user", "content": "6 x 7?"}],
            response_format=SCHEMA_FORMAT,
        )
    )

    # Then one tool with the schema is forced, and no instruction is added
    body = sent_body(route)
    assert body["tools"] == [
        {"name": "result", "description": "Give your answer as this tool's input.", "input_schema": SCHEMA}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "result"}
    assert body["system"] == "Be exact."
    # And the tool input comes back as the JSON answer text
    assert (result.content, result.tool_calls, result.finish_reason) == ('{"answer": 42}', (), "stop")


def test_json_schema_with_own_tools_uses_an_instruction(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a JSON-schema request that has tools of its own
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))

    # When it is sent
    provider.complete(call(tools=[WEATHER], response_format=SCHEMA_FORMAT))

    # Then its tools are kept and the schema goes into the system prompt
    body = sent_body(route)
    assert [tool["name"] for tool in body["tools"]] == ["get_weather"]
    assert "tool_choice" not in body
    assert json.dumps(SCHEMA, sort_keys=True, separators=(",", ":")) in body["system"]


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "list", "schema": {"type": "array"}}},
    ],
)
def test_other_json_answers_use_an_instruction(
    api: respx.MockRouter, provider: AnthropicProvider, response_format: dict[str, Any]
) -> None:
    # Given a JSON object request, or a schema that cannot be a tool's input
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))

    # When it is sent, then only a system instruction asks for JSON
    provider.complete(call(response_format=response_format))
    body = sent_body(route)
    assert "tools" not in body
    assert "JSON" in body["system"]


# Answers as received


def test_answer_text_usage_model_and_id_are_returned(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given an answer in two text blocks that used the prompt cache
    content = [{"type": "text", "text": "The answer "}, {"type": "text", "text": "is 42."}]
    payload = message(
        content,
        input_tokens=21,
        output_tokens=393,
        cache_read_input_tokens=188086,
        cache_creation_input_tokens=1024,
    )
    api.post(URL).mock(return_value=httpx.Response(200, json=payload))

    # When the call completes
    result = provider.complete(call())

    # Then the text is joined and the cache counts are kept apart
    assert result == ProviderResult(
        content="The answer is 42.",
        finish_reason="stop",
        usage=Usage(input_tokens=21, output_tokens=393, cache_read_tokens=188086, cache_write_tokens=1024),
        reported_model=MODEL_ID,
        response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
    )


def test_tool_use_answers_are_returned(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given text followed by a tool call
    content: list[dict[str, Any]] = [
        {"type": "text", "text": "I'll check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"city": "Paris"},
        },
    ]
    api.post(URL).mock(return_value=httpx.Response(200, json=message(content, "tool_use")))

    # When the call completes, then the call's input is JSON text
    result = provider.complete(call(tools=[WEATHER]))
    assert result.content == "I'll check the weather."
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == (
        ResultToolCall(id="toolu_01A09q90qw90lq917835lq9", name="get_weather", arguments='{"city": "Paris"}'),
    )


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
        (None, "stop"),
    ],
)
def test_stop_reasons_are_normalized(
    api: respx.MockRouter, provider: AnthropicProvider, stop_reason: str | None, expected: str
) -> None:
    # Given an answer with a given stop reason
    api.post(URL).mock(return_value=httpx.Response(200, json=message(stop_reason=stop_reason)))

    # When the call completes, then the finish reason is one the contract knows
    assert provider.complete(call()).finish_reason == expected


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "msg_01", "type": "message", "content": [{"type": "te',
        b"<html>502</html>",
        json.dumps({key: value for key, value in message().items() if key != "content"}).encode(),
        json.dumps(message([{"type": "tool_use", "name": "f", "input": {}}])).encode(),
        json.dumps(message(["text"])).encode(),  # type: ignore[list-item]
    ],
    ids=["truncated", "html", "no-content", "tool-use-without-id", "block-not-object"],
)
def test_unreadable_answers_are_malformed(
    api: respx.MockRouter, provider: AnthropicProvider, body: bytes
) -> None:
    # Given a 200 whose body cannot be read as a message
    api.post(URL).mock(return_value=httpx.Response(200, content=body))

    # When the call completes, then it fails as malformed, which is worth retrying
    with pytest.raises(MalformedResponseError) as caught:
        provider.complete(call())
    assert caught.value.retryable


# Failures


@pytest.mark.parametrize(
    ("status", "error_type", "text", "expected"),
    [
        (400, "invalid_request_error", "messages: roles must alternate", BadRequestError),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 208310 tokens > 200000 maximum",
            ContextTooLongError,
        ),
        (
            400,
            "invalid_request_error",
            "input length and `max_tokens` exceed context limit: 197888 + 8192 > 200000",
            ContextTooLongError,
        ),
        (
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API.",
            AuthError,
        ),
        (401, "authentication_error", "invalid x-api-key", AuthError),
        (402, "billing_error", "Billing issue.", AuthError),
        (
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
            AuthError,
        ),
        (404, "not_found_error", f"model: {MODEL_ID}", ModelNotFoundError),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
            ContextTooLongError,
        ),
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            RateLimitedError,
        ),
        (500, "api_error", "Internal server error", ProviderServerError),
        (504, "timeout_error", "Request timed out", ProviderTimeoutError),
        (529, "overloaded_error", "Overloaded", OverloadedError),
    ],
)
def test_errors_map_by_status_and_type(
    api: respx.MockRouter,
    provider: AnthropicProvider,
    status: int,
    error_type: str,
    text: str,
    expected: type[ProviderError],
) -> None:
    # Given a failed call with Anthropic's error body
    api.post(URL).mock(return_value=httpx.Response(status, json=error_body(error_type, text)))

    # When it completes
    with pytest.raises(ProviderError) as caught:
        provider.complete(call())

    # Then the class is decided, and the message and request id are kept for support
    assert type(caught.value) is expected
    assert caught.value.status == status
    assert text[:40] in caught.value.message
    assert "req_011CSHoEeqs5C35K2UUqR7Fy" in caught.value.message


def test_spend_limits_are_not_retried(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given a 429 whose details say the organization's spend limit is reached
    body = error_body("rate_limit_error", "You have reached your specified API usage limits.")
    body["error"]["details"] = {"error_code": "enforced_spend_limit_reached"}
    api.post(URL).mock(return_value=httpx.Response(429, json=body, headers={"retry-after": "60"}))

    # When the call completes, then the executor moves on instead of waiting
    with pytest.raises(AuthError) as caught:
        provider.complete(call())
    assert not caught.value.retryable


def test_cloudflare_413_pages_map_by_status(api: respx.MockRouter, provider: AnthropicProvider) -> None:
    # Given an HTML 413 from the edge
    api.post(URL).mock(
        return_value=httpx.Response(
            413, text="<html><head><title>413 Request Entity Too Large</title></head></html>"
        )
    )

    # When the call completes, then it is too long, and the page is not quoted
    with pytest.raises(ContextTooLongError) as caught:
        provider.complete(call())
    assert "<html>" not in caught.value.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "750"}, 0.75),
        ({"retry-after": "Thu, 01 Jan 2099 00:00:00 GMT"}, None),
    ],
    ids=["seconds", "milliseconds", "http-date"],
)
def test_rate_limits_and_overload_carry_the_retry_hint(
    api: respx.MockRouter, provider: AnthropicProvider, headers: dict[str, str], expected: float | None
) -> None:
    # Given a 429 with a retry header
    body = error_body("rate_limit_error", "This request would exceed your rate limit.")
    api.post(URL).mock(return_value=httpx.Response(429, json=body, headers=headers))

    # When the call completes, then the hint is in seconds
    with pytest.raises(RateLimitedError) as caught:
        provider.complete(call())
    if expected is None:
        assert (caught.value.retry_after_s or 0) > 1_000_000
    else:
        assert caught.value.retry_after_s == expected


def test_echoed_keys_are_scrubbed_from_error_messages(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given an error that quotes the key
    api.post(URL).mock(
        return_value=httpx.Response(401, json=error_body("authentication_error", f"bad key {KEY}"))
    )

    # When the call completes, then the message names no key
    with pytest.raises(AuthError) as caught:
        provider.complete(call())
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ReadTimeout("The read operation timed out"), ProviderTimeoutError),
        (httpx.ConnectError("[Errno -2] Name or service not known"), ProviderConnectionError),
    ],
)
def test_timeouts_and_connection_errors_are_retryable(
    api: respx.MockRouter, provider: AnthropicProvider, raised: Exception, expected: type[ProviderError]
) -> None:
    # Given a transport failure
    api.post(URL).mock(side_effect=raised)

    # When the call completes, then the typed error is retryable
    with pytest.raises(expected) as caught:
        provider.complete(call())
    assert caught.value.retryable
    assert caught.value.provider == "anthropic"


def test_requests_with_only_system_text_are_refused(
    api: respx.MockRouter, provider: AnthropicProvider
) -> None:
    # Given a request with nothing but a system message
    route = api.post(URL).mock(return_value=httpx.Response(200, json=message()))

    # When it is called, then it fails as a bad request without a call
    with pytest.raises(BadRequestError):
        provider.complete(call(messages=[{"role": "system", "content": "Be brief."}]))
    assert not route.called
