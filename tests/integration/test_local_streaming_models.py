"""The simulated models stream on all three protocols, paced, with the non-streamed answer's text, read
by real clients (the openai package, httpx for Anthropic's Messages API, boto3's converse_stream), and
their stream faults break streams as the real services do."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import EventStreamError

from modelrouter.local.model_server import ModelServer
from modelrouter.providers.anthropic import AnthropicProvider
from modelrouter.providers.secrets import StaticKeyResolver
from modelrouter.providers.types import ProviderCall
from modelrouter.request import parse_chat_request
from tests.helpers import fake_aws_environment, minimal_policy, model_entry, policy_from

QUESTION = "Explain the history of the Roman aqueducts and how their engineering shaped later cities"
SCALE = 20.0
"""Latency scale: local-small's 1 ms per token becomes 20 ms, so pacing is measurable."""
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServer]:
    fake_aws_environment(monkeypatch)
    with ModelServer(latency_scale=SCALE) as running:
        yield running


def _timed(items: Iterator[Any]) -> tuple[list[Any], list[float]]:
    """The items and when each arrived (seconds from the start)."""
    started, got, arrivals = time.monotonic(), [], []
    for item in items:
        got.append(item)
        arrivals.append(time.monotonic() - started)
    return got, arrivals


def _openai(server: ModelServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="local", max_retries=0, timeout=30)


def _chat(server: ModelServer, **body: Any) -> Any:
    """The openai package's answer (or stream) to ``body``."""
    return _openai(server).chat.completions.create(**body)


def _bedrock(server: ModelServer) -> Any:
    config = Config(retries={"max_attempts": 1}, read_timeout=30)
    return boto3.client("bedrock-runtime", endpoint_url=server.url, region_name="us-east-1", config=config)


def _messages(server: ModelServer, body: dict[str, Any]) -> httpx.Response:
    headers = {"x-api-key": "local", "anthropic-version": "2023-06-01"}
    return httpx.post(f"{server.url}/v1/messages", json=body, headers=headers, timeout=30)


def _anthropic_events(server: ModelServer, body: dict[str, Any]) -> tuple[list[tuple[str, Any]], list[float]]:
    headers = {"x-api-key": "local", "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", f"{server.url}/v1/messages", json={**body, "stream": True}, headers=headers,
                      timeout=30) as response:  # fmt: skip
        assert response.headers["content-type"].startswith("text/event-stream")
        lines, arrivals = _timed(line for line in response.iter_lines() if line.startswith("data: "))
    return [(json.loads(line[6:])["type"], json.loads(line[6:])) for line in lines], arrivals


