"""Streaming end to end through the local API Gateway, with the official ``openai`` package (issue 9).

The local stack runs the real router handler (in this process), the embedded AWS, and the simulated
models paced as they would be (time to first token, then tokens at a pace): the first token reaches the
client well before the last; a failure before the first token falls back; one after it ends the stream
as an error (and the record says so); text guardrails cut and redact while the answer streams; a client
that hangs up stops the model call and is charged for what was generated.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from boto3.dynamodb.types import TypeDeserializer
from openai import Stream
from openai.types.chat import ChatCompletionChunk

from modelrouter.local.stack import DEFAULT_POLICY, LocalStack, StackOptions

LATENCY_SCALE = 3.0
"""The simulated models' pace, slowed so a first token and the last are far apart on a busy machine."""
BLOCKED = "pineapples"
"""A word the simulated models repeat from the prompt: the cutting tenant's route blocks it."""
CARD = "4111 1111 1111 1111"


def _policy(tmp: Path) -> Path:
    """Local mode's policy plus two tenants whose routes stream through text guardrails."""
    document = yaml.safe_load(DEFAULT_POLICY.read_text())
    for tenant in ("cutter", "redactor"):
        document["tenants"].append({
            "id": tenant, "budget": {"daily_usd": 5}, "max_classification": "confidential",
            "allowed_tags": ["cheap", "general", "frontier"],
        })  # fmt: skip
    document["routes"][:0] = [
        {"name": "cut-stream", "when": {"tenants": ["cutter"]}, "models": ["local-large"],
         "streaming": "incremental", "checks": {"guardrails": {"blocked_terms": [BLOCKED]}}},
        {"name": "redact-stream", "when": {"tenants": ["redactor"]}, "models": ["local-medium"],
         "streaming": "incremental", "checks": {"guardrails": {"pii": "redact"}}},
    ]  # fmt: skip
    path = tmp / "streaming.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copytree(DEFAULT_POLICY.parent / "routers", tmp / "routers")  # its learned route's artifact
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    policy = _policy(tmp_path_factory.mktemp("policy"))
    options = StackOptions(policy=policy, port=0, models_port=0, latency_scale=LATENCY_SCALE, containers=0)
    with LocalStack(options) as running:
        # a warm container: the policy loaded and the clients created, as after the first request
        _stream(running, model="local-small", messages=_messages()).close()
        yield running


@pytest.fixture(autouse=True)
def _no_faults(stack: LocalStack) -> Iterator[None]:
    yield
    stack.models.clear()


def _client(stack: LocalStack, tenant: str = "devtools") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{stack.url}/v1", api_key=stack.api_keys[tenant], max_retries=0, timeout=60
    )


def _stream(stack: LocalStack, tenant: str = "devtools", **request: Any) -> Stream[ChatCompletionChunk]:
    """``chat.completions.create(stream=True, **request)`` as ``tenant``."""
    create: Any = _client(stack, tenant).chat.completions.create
    stream: Stream[ChatCompletionChunk] = create(stream=True, **request)
    return stream


def _messages(text: str = "Tell me about lighthouses and their keepers") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _record(stack: LocalStack, request_id: str, timeout_s: float = 15.0) -> dict[str, Any]:
    """The provenance record of ``request_id`` (waits: a cancelled stream closes just after)."""
    assert stack.resources is not None
    table = stack.resources.tables["ProvenanceTable"]
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        for item in stack.client("dynamodb").scan(TableName=table)["Items"]:
            record = {key: TypeDeserializer().deserialize(value) for key, value in item.items()}
            if record["request_id"] == request_id:
                return record
        time.sleep(0.1)
    raise AssertionError(f"no provenance record for {request_id}")


def test_the_first_token_arrives_before_half_of_the_stream(stack: LocalStack) -> None:
    # Given a paced model (local-large: 100 ms to the first token, 8 ms a token, ×3)
    # When a client streams through the gateway
    started = time.monotonic()
    first_content: float | None = None
    pieces = []
    with _stream(stack, model="local-large", messages=_messages()) as stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first_content = first_content or time.monotonic() - started
                pieces.append(chunk.choices[0].delta.content)
        request_id = stream.response.headers["x-request-id"]
    total = time.monotonic() - started
    # Then the first content came before half of the whole, and it came in several pieces
    assert first_content is not None
    assert first_content < total / 2, f"first token at {first_content:.3f} s of {total:.3f} s"
    assert len(pieces) >= 3
    assert "".join(pieces).startswith("[local-large]")
    # and the record has the stream's figures
    record = _record(stack, request_id)
    assert record["outcome"] == "success"
    assert record["streaming"]["mode"] == "incremental"
    assert record["streaming"]["end"] == "complete"
    assert record["streaming"]["chunks"] == len(pieces)
    assert float(record["streaming"]["first_token_ms"]) < float(record["latency_ms"]) / 2


