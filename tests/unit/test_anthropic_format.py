"""Anthropic's Messages API on the router: the request in (strict, translated into the router's chat
request, what cannot be honoured reported), the ``Message`` and error objects out."""

from __future__ import annotations

import json
from typing import Any, get_args, get_type_hints

import pytest
from anthropic.types import (
    Base64ImageSourceParam,
    ImageBlockParam,
    OutputConfigParam,
    RedactedThinkingBlockParam,
    TextBlockParam,
    ThinkingBlockParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
    URLImageSourceParam,
    message_count_tokens_params,
    message_create_params,
)
from anthropic.types.tool_choice_param import ToolChoiceParam
from pydantic import BaseModel

from modelrouter.accounting.errors import BudgetExhaustedError
from modelrouter.api.anthropic_content import (
    Base64Source,
    ImageBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UrlSource,
)
from modelrouter.api.anthropic_format import parse_request, to_chat_request
from modelrouter.api.anthropic_message import STOP_REASONS, message, stop_reason, tool_input
from modelrouter.api.anthropic_request import CountTokensRequest, MessagesRequest, OutputConfig, Tool
from modelrouter.api.endpoints import RequestTooLargeError, UnauthorizedError
from modelrouter.api.messages_endpoint import error_response, header_metadata
from modelrouter.errors import (
    InvalidRequestError,
    ModelRouterError,
    ModelsCoolingDownError,
    PolicyError,
    RequestDeniedError,
)
from modelrouter.execution.records import AllCandidatesFailedError, Attempt, ExecutionResult
from modelrouter.providers.thinking import THINKING_BUDGETS
from modelrouter.providers.types import ProviderResult, ResultToolCall
from modelrouter.request import parse_chat_request

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
CITY_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER_TOOL = {"name": "get_weather", "description": "Weather in a city.", "input_schema": CITY_SCHEMA}


def _request(**fields: Any) -> dict[str, Any]:
    """A minimal valid Messages request with ``fields`` added."""
    return {"model": "auto", "max_tokens": 256, "messages": [{"role": "user", "content": "Hi"}], **fields}


def _block(block: dict[str, Any]) -> dict[str, Any]:
    """Request fields with one user turn holding ``block``."""
    return {"messages": [{"role": "user", "content": [block]}]}


def _parse(document: dict[str, Any], model: type[CountTokensRequest] = MessagesRequest) -> Any:
    return parse_request(json.dumps(document).encode(), model)


def test_a_conversation_with_tools_and_images_becomes_the_routers_chat_request() -> None:
    # Given a request with a system prompt, images of both sources, a tool call and its result
    document = _request(
        system=[{"type": "text", "text": "Be brief."}],
        messages=[
            {"role": "user", "content": [
                {"type": "text", "text": "What is in these, and the weather in Oslo?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "4 °C, rain"},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/radar.png"}},
                ]},
                {"type": "text", "text": "Thanks!"},
            ]},
        ],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        stop_sequences=["END"],
        temperature=0.2,
        top_p=0.9,
        metadata={"user_id": "user-42", "data_classification": "internal"},
        output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
    )  # fmt: skip
    # When it is translated (with routing metadata in the header too)
    translation = to_chat_request(_parse(document), {"region": "eu"})
    body = translation.body
    # Then each turn is the router's message of the same meaning, the tool result before the user's text
    assert body["messages"] == [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in these, and the weather in Oslo?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": "Let me check."}], "tool_calls": [
            {"id": "toolu_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        ]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": [{"type": "text", "text": "4 °C, rain"}]},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/radar.png"}},
            {"type": "text", "text": "Thanks!"},
        ]},
    ]  # fmt: skip
    # And the tools, the choice, sampling, the answer schema and metadata have their equivalents
    function = {"name": "get_weather", "description": "Weather in a city.", "parameters": CITY_SCHEMA}
    assert body["tools"] == [{"type": "function", "function": function}]
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("required", False)
    assert (body["stop"], body["temperature"], body["top_p"], body["max_tokens"]) == (["END"], 0.2, 0.9, 256)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": {"type": "object"}},
    }
    assert body["user"] == "user-42"
    assert body["metadata"] == {"data_classification": "internal", "region": "eu"}
    assert translation.ignored == ()
    # And the router accepts it as a chat request
    parsed = parse_chat_request(body)
    assert parsed.answer_token_limit == 256
    assert parsed.messages[3].role == "tool"


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "get_weather"},
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        ),
    ],
)
def test_tool_choice_maps_to_openais(choice: dict[str, Any], expected: dict[str, Any]) -> None:
    # Given a request offering a tool, with a tool choice
    body = to_chat_request(_parse(_request(tools=[WEATHER_TOOL], tool_choice=choice))).body
    # Then the router's tool choice means the same
    assert {key: body[key] for key in expected} == expected
    assert "parallel_tool_calls" not in body