def test_openai_streams_paced_with_the_same_text(server: ModelServer) -> None:
    # Given a question, answered unstreamed
    messages = [{"role": "user", "content": QUESTION}]
    whole = _chat(server, model="local-small", messages=messages)
    # When it is asked again as a stream, with usage
    stream = _chat(server, model="local-small", messages=messages, stream=True,
                   stream_options={"include_usage": True})  # fmt: skip
    chunks, arrivals = _timed(iter(stream))
    # Then the pieces add up to the same text, the first well before the end, then finish and usage
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len(chunks) > 4
    assert arrivals[0] < arrivals[-1] / 2
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_openai_streams_tool_calls(server: ModelServer) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    messages = [{"role": "user", "content": "What is the weather in Paris? Use get_weather."}]
    chunks = list(_chat(server, model="local-medium", messages=messages, tools=tools, stream=True))
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert calls[0].function.name == "get_weather"
    assert calls[0].id
    assert json.loads("".join(call.function.arguments or "" for call in calls)) == {"city": "sample"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_anthropic_answers_and_streams_the_same_text(server: ModelServer) -> None:
    body = {"model": "local-small", "max_tokens": 300, "messages": [{"role": "user", "content": QUESTION}]}
    # Given the unstreamed message
    message = _messages(server, body).json()
    assert (message["type"], message["stop_reason"]) == ("message", "end_turn")
    # When it is streamed
    events, arrivals = _anthropic_events(server, body)
    # Then the events come in Anthropic's order, paced, with the same text and the usage
    kinds = [kind for kind, _ in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [event["delta"]["text"] for kind, event in events if kind == "content_block_delta"]
    assert "".join(deltas) == message["content"][0]["text"]
    assert events[-2][1]["usage"]["output_tokens"] == message["usage"]["output_tokens"]
    assert arrivals[0] < arrivals[-1] / 2


def test_anthropic_streams_a_forced_tools_json_as_input_json_deltas(server: ModelServer) -> None:
    body = {"model": "local-large", "max_tokens": 300, "messages": [{"role": "user", "content": "Weather?"}],
            "tools": [{"name": "answer", "input_schema": WEATHER}],
            "tool_choice": {"type": "tool", "name": "answer"}}  # fmt: skip
    message = _messages(server, body).json()
    events, _ = _anthropic_events(server, body)
    start = next(event for kind, event in events if kind == "content_block_start")["content_block"]
    partial = "".join(e["delta"]["partial_json"] for kind, e in events if kind == "content_block_delta")
    assert (start["type"], start["name"]) == ("tool_use", "answer")
    assert json.loads(partial) == message["content"][0]["input"]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_anthropic_errors_have_anthropics_shape(server: ModelServer) -> None:
    server.inject("local-small", "server_error", times=1)
    body = {"model": "local-small", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}
    response = _messages(server, body)
    assert response.status_code == 529
    assert response.json() == {"type": "error", "error": {"type": "overloaded_error", "message": (
        "The server had an error while processing your request.")}}  # fmt: skip
    assert _messages(server, {"model": "local-small"}).json()["error"]["type"] == "invalid_request_error"


def test_bedrock_converse_stream_is_paced_with_the_same_text(server: ModelServer) -> None:
    # Given the unstreamed Converse answer
    request = {"modelId": "local.small-v1:0", "messages": [{"role": "user", "content": [{"text": QUESTION}]}]}
    whole = _bedrock(server).converse(**request)
    # When boto3 streams it (parsing the real binary event stream)
    events, arrivals = _timed(iter(_bedrock(server).converse_stream(**request)["stream"]))
    # Then the events, their text and the usage match
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart"
    assert kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert events[-1]["metadata"]["usage"] == whole["usage"]
    assert arrivals[0] < arrivals[-1] / 2


def test_bedrock_streams_tool_use(server: ModelServer) -> None:
    tool = {"toolSpec": {"name": "get_weather", "inputSchema": {"json": WEATHER}}}
    events = list(_bedrock(server).converse_stream(
        modelId="local.medium-v1:0", toolConfig={"tools": [tool]},
        messages=[{"role": "user", "content": [{"text": "What is the weather in Paris? Use get_weather."}]}],
    )["stream"])  # fmt: skip
    start = next(e["contentBlockStart"]["start"]["toolUse"] for e in events if "contentBlockStart" in e)
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e
    ]
    assert start["name"] == "get_weather"
    assert json.loads("".join(fragments)) == {"city": "sample"}
    assert next(e["messageStop"]["stopReason"] for e in events if "messageStop" in e) == "tool_use"


def test_stream_error_sends_each_protocols_error_event(server: ModelServer) -> None:
    # OpenAI: an {"error": …} data event, which the openai package raises
    server.inject("local-small", "stream_error", times=3)
    with pytest.raises(openai.APIError):
        list(
            _chat(server, model="local-small", messages=[{"role": "user", "content": QUESTION}], stream=True)
        )
    # Anthropic: an error event, after some text, without message_stop
    body = {"model": "local-small", "max_tokens": 300, "messages": [{"role": "user", "content": QUESTION}]}
    events, _ = _anthropic_events(server, body)
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    assert "content_block_delta" in [kind for kind, _ in events]
    # Bedrock: a modelStreamErrorException, which boto3 raises
    request = {"modelId": "local.small-v1:0", "messages": [{"role": "user", "content": [{"text": QUESTION}]}]}
    with pytest.raises(EventStreamError, match="modelStreamErrorException"):
        list(_bedrock(server).converse_stream(**request)["stream"])


def test_stream_cut_closes_the_connection_without_a_terminal_event(server: ModelServer) -> None:
    server.inject("local-small", "stream_cut", times=2)
    received: list[str] = []
    # When an OpenAI stream is cut, Then the client sees a broken body after some data, no [DONE]
    with pytest.raises(httpx.RemoteProtocolError):  # noqa: PT012
        body = {"model": "local-small", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=30) as response:
            received.extend(response.iter_lines())
    assert any(line.startswith("data: {") for line in received)
    assert "data: [DONE]" not in received
    # And a cut Bedrock stream ends without messageStop
    request = {"modelId": "local.small-v1:0", "messages": [{"role": "user", "content": [{"text": QUESTION}]}]}
    events: list[dict[str, Any]] = []
    with pytest.raises(Exception):  # noqa: B017, PT011, PT012 (botocore's own error for a broken body)
        for event in _bedrock(server).converse_stream(**request)["stream"]:
            events.append(event)
    assert "messageStop" not in [next(iter(event)) for event in events]


def test_the_routers_anthropic_adapter_reads_the_simulated_messages_api(server: ModelServer) -> None:
    # Given a catalog entry for an Anthropic-protocol model on the model server
    entry = model_entry("claude-local", provider="anthropic", model_id="local-medium-2026-01-01",
                        base_url=server.url, api_key={"secretsmanager": "anthropic"})  # fmt: skip
    entry.pop("region")
    document = minimal_policy()
    document["models"], document["routes"] = [entry], [{"name": "default", "models": ["claude-local"]}]
    spec = policy_from(document).policy.model_by_id["claude-local"]
    provider = AnthropicProvider(StaticKeyResolver({"anthropic": "local"}))
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    for body in (
        {"model": "auto", "messages": [{"role": "user", "content": QUESTION}]},
        {"model": "auto", "messages": [{"role": "user", "content": QUESTION}],
         "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}},
    ):  # fmt: skip
        # When the router's adapter calls it, for text and for a JSON-schema answer (a forced tool)
        call = ProviderCall(spec, parse_chat_request(json.dumps(body).encode()), 300, 30.0, "request-1")
        result = provider.complete(call)
        # Then it reads the answer
        assert result.finish_reason == "stop"
        assert result.content
        assert result.usage.output_tokens > 0
        if "response_format" in body:
            assert json.loads(result.content) == {"title": "sample"}
