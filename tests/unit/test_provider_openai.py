"""The OpenAI-compatible provider: requests as sent, answers and failures as received.

Every request body is checked against the official ``openai`` package's request types and every
response fixture is parsed with its ``ChatCompletion`` model, so both sides speak the real format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from tests.helpers import model_entry
from tests.openai_shapes import assert_chat_completion, assert_chat_request, assert_error_body

from modelrouter.policy.catalog import ModelSpec, SecretRef
from modelrouter.providers.end_user import end_user_id
from modelrouter.providers.errors import (
    AuthError,
    BadRequestError,
    ContentFilteredError,
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
from modelrouter.providers.openai import OpenAIProvider
from modelrouter.providers.secrets import StaticKeyResolver
from modelrouter.providers.types import ProviderCall, ProviderResult, ResultToolCall, Usage
from modelrouter.request import parse_chat_request

KEY = "sk-proj-TESTKEY0123456789abcdef"
BASE = "https://api.openai.com/v1"
URL = f"{BASE}/chat/completions"
MODEL_ID = "gpt-4o-mini-2024-07-18"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "result", "schema": SCHEMA, "strict": True}}


class NoKeys:
    """A key resolver that must not be asked."""

    def api_key(self, ref: SecretRef) -> str:
        raise AssertionError(f"key resolver asked for {ref}")


def model(**overrides: Any) -> ModelSpec:
    entry = model_entry(
        "gpt-mini",
        provider="openai",
        region=None,
        model_id=MODEL_ID,
        base_url=BASE,
        api_key={"secretsmanager": "openai/key"},
        capabilities=["tools", "json_object", "json_schema", "vision"],
    )
    entry.update(overrides)
    return ModelSpec.model_validate({name: value for name, value in entry.items() if value is not None})


def call(spec: ModelSpec | None = None, *, max_output_tokens: int = 512, **fields: Any) -> ProviderCall:
    body = {"messages": [{"role": "user", "content": "What is 6 x 7?"}], **fields}
    return ProviderCall(
        model=spec or model(),
        request=parse_chat_request(body),
        max_output_tokens=max_output_tokens,
        timeout_s=12.5,
        request_id="req-0001",
    )


def completion(
    message: dict[str, Any] | None = None, finish_reason: str = "stop", **top: Any
) -> dict[str, Any]:
    """A chat.completion object as OpenAI returns it, checked with the official package."""
    payload: dict[str, Any] = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": message
                or {"role": "assistant", "content": "42", "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 10,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }
    payload.update(top)
    assert_chat_completion(payload)
    return payload


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """An error body as OpenAI returns it, checked with the official package."""
    payload = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    assert_error_body(payload)
    return payload


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def provider() -> Iterator[OpenAIProvider]:
    with httpx.Client() as client:
        yield OpenAIProvider(StaticKeyResolver({"openai/key": KEY}), client=client)


def sent_body(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    assert_chat_request(body)
    return body


def assert_key_only_in(request: httpx.Request, header: str) -> None:
    """The key is in ``header`` and nowhere else: not in the URL, the body or another header."""
    assert KEY in request.headers[header]
    assert KEY not in str(request.url)
    assert KEY.encode() not in request.content
    assert not [name for name, value in request.headers.items() if KEY in value and name != header]


# Requests as sent


def test_request_is_sent_in_chat_completions_shape(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given a request with system, developer and user turns and sampling settings
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    request = call(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer with a number."},
            {"role": "user", "content": "What is 6 x 7?", "name": "alice"},
        ],
        max_tokens=4000,
        temperature=0.2,
        top_p=0.9,
        stop=["\n\n"],
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        user="alice@example.com",
        metadata={"tags": "math"},
    )

    # When it is sent
    provider.complete(request)

    # Then the body is exactly the Chat Completions body, developer sent as system
    assert sent_body(route) == {
        "model": MODEL_ID,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Answer with a number."},
            {"role": "user", "content": "What is 6 x 7?", "name": "alice"},
        ],
        "max_tokens": 512,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "safety_identifier": end_user_id(request.request),
        "stream": False,
    }
    # And the end user is forwarded only as a digest, the routing metadata not at all
    sent = route.calls.last.request
    assert b"alice@example.com" not in sent.content
    # And the key is only in the bearer header; the request id is passed for tracing
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-client-request-id"] == "req-0001"
    assert_key_only_in(sent, "authorization")
    assert sent.extensions["timeout"]["read"] == 12.5


def test_reasoning_models_get_max_completion_tokens_and_no_sampling(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a reasoning model and a request with sampling settings
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    spec = model(model_id="o3-mini-2025-01-31", capabilities=["reasoning", "tools"])

    # When it is sent
    provider.complete(call(spec, temperature=0.2, top_p=0.5, seed=3))

    # Then the token limit uses the newer name and sampling settings are left out
    body = sent_body(route)
    assert body["max_completion_tokens"] == 512
    assert "max_tokens" not in body
    assert "temperature" not in body
    assert "top_p" not in body
    assert body["seed"] == 3


def test_azure_deployments_use_their_url_and_api_key_header(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given an Azure OpenAI model
    base = "https://contoso-eastus.openai.azure.com"
    url = f"{base}/openai/deployments/gpt-4o-prod/chat/completions"
    route = api.post(url, params={"api-version": "2024-10-21"}).mock(
        return_value=httpx.Response(200, json=completion())
    )
    spec = model(base_url=base + "/", deployment="gpt-4o-prod", api_version="2024-10-21")

    # When a call is sent
    provider.complete(call(spec))

    # Then it goes to the deployment with the api-version, authenticated by api-key only
    sent = route.calls.last.request
    assert str(sent.url) == f"{url}?api-version=2024-10-21"
    assert "authorization" not in sent.headers
    assert sent.headers["api-key"] == KEY
    assert_key_only_in(sent, "api-key")
    assert sent_body(route)["model"] == MODEL_ID


def test_azure_deployment_without_api_version_is_refused_before_sending(api: respx.MockRouter) -> None:
    # Given an Azure deployment with no api_version
    route = api.route().mock(return_value=httpx.Response(200, json=completion()))
    spec = model(base_url="https://contoso.openai.azure.com", deployment="gpt-4o-prod")
    provider = OpenAIProvider(StaticKeyResolver({"openai/key": KEY}))

    # When it is called, then the configuration error is not retryable and nothing is sent
    with pytest.raises(BadRequestError, match="api_version"):
        provider.complete(call(spec))
    assert not route.called


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("http://localhost:11434/v1", "http://localhost:11434/v1/chat/completions"),
        ("http://vllm.internal:8000/v1/", "http://vllm.internal:8000/v1/chat/completions"),
    ],
)
def test_keyless_servers_get_no_key_header(api: respx.MockRouter, base_url: str, url: str) -> None:
    # Given a local Ollama or vLLM model without an api_key
    route = api.post(url).mock(return_value=httpx.Response(200, json=completion(model="llama3.1:8b")))
    spec = model(base_url=base_url, api_key=None, model_id="llama3.1:8b", allow_unpinned=True)
    with httpx.Client() as client:
        provider = OpenAIProvider(NoKeys(), client=client)

        # When it is called
        result = provider.complete(call(spec))

    # Then no key is asked for and no authentication header is sent
    sent = route.calls.last.request
    assert "authorization" not in sent.headers
    assert "api-key" not in sent.headers
    assert result.reported_model == "llama3.1:8b"


def test_tool_definitions_choice_and_history_are_passed_through(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a conversation with an earlier tool call and its result
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_Xf0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_Xf0", "content": '{"temp_c": 18}'},
    ]
    choice = {"type": "function", "function": {"name": "get_weather"}}

    # When it is sent with tools, a named tool choice and no parallel calls
    provider.complete(call(messages=history, tools=TOOLS, tool_choice=choice, parallel_tool_calls=False))

    # Then tools, choice and history go out unchanged
    body = sent_body(route)
    assert body["tools"] == TOOLS
    assert body["tool_choice"] == choice
    assert body["parallel_tool_calls"] is False
    assert body["messages"] == [
        history[0],
        {key: value for key, value in history[1].items() if value is not None},
        history[2],
    ]


def test_tool_choice_without_tools_is_not_sent(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given a tool choice and parallel flag but no tools (OpenAI rejects that combination)
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))

    # When it is sent
    provider.complete(call(tool_choice="none", parallel_tool_calls=True))

    # Then neither is sent
    body = sent_body(route)
    assert "tool_choice" not in body
    assert "parallel_tool_calls" not in body


def test_images_are_passed_through(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given a user turn with a data-URI image and an https image
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    parts = [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]

    # When it is sent
    provider.complete(call(messages=[{"role": "user", "content": parts}]))

    # Then the parts are sent as given (detail defaulting to auto)
    sent = sent_body(route)["messages"][0]["content"]
    assert sent[1] == parts[1]
    assert sent[2] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/cat.jpg", "detail": "auto"},
    }


def test_json_schema_is_passed_through_to_models_that_support_it(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a model with the json_schema capability
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))

    # When a JSON-schema answer is asked for
    provider.complete(call(response_format=SCHEMA_FORMAT))

    # Then response_format is sent unchanged and no instruction is added
    body = sent_body(route)
    assert body["response_format"] == SCHEMA_FORMAT
    assert [message["role"] for message in body["messages"]] == ["user"]


def test_json_schema_is_downgraded_to_json_object_with_an_instruction(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a model with json_object but not json_schema, and a system prompt
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    spec = model(capabilities=["json_object"])
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "6 x 7?"}]

    # When a JSON-schema answer is asked for
    provider.complete(call(spec, messages=messages, response_format=SCHEMA_FORMAT))

    # Then JSON mode is used and the schema is appended to the one system message
    body = sent_body(route)
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]
    assert [message["role"] for message in body["messages"]] == ["system", "user"]
    assert system["content"].startswith("Be brief.\n\n")
    assert json.dumps(SCHEMA, sort_keys=True, separators=(",", ":")) in system["content"]


def test_models_without_json_modes_get_only_the_instruction(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a model with no JSON mode at all
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    spec = model(capabilities=[])

    # When a JSON-schema answer is asked for
    provider.complete(call(spec, response_format=SCHEMA_FORMAT))

    # Then no response_format is sent and a system instruction comes first
    body = sent_body(route)
    assert "response_format" not in body
    assert body["messages"][0]["role"] == "system"
    assert '"answer"' in body["messages"][0]["content"]


# Answers as received


def test_answer_text_usage_model_and_id_are_returned(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given an answer that read most of the prompt from the cache
    payload = completion(
        usage={
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        }
    )
    api.post(URL).mock(
        return_value=httpx.Response(200, json=payload, headers={"openai-processing-ms": "812"})
    )

    # When the call completes
    result = provider.complete(call())

    # Then input tokens exclude the cached ones, which are counted apart
    assert result == ProviderResult(
        content="42",
        finish_reason="stop",
        usage=Usage(input_tokens=86, output_tokens=300, cache_read_tokens=1920),
        reported_model=MODEL_ID,
        response_id="chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        provider_latency_ms=812.0,
        response_fields={"service_tier": payload["service_tier"]},
    )


def test_tool_call_answers_are_returned(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given an answer with two tool calls and no text
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        },
        {
            "id": "call_2",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
        },
    ]
    message = {"role": "assistant", "content": None, "tool_calls": calls, "refusal": None}
    api.post(URL).mock(return_value=httpx.Response(200, json=completion(message, "tool_calls")))

    # When the call completes
    result = provider.complete(call(tools=TOOLS))

    # Then the calls come back in order
    assert result.content is None
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == (
        ResultToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}'),
        ResultToolCall(id="call_2", name="get_weather", arguments='{"city":"Rome"}'),
    )


@pytest.mark.parametrize(
    ("finish_reason", "with_calls", "expected"),
    [
        ("stop", False, "stop"),
        ("length", False, "length"),
        ("content_filter", False, "content_filter"),
        ("function_call", True, "tool_calls"),
        ("stop", True, "tool_calls"),
        ("something_new", False, "stop"),
        ("something_new", True, "tool_calls"),
    ],
)
def test_finish_reasons_are_normalized(
    api: respx.MockRouter, provider: OpenAIProvider, finish_reason: str, with_calls: bool, expected: str
) -> None:
    # Given an answer with a given finish reason
    message: dict[str, Any] = {"role": "assistant", "content": "ok"}
    if with_calls:
        message["tool_calls"] = [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ]
    payload = completion(message)
    payload["choices"][0]["finish_reason"] = finish_reason  # servers send values beyond the SDK's list
    api.post(URL).mock(return_value=httpx.Response(200, json=payload))

    # When the call completes, then the reason is one of the four the contract knows
    assert provider.complete(call()).finish_reason == expected


def test_refusals_finish_as_content_filter(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given a structured-outputs refusal
    message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    api.post(URL).mock(return_value=httpx.Response(200, json=completion(message)))

    # When the call completes, then there is no content and the reason says it was filtered
    result = provider.complete(call(response_format=SCHEMA_FORMAT))
    assert (result.content, result.finish_reason) == (None, "content_filter")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "mess',
        b"[]",
        json.dumps({**completion(), "choices": []}).encode(),
        json.dumps({key: value for key, value in completion().items() if key != "choices"}).encode(),
        json.dumps({**completion(), "choices": [{"index": 0, "finish_reason": "stop"}]}).encode(),
    ],
    ids=["html", "truncated", "array", "empty-choices", "no-choices", "no-message"],
)
def test_unreadable_answers_are_malformed(
    api: respx.MockRouter, provider: OpenAIProvider, body: bytes
) -> None:
    # Given a 200 whose body cannot be read as a completion
    api.post(URL).mock(return_value=httpx.Response(200, content=body))

    # When the call completes, then it fails as malformed, which is worth retrying
    with pytest.raises(MalformedResponseError) as caught:
        provider.complete(call())
    assert caught.value.retryable
    assert caught.value.provider == "openai"


# Failures


@pytest.mark.parametrize(
    ("status", "type_", "code", "expected"),
    [
        (400, "invalid_request_error", None, BadRequestError),
        (401, "invalid_request_error", "invalid_api_key", AuthError),
        (403, "invalid_request_error", "unsupported_country_region_territory", AuthError),
        (404, "invalid_request_error", "model_not_found", ModelNotFoundError),
        (408, "timeout", None, ProviderTimeoutError),
        (409, "invalid_request_error", "conflict", BadRequestError),
        (413, "invalid_request_error", None, ContextTooLongError),
        (422, "invalid_request_error", None, BadRequestError),
        (429, "requests", "rate_limit_exceeded", RateLimitedError),
        (500, "server_error", None, ProviderServerError),
        (502, "server_error", None, ProviderServerError),
        (503, "server_error", None, OverloadedError),
        (504, "server_error", None, ProviderServerError),
        (529, "server_error", None, OverloadedError),
    ],
)
def test_statuses_map_to_typed_errors(
    api: respx.MockRouter,
    provider: OpenAIProvider,
    status: int,
    type_: str,
    code: str | None,
    expected: type[ProviderError],
) -> None:
    # Given a failed call with OpenAI's error body
    payload = error_body("Something went wrong.", type_, code)
    api.post(URL).mock(return_value=httpx.Response(status, json=payload))

    # When it completes
    with pytest.raises(ProviderError) as caught:
        provider.complete(call())

    # Then the error class, status and the provider's message are kept
    assert type(caught.value) is expected
    assert caught.value.status == status
    assert "Something went wrong." in caught.value.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"}, None),
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
    ],
    ids=["seconds", "http-date", "milliseconds"],
)
def test_rate_limits_carry_the_retry_hint(
    api: respx.MockRouter, provider: OpenAIProvider, headers: dict[str, str], expected: float | None
) -> None:
    # Given a 429 with a retry header
    payload = error_body(
        "Rate limit reached for gpt-4o-mini on requests per min (RPM).", "requests", "rate_limit_exceeded"
    )
    api.post(URL).mock(return_value=httpx.Response(429, json=payload, headers=headers))

    # When the call completes
    with pytest.raises(RateLimitedError) as caught:
        provider.complete(call())

    # Then the hint is in seconds (a date far ahead is a large positive wait)
    retry_after = caught.value.retry_after_s
    if expected is None:
        assert retry_after is not None
        assert retry_after > 1_000_000
    else:
        assert retry_after == expected
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (
            400,
            error_body(
                "This model's maximum context length is 128000 tokens. However, your messages resulted in"
                " 130012 tokens. Please reduce the length of the messages.",
                "invalid_request_error",
                "context_length_exceeded",
                "messages",
            ),
            ContextTooLongError,
        ),
        (
            400,
            {
                "object": "error",
                "message": "This model's maximum context length is 8192 tokens. However, you requested"
                " 9000 tokens (8000 in the messages, 1000 in the completion).",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            },
            ContextTooLongError,
        ),
        (
            400,
            {
                "error": {
                    "message": "The response was filtered due to the prompt triggering Azure OpenAI's content"
                    " management policy.",
                    "type": None,
                    "param": "prompt",
                    "code": "content_filter",
                    "status": 400,
                    "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {}},
                }
            },
            ContentFilteredError,
        ),
        (
            400,
            error_body(
                "Your request was rejected by the safety system.",
                "invalid_request_error",
                "content_policy_violation",
            ),
            ContentFilteredError,
        ),
        (
            429,
            error_body(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            ),
            AuthError,
        ),
        (400, {"error": "model 'llama9' not found, try pulling it first"}, BadRequestError),
    ],
    ids=["openai-context", "vllm-context", "azure-filter", "policy-violation", "quota", "ollama-string"],
)
def test_error_bodies_refine_the_status(
    api: respx.MockRouter,
    provider: OpenAIProvider,
    status: int,
    payload: dict[str, Any],
    expected: type[ProviderError],
) -> None:
    # Given a failure whose body says more than its status
    api.post(URL).mock(return_value=httpx.Response(status, json=payload))

    # When the call completes, then the body decides the class
    with pytest.raises(ProviderError) as caught:
        provider.complete(call())
    assert type(caught.value) is expected


def test_exhausted_quota_is_not_retried(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given OpenAI's 429 for a used-up quota, with a retry header
    payload = error_body("You exceeded your current quota.", "insufficient_quota", "insufficient_quota")
    api.post(URL).mock(return_value=httpx.Response(429, json=payload, headers={"retry-after": "20"}))

    # When the call completes, then the executor moves on instead of waiting
    with pytest.raises(AuthError) as caught:
        provider.complete(call())
    assert not caught.value.retryable


def test_echoed_keys_are_scrubbed_from_error_messages(
    api: respx.MockRouter, provider: OpenAIProvider
) -> None:
    # Given a proxy that echoes the key it was sent
    payload = error_body(f"Incorrect API key provided: {KEY}.", "invalid_request_error", "invalid_api_key")
    api.post(URL).mock(return_value=httpx.Response(401, json=payload))

    # When the call completes, then the message names no key
    with pytest.raises(AuthError) as caught:
        provider.complete(call())
    assert KEY not in str(caught.value)
    assert "***" in caught.value.message


def test_non_json_error_bodies_map_by_status(api: respx.MockRouter, provider: OpenAIProvider) -> None:
    # Given a gateway error page
    api.post(URL).mock(return_value=httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>"))

    # When the call completes, then the status decides and the page is not quoted
    with pytest.raises(ProviderServerError) as caught:
        provider.complete(call())
    assert "<html>" not in caught.value.message


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ReadTimeout("The read operation timed out"), ProviderTimeoutError),
        (httpx.ConnectError("[Errno 111] Connection refused"), ProviderConnectionError),
    ],
)
def test_timeouts_and_connection_errors_are_retryable(
    api: respx.MockRouter, provider: OpenAIProvider, raised: Exception, expected: type[ProviderError]
) -> None:
    # Given a transport failure
    api.post(URL).mock(side_effect=raised)

    # When the call completes, then the typed error is retryable
    with pytest.raises(expected) as caught:
        provider.complete(call())
    assert caught.value.retryable
    assert caught.value.provider == "openai"


def test_a_missing_key_is_an_auth_error(api: respx.MockRouter) -> None:
    # Given no key stored for the model
    route = api.post(URL).mock(return_value=httpx.Response(200, json=completion()))
    provider = OpenAIProvider(StaticKeyResolver({}))

    # When it is called, then it fails without sending anything
    with pytest.raises(AuthError):
        provider.complete(call())
    assert not route.called
