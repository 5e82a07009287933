"""The simulated model server against the router's real provider adapters (OpenAI over httpx, Bedrock
over boto3), its injected faults, its control API and its shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelrouter.checks.json_answer import json_problems
from modelrouter.local.model_server import ModelServer
from modelrouter.policy.catalog import ModelSpec
from modelrouter.providers.bedrock import BedrockProvider
from modelrouter.providers.errors import (
    ContextTooLongError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)
from modelrouter.providers.openai import OpenAIProvider
from modelrouter.providers.secrets import StaticKeyResolver
from modelrouter.providers.types import Provider, ProviderCall, ProviderResult
from modelrouter.request import ChatRequest, parse_chat_request
from tests.helpers import fake_aws_environment, minimal_policy, model_entry, policy_from

PROTOCOLS = ["openai", "bedrock"]
LEGAL = "Can my landlord keep the deposit if the lease says nothing about cleaning?"
"""A legal question: under the simulated skill profile only local-large answers it well."""
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "steps": {"type": "integer", "minimum": 1}},
    "required": ["title", "steps"],
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SHORT_TIMEOUT_S = 0.5
ANSWER_TIMEOUT_S = 10.0
"""A deadline no answer of the model server comes near: for calls whose outcome is not a timeout."""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServer]:
    """A running server without simulated latency, with fake AWS credentials for boto3."""
    fake_aws_environment(monkeypatch)
    with ModelServer(latency_scale=0, hang_seconds=10) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def specs(url: str) -> dict[str, ModelSpec]:
    """Catalog entries for every size over both protocols, parsed by the real policy loader."""
    models = []
    for size in ("small", "medium", "large", "unknown"):
        models.append(model_entry(f"bedrock-{size}", model_id=f"local.{size}-v1:0"))
        openai = model_entry(f"openai-{size}", provider="openai", model_id=f"local-{size}-2026-01-01")
        openai.pop("region")
        models.append({**openai, "base_url": f"{url}/v1"})
    document = minimal_policy()
    document["models"] = models
    document["routes"] = [{"name": "default", "models": [m["id"] for m in models]}]
    return policy_from(document).policy.model_by_id


def complete(
    server: ModelServer,
    client: httpx.Client,
    protocol: str,
    model: str,
    request: ChatRequest,
    timeout_s: float = 5.0,
) -> ProviderResult:
    """One call through the real adapter of ``protocol``."""
    provider: Provider = (
        OpenAIProvider(StaticKeyResolver({}), client=client)
        if protocol == "openai"
        else BedrockProvider(endpoint_url=server.url)
    )
    spec = specs(server.url)[f"{protocol}-{model}"]
    call = ProviderCall(
        model=spec, request=request, max_output_tokens=256, timeout_s=timeout_s, request_id="r-1"
    )
    return provider.complete(call)


def chat(text: str, **fields: Any) -> ChatRequest:
    return parse_chat_request({"messages": [{"role": "user", "content": text}], **fields})


def schema_chat(text: str) -> ChatRequest:
    return chat(
        text, response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": SCHEMA}}
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plain_chat_is_answered_with_usage(server: ModelServer, http: httpx.Client, protocol: str) -> None:
    # When the medium model is asked a simple question
    result = complete(server, http, protocol, "medium", chat("What is the capital of France?"))
    # Then it answers, names itself and reports usage
    assert result.content is not None
    assert result.content.startswith("[local-medium] ")
    assert result.finish_reason == "stop"
    assert result.usage.input_tokens == 8
    assert result.usage.output_tokens > 0
    assert server.calls("local-medium") == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_schema_answers_pass_for_large_and_fail_for_small_on_prompts_beyond_it(
    server: ModelServer, http: httpx.Client, protocol: str
) -> None:
    # When both models answer a JSON-schema request on a topic the small model is poor at
    large = complete(server, http, protocol, "large", schema_chat(LEGAL))
    small = complete(server, http, protocol, "small", schema_chat(LEGAL))
    # Then the router's JSON check passes the large model's answer and fails the small one's
    assert json_problems(large.content, SCHEMA) == []
    assert [problem.rule.split()[0] for problem in json_problems(small.content, SCHEMA)] == ["required"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tool_call_then_text_after_the_result(server: ModelServer, http: httpx.Client, protocol: str) -> None:
    # When a tool is offered and the user asks for what it does
    first = complete(
        server, http, protocol, "small", chat("Check the weather in Paris.", tools=[WEATHER_TOOL])
    )
    # Then the model calls it with arguments that fit its schema
    assert first.finish_reason == "tool_calls"
    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("get_weather", '{"city": "sample"}')
    # When the tool result comes back
    follow_up = parse_chat_request(
        {
            "messages": [
                {"role": "user", "content": "Check the weather in Paris."},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
            ],
            "tools": [WEATHER_TOOL],
        }
    )
    second = complete(server, http, protocol, "small", follow_up)
    # Then it answers in text, using the result
    assert second.tool_calls == ()
    assert second.content is not None
    assert "sunny, 21 C" in second.content


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("rate_limit", RateLimitedError),
        ("server_error", ProviderServerError),
        ("timeout", ProviderTimeoutError),
    ],
)
def test_faults_map_to_the_adapters_typed_errors(
    server: ModelServer, http: httpx.Client, protocol: str, fault: Any, error: type[ProviderError]
) -> None:
    # Given a fault on the small model
    server.inject("local-small", fault)
    # When it is called (with a short deadline only where the deadline is the point: on a loaded machine
    # a first Bedrock client may take longer than that to answer a refusal)
    timeout_s = SHORT_TIMEOUT_S if fault == "timeout" else ANSWER_TIMEOUT_S
    with pytest.raises(error) as raised:
        complete(server, http, protocol, "small", chat("Hello"), timeout_s=timeout_s)
    # Then the adapter raises its typed error; OpenAI rate limits carry retry-after
    if fault == "rate_limit" and protocol == "openai":
        assert raised.value.retry_after_s == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_invalid_json_breaks_schema_answers_and_other_bodies(
    server: ModelServer, http: httpx.Client, protocol: str
) -> None:
    # Given the invalid_json fault on the large model
    server.inject("local-large", "invalid_json")
    # When a schema request is answered, Then the answer does not parse
    answer = complete(server, http, protocol, "large", schema_chat("Plan a picnic."))
    assert [problem.rule for problem in json_problems(answer.content, SCHEMA)] == ["syntax"]
    # When a plain request is answered, Then the response itself is malformed
    with pytest.raises(MalformedResponseError):
        complete(server, http, protocol, "large", chat("Hello"))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_prompt_over_the_window_and_unknown_models(
    server: ModelServer, http: httpx.Client, protocol: str
) -> None:
    # When the small model gets a prompt over its 8k window, Then the context is too long
    with pytest.raises(ContextTooLongError):
        complete(server, http, protocol, "small", chat("word " * 8_000))
    # And the large model takes the same prompt
    assert complete(server, http, protocol, "large", chat("word " * 8_000)).content
    # When a model id names no simulated model, Then it is not found
    with pytest.raises(ModelNotFoundError):
        complete(server, http, protocol, "unknown", chat("Hello"))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_fault_with_times_clears_after_that_many_calls(
    server: ModelServer, http: httpx.Client, protocol: str
) -> None:
    # Given a server error for one call
    server.inject("local-medium", "server_error", times=1)
    # When the model is called twice, Then only the first call fails
    with pytest.raises(ProviderServerError):
        complete(server, http, protocol, "medium", chat("Hello"))
    assert complete(server, http, protocol, "medium", chat("Hello")).content
    assert server.calls("local-medium") == 2


def test_control_api_sets_lists_and_clears_faults(server: ModelServer, http: httpx.Client) -> None:
    # When a fault is set over HTTP
    put = http.put(f"{server.url}/_local/faults/local-small", json={"fault": "rate_limit", "times": 2})
    # Then it is acknowledged and listed with the profiles
    assert put.status_code == 200
    assert put.json() == {"model": "local-small", "fault": {"fault": "rate_limit", "times": 2}}
    models = {entry["name"]: entry for entry in http.get(f"{server.url}/_local/models").json()["models"]}
    assert models["local-small"]["fault"] == {"fault": "rate_limit", "times": 2}
    assert models["local-large"]["skills"]["by_topic"]["legal"] == 0.93
    assert models["local-large"]["context_window"] == 131_072
    # And it applies to calls
    with pytest.raises(RateLimitedError):
        complete(server, http, "openai", "small", chat("Hello"))
    # When it is cleared, Then calls succeed again
    cleared = http.put(f"{server.url}/_local/faults/local-small", json={"fault": None})
    assert cleared.json()["fault"] is None
    assert complete(server, http, "openai", "small", chat("Hello")).content
    # And bad control requests are refused
    assert http.put(f"{server.url}/_local/faults/gpt-4o", json={"fault": "timeout"}).status_code == 404
    assert http.put(f"{server.url}/_local/faults/local-small", json={"fault": "boom"}).status_code == 400


def test_stop_releases_held_requests_threads_and_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a server holding a timed-out request for a long time, over a kept-alive connection
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    server = ModelServer(latency_scale=0, hang_seconds=60).start()
    port = int(server.url.rsplit(":", 1)[1])
    with httpx.Client() as client:
        assert complete(server, client, "openai", "large", chat("Hello")).content
        server.inject("local-large", "timeout")
        with pytest.raises(ProviderTimeoutError):
            complete(server, client, "openai", "large", chat("Hello"), timeout_s=SHORT_TIMEOUT_S)
        # When it stops
        started = time.monotonic()
        server.stop()
        # Then it stops at once, leaves no thread behind and frees the port
        assert time.monotonic() - started < 3
    assert [t.name for t in threading.enumerate() if t.name.startswith("local-models")] == []
    with ModelServer(port=port, latency_scale=0) as again:
        assert again.url.endswith(f":{port}")