@pytest.mark.parametrize("model", ["local-medium", "local-medium-claude"])
def test_bedrock_and_anthropic_models_stream_too(stack: LocalStack, model: str) -> None:
    # Given a model on Bedrock's ConverseStream or Anthropic's Messages events
    # When streamed through the gateway
    with _stream(stack, model=model, messages=_messages()) as stream:
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    # Then the answer is that model's
    assert text.startswith("[local-medium]")


def test_a_failure_before_the_first_token_falls_back_invisibly(stack: LocalStack) -> None:
    # Given the general route's first model failing before it sends anything
    stack.models.inject("local-small", "server_error", times=10)
    # When a client streams
    with _stream(stack, model="general", messages=_messages()) as stream:
        chunks = [c for c in stream if c.choices]
        request_id = stream.response.headers["x-request-id"]
    # Then the answer streams from the next model, and the record shows the failed attempt
    models = {c.model for c in chunks}
    assert models == {"local-medium"}
    record = _record(stack, request_id)
    assert record["outcome"] == "success"
    assert [a["outcome"] for a in record["attempts"]][-1] == "success"
    assert record["attempts"][0]["model"] == "local-small"
    assert record["attempts"][0]["outcome"] == "error"


@pytest.mark.parametrize("fault", ["stream_error", "stream_cut"])
def test_a_failure_after_the_first_token_ends_the_stream_as_an_error(stack: LocalStack, fault: str) -> None:
    # Given a model that breaks after half of its answer
    stack.models.inject("local-large", fault, times=10)
    received: list[str] = []
    # When a client streams, Then the openai package raises at the end of what was sent
    stream = _stream(stack, model="local-large", messages=_messages())
    request_id = stream.response.headers["x-request-id"]
    with pytest.raises(openai.APIError) as raised:
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "incomplete" in str(raised.value)
    assert "".join(received).startswith("[local-large]")
    # and the record says failure, not success, with no fallback after the first token
    record = _record(stack, request_id)
    assert record["outcome"] == "error"
    assert record["streaming"]["end"] == "provider_error"
    assert [a["model"] for a in record["attempts"]] == ["local-large"]
    assert float(record["cost_usd"]) > 0


def test_a_guardrail_cuts_the_stream_before_the_blocked_word(stack: LocalStack) -> None:
    # Given a route that blocks a word the model will say after a few tokens
    # When the client streams
    with _stream(
        stack, "cutter", model="auto", messages=_messages(f"Tell me about {BLOCKED} please")
    ) as stream:
        chunks = [c for c in stream if c.choices]
        request_id = stream.response.headers["x-request-id"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    # Then the opening was sent, the word never was, and the stream ended as content_filter
    assert text.startswith("[local-large]")
    assert BLOCKED not in text.lower()
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    record = _record(stack, request_id)
    assert record["error_code"] == "content_filtered"
    assert record["streaming"]["end"] == "content_filter"


def test_personal_data_in_a_streamed_answer_is_redacted(stack: LocalStack) -> None:
    # Given a route that redacts personal data, and a conversation whose tool result the model repeats
    messages = [
        {"role": "user", "content": "Which card is on file?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "card", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"card {CARD} on file"},
    ]  # fmt: skip
    tools = [{"type": "function", "function": {"name": "card", "parameters": {"type": "object"}}}]
    # When the answer streams (in pieces of a few tokens, so the number is split across them)
    with _stream(stack, "redactor", model="auto", messages=messages, tools=tools) as stream:
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    # Then not a digit of the number reached the client; the redaction marker did
    assert "4111" not in text
    assert "[REDACTED:" in text


def test_a_client_that_hangs_up_is_charged_for_what_was_generated(stack: LocalStack) -> None:
    # Given a long, paced answer
    key = stack.api_keys["devtools"]
    body = {"model": "local-large", "messages": _messages(), "stream": True}
    # When the client reads the first event and hangs up
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            "POST", f"{stack.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as response,
    ):
        request_id = response.headers["x-request-id"]
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        assert json.loads(first[6:])["object"] == "chat.completion.chunk"
    # Then the router stopped the call and charged what was generated, flagged as its own count
    record = _record(stack, request_id)
    assert record["streaming"]["end"] == "client_disconnected"
    attempt = record["attempts"][-1]
    assert attempt["outcome"] == "cancelled"
    assert attempt["usage_estimated"] is True
    assert float(record["cost_usd"]) > 0