def test_what_the_router_cannot_honour_is_dropped_and_reported() -> None:
    # Given fields and block options with no equivalent behind the router
    document = _request(
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should call the tool.", "signature": "sig"},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Oslo"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "down", "is_error": True}]},
        ],
        tools=[{**WEATHER_TOOL, "cache_control": {"type": "ephemeral"}},
               {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        top_k=5,
        thinking={"type": "adaptive"},
        service_tier="auto",
    )  # fmt: skip
    # When translated
    translation = to_chat_request(_parse(document))
    # Then each is listed once, sorted, as the client wrote it
    assert translation.ignored == (
        "messages[].content[].is_error",
        "service_tier",
        "system[].cache_control",
        "thinking",
        "tools[] (server tool web_search_20250305)",
        "tools[].cache_control",
        "top_k",
    )
    # And the server tool is not offered to the model, nor the thinking block sent back
    assert [tool["function"]["name"] for tool in translation.body["tools"]] == ["get_weather"]
    assert translation.body["messages"][2]["content"] is None
    # And defaults given explicitly, and thinking turned off, are not reported
    quiet = _request(thinking={"type": "disabled"}, messages=[{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": False}]}])  # fmt: skip
    assert to_chat_request(_parse(quiet)).ignored == ()


@pytest.mark.parametrize(
    ("fields", "effort", "ignored"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "minimal", ()),
        ({"thinking": {"type": "enabled", "budget_tokens": 10_000}}, "medium", ()),
        ({"thinking": {"type": "enabled", "budget_tokens": 100_000}}, "max", ()),
        ({"output_config": {"effort": "xhigh"}}, "xhigh", ()),
        (
            {"output_config": {"effort": "low"}, "thinking": {"type": "enabled", "budget_tokens": 20_000}},
            "low",
            (),
        ),
        (
            {"output_config": {"effort": "high"}, "thinking": {"type": "disabled"}},
            None,
            ("output_config.effort",),
        ),
        ({"thinking": {"type": "adaptive"}}, None, ("thinking",)),
    ],
)
def test_thinking_and_effort_become_the_reasoning_effort_the_providers_map_back(
    fields: dict[str, Any], effort: str | None, ignored: tuple[str, ...]
) -> None:
    # Given a thinking budget or an effort, When translated
    translation = to_chat_request(_parse(_request(max_tokens=4096, **fields)))
    # Then the router's reasoning_effort is the effort, or the largest whose thinking budget fits the
    # requested one (the table the providers turn it back into a budget with)
    assert translation.body.get("reasoning_effort") == effort
    assert translation.ignored == ignored
    if "thinking" in fields and effort is not None and "output_config" not in fields:
        budget = fields["thinking"]["budget_tokens"]
        assert THINKING_BUDGETS[effort] <= budget
        assert all(b > budget or b <= THINKING_BUDGETS[effort] for b in THINKING_BUDGETS.values())


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        pytest.param({"max_tokens": None}, "max_tokens", "field required", id="max-tokens-missing"),
        pytest.param({"max_tokens": 0}, "max_tokens", "greater than or equal to 1", id="max-tokens-zero"),
        pytest.param({"temprature": 0.5}, "temprature", "did you mean 'temperature'", id="typo"),
        pytest.param({"temperature": 1.5}, "temperature", "less than or equal to 1", id="temperature"),
        pytest.param({"stop_sequences": list("abcde")}, "stop_sequences", "at most 4", id="stops"),
        pytest.param({"metadata": {"tags": 3}}, "metadata.tags", "valid string", id="metadata-value"),
        pytest.param({"tool_choice": {"type": "tool", "name": "x"}}, "tool_choice", "not in tools", id="tc"),
        pytest.param({"tools": [{**WEATHER_TOOL, "name": "a b"}]}, "tools[0].name", "pattern", id="tool"),
        pytest.param({"thinking": {"type": "enabled", "budget_tokens": 10}}, "thinking.budget_tokens", "1024",
                     id="budget"),
        pytest.param({"messages": []}, "messages", "must not be empty", id="no-messages"),
        pytest.param(_block({"type": "image", "source": {"type": "url", "url": "http://example.com/a.png"}}),
                     "messages[0].content[0].source.url", "https://", id="http-image"),
        pytest.param(_block({"type": "image", "source": {"type": "base64", "media_type": "x", "data": PNG}}),
                     "messages[0].content[0].source.media_type", "image/png", id="media-type"),
        pytest.param(_block({"type": "document", "source": {}}), "messages[0].content[0]", "'document'",
                     id="document-block"),
        pytest.param(_block({"type": "tool_use", "id": "t", "name": "x", "input": {}}),
                     "messages[0].content[0]", "'tool_use'", id="tool-use-from-user"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field_as_the_client_wrote_it(
    fields: dict[str, Any], path: str, words: str
) -> None:
    # Given a request with one thing wrong, When parsed
    document = {key: value for key, value in _request(**fields).items() if value is not None}
    with pytest.raises(InvalidRequestError) as raised:
        _parse(document)
    # Then the error is at that field, in the request's own terms
    assert raised.value.field == path
    assert words in raised.value.message


def test_max_tokens_is_required_for_messages_but_not_for_counting() -> None:
    # Given a conversation without max_tokens
    document = {"model": "auto", "messages": [{"role": "user", "content": "Hi"}]}
    # Then a Messages request needs it, as Anthropic's API does, and a count does not
    with pytest.raises(InvalidRequestError, match="max_tokens: field required"):
        _parse(document)
    assert _parse(document, CountTokensRequest).model == "auto"
    # And a count refuses what only a Messages request has
    with pytest.raises(InvalidRequestError, match="stream"):
        _parse({**document, "stream": True}, CountTokensRequest)


@pytest.mark.parametrize("raw", [b"{", b"[1]", b'{"model": "auto", "x": "\\ud800"}'])
def test_bodies_that_are_not_json_objects_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequestError):
        parse_request(raw, MessagesRequest)


def test_every_field_the_pinned_sdk_can_send_is_accepted() -> None:
    # Given the anthropic package's own request parameter types (pinned in the dev extra)
    def keys(typed: Any) -> set[str]:
        return set(typed.__required_keys__ | typed.__optional_keys__)

    # Then each of their keys is a field of the router's models: an SDK upgrade that adds one fails here
    pairs: list[tuple[Any, type[BaseModel]]] = [
        (message_create_params.MessageCreateParamsStreaming, MessagesRequest),
        (message_count_tokens_params.MessageCountTokensParams, CountTokensRequest),
        (TextBlockParam, TextBlock),
        (ImageBlockParam, ImageBlock),
        (Base64ImageSourceParam, Base64Source),
        (URLImageSourceParam, UrlSource),
        (ToolUseBlockParam, ToolUseBlock),
        (ToolResultBlockParam, ToolResultBlock),
        (ToolParam, Tool),
        (OutputConfigParam, OutputConfig),
        (ThinkingBlockParam, ThinkingBlock),
        (RedactedThinkingBlockParam, RedactedThinkingBlock),
    ]
    for sdk, ours in pairs:
        assert keys(sdk) <= set(ours.model_fields), (sdk.__name__, keys(sdk) - set(ours.model_fields))
    # And every tool choice the SDK has maps to one of the router's
    for choice in get_args(ToolChoiceParam):
        kind = get_args(get_type_hints(choice)["type"])[0]
        named = {"name": "get_weather"} if kind == "tool" else {}
        assert (
            "tool_choice"
            in to_chat_request(
                _parse(_request(tools=[WEATHER_TOOL], tool_choice={"type": kind, **named}))
            ).body
        )


def test_routing_metadata_header_is_a_json_object_of_strings() -> None:
    # Given the header as JSON, Then its keys are routing metadata
    assert header_metadata({"x-router-metadata": '{"tags": "a,b", "region": "eu"}'}) == {
        "tags": "a,b",
        "region": "eu",
    }
    assert header_metadata({"Accept": "*/*"}) == {}
    # And anything else is refused, naming the header
    nested_past_the_decoders_stack = '{"a": ' * 5000 + "1" + "}" * 5000
    for value in ("tags=a, region=eu", "[1]", '{"tags": 1}', "{", nested_past_the_decoders_stack):
        with pytest.raises(InvalidRequestError) as raised:
            header_metadata({"X-Router-Metadata": value})
        assert raised.value.field == "X-Router-Metadata"


def test_header_and_body_metadata_must_agree() -> None:
    # Given the same key in the body and the header
    request = _parse(_request(metadata={"region": "eu"}))
    # Then the same value is fine, another one is refused, naming the header
    assert to_chat_request(request, {"region": "eu"}).body["metadata"] == {"region": "eu"}
    with pytest.raises(InvalidRequestError) as raised:
        to_chat_request(request, {"region": "us"})
    assert raised.value.field == "X-Router-Metadata"


def _result(
    content: str | None, calls: tuple[ResultToolCall, ...] = (), finish: str = "stop"
) -> ExecutionResult:
    tokens = {"input_tokens": 90, "output_tokens": 12, "cache_read_tokens": 30, "cache_write_tokens": 4}
    attempt = Attempt(number=1, model="m1", provider="bedrock", provider_model_id="vendor.m1", started_ms=0,
                      duration_ms=5, outcome="success", **tokens)  # fmt: skip
    answer = ProviderResult(content=content, tool_calls=calls, finish_reason=finish)  # type: ignore[arg-type]
    return ExecutionResult(answer=answer, model="m1", attempts=(attempt,))


def test_an_answer_is_anthropics_message_with_the_router_block() -> None:
    # Given an answer with text and a tool call
    call = ResultToolCall(id="toolu_9", name="get_weather", arguments='{"city": "Oslo"}')
    result = _result("Checking.", (call,), finish="tool_calls")
    # When it is written as a Message
    written = message(result, {"request_id": "req-1", "route": "r"})
    # Then it has Anthropic's shape, content blocks in order, usage without cached tokens in input
    assert written == {
        "id": "msg_req-1", "type": "message", "role": "assistant", "model": "m1",
        "content": [{"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 90, "output_tokens": 12, "cache_read_input_tokens": 30,
                  "cache_creation_input_tokens": 4},
        "router": {"request_id": "req-1", "route": "r"},
    }  # fmt: skip
    # And an answer with no text has no text block
    assert message(_result(None, (call,)), {"request_id": "r"})["content"][0]["type"] == "tool_use"


@pytest.mark.parametrize(("finish", "expected"), [*STOP_REASONS.items(), ("error", "end_turn")])
def test_finish_reasons_become_stop_reasons(finish: str, expected: str) -> None:
    assert stop_reason(finish) == expected


@pytest.mark.parametrize(
    ("arguments", "expected"), [('{"a": 1}', {"a": 1}), ("", {}), ("[1]", {}), ("{", {})]
)
def test_tool_input_is_always_an_object(arguments: str, expected: dict[str, Any]) -> None:
    assert tool_input(arguments) == expected


@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    [
        (InvalidRequestError([]), 400, "invalid_request_error"),
        (UnauthorizedError("no tenant"), 401, "authentication_error"),
        (RequestDeniedError("pin_not_allowed", "no pinning", "model"), 403, "permission_error"),
        (RequestDeniedError("model_not_found", "no such model", "model"), 404, "not_found_error"),
        (RequestTooLargeError("too big"), 413, "request_too_large"),
        (BudgetExhaustedError("spent", 30, tenant_id="t1", period="daily"), 429, "rate_limit_error"),
        (AllCandidatesFailedError("all failed", []), 502, "api_error"),
        (ModelsCoolingDownError("r", [], retry_after_s=5), 503, "overloaded_error"),
        (PolicyError([]), 503, "overloaded_error"),
        (ModelRouterError("internal detail"), 500, "api_error"),
    ],
)
def test_errors_are_anthropic_error_objects_with_the_same_status(
    error: ModelRouterError, status: int, error_type: str
) -> None:
    # When a domain error is answered on the Messages API
    response = error_response(error)
    body = json.loads(response.body)
    # Then it is Anthropic's error object, with the one mapping's status, headers and public message
    assert response.status == status
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["error"]["message"] == (error.message if error.expose_message else error.public_message)
    assert body["error"]["code"] == error.code
    if error.retry_after_s is not None:
        assert int(response.headers["Retry-After"]) >= error.retry_after_s
