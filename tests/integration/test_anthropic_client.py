"""The official ``anthropic`` package against the router's ``POST /v1/messages``, through the local API
Gateway stand-in.

Real HTTP on 127.0.0.1: the SDK's request goes to the authorizer (a key created in the key table), then
to the router handler, on moto; only the model providers are fakes. The same policy, budget and
provenance apply as on ``/v1/chat/completions``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import (
    ContentBlockParam,
    InputJSONDelta,
    MessageParam,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageDeltaEvent,
    TextBlock,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlock,
)

from modelrouter.request import AssistantMessage, ToolMessage, UserMessage
from tests.helpers import load_event
from tests.integration.budget_rig import ledger_items
from tests.integration.rig import RouterRig, behind_gateway, router_environment, running_router

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PATH_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"path": {"type": "string"}},
    "required": ["path"],
}
RUN_TESTS: ToolParam = {
    "name": "run_tests",
    "description": "Run the tests under a path.",
    "input_schema": PATH_SCHEMA,
}
"""A tool, as in ``events/chat-tool-call.json``."""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RouterRig, dict[str, str], str]]:
    router_environment(monkeypatch)
    with running_router() as rig, behind_gateway(rig, ("acme-support", "devtools")) as (tokens, url):
        yield rig, tokens, url


def _client(url: str, token: str, **options: Any) -> anthropic.Anthropic:
    """The SDK as a user configures it: the router's URL (the stage, without /v1) and a router key."""
    return anthropic.Anthropic(base_url=url, api_key=token, max_retries=0, timeout=30, **options)


def _basic() -> dict[str, Any]:
    """The request of ``events/messages-basic.json``."""
    body: dict[str, Any] = json.loads(load_event("messages-basic")["body"])
    return body


def _moving_key(token: str | None) -> anthropic.DefaultHttpxClient:
    """The SDK's HTTP client sending ``token`` in x-api-key only, as Claude Code and earlier SDKs do (this
    SDK sends ``api_key`` as a Bearer token); None: no key at all."""

    def move_key(request: Any) -> None:
        request.headers.pop("Authorization", None)
        if token is not None:
            request.headers["x-api-key"] = token

    return anthropic.DefaultHttpxClient(event_hooks={"request": [move_key]})


def test_a_text_answer_is_a_message_charged_and_recorded_once(
    served: tuple[RouterRig, dict[str, str], str],
) -> None:
    rig, tokens, url = served
    # When the SDK sends a system prompt and a question with the tenant's key
    reply = _client(url, tokens["acme-support"]).messages.create(**_basic())
    # Then it parses into the SDK's Message, with the router's block as an extra field
    assert (reply.type, reply.role, reply.stop_reason) == ("message", "assistant", "end_turn")
    assert reply.content[0].type == "text"
    assert reply.content[0].text.startswith("Answer from ")
    assert reply.usage.input_tokens > 0
    assert reply.usage.output_tokens > 0
    router = reply.model_extra["router"] if reply.model_extra else {}
    assert (router["model"], router["route"]) == (reply.model, "support-triage")
    assert reply.id == f"msg_{router['request_id']}"
    # And the request has one provenance record and one ledger item, at the same cost as the answer's
    [record] = rig.provenance_items("acme-support")
    assert record["request_id"] == router["request_id"]
    assert float(record["cost_usd"]) == pytest.approx(router["cost_usd"])
    [ledger] = ledger_items(rig.dynamodb, rig.tables["BudgetTable"], "acme-support")
    assert float(ledger["actual_usd"]["N"]) == pytest.approx(router["cost_usd"])
    assert router["cost_usd"] > 0
    # And the system prompt reached the model as the router's system message
    [call] = [c for provider in rig.providers.values() for c in provider.calls]
    assert call.request.messages[0].role == "system"


def test_a_tool_call_and_the_tool_result_turn(served: tuple[RouterRig, dict[str, str], str]) -> None:
    rig, tokens, url = served
    client = _client(url, tokens["devtools"])
    question: MessageParam = {
        "role": "user",
        "content": "Run the unit tests in sample; a python traceback appears.",
    }
    # When a tool is offered
    first = client.messages.create(model="auto", max_tokens=500, tools=[RUN_TESTS], messages=[question])
    # Then the answer is a tool_use block the SDK parses, with the arguments as an object
    assert first.stop_reason == "tool_use"
    [use] = [block for block in first.content if isinstance(block, ToolUseBlock)]
    assert (use.name, use.input) == ("run_tests", {"path": "sample"})
    # When the tool's result is sent back in the next user turn
    result: ToolResultBlockParam = {
        "type": "tool_result",
        "tool_use_id": use.id,
        "content": "2 passed, 1 failed",
    }
    conversation: list[MessageParam] = [
        question,
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [result]},
    ]
    second = client.messages.create(model="auto", max_tokens=500, tools=[RUN_TESTS], messages=conversation)
    # Then the model received it as a tool message answering that call, after the assistant's call
    assert second.type == "message"
    last = [c for provider in rig.providers.values() for c in provider.calls][-1].request
    tool_message = last.messages[-1]
    assert isinstance(tool_message, ToolMessage)
    assert (tool_message.tool_call_id, tool_message.text()) == (use.id, "2 passed, 1 failed")
    call = last.messages[-2]
    assert isinstance(call, AssistantMessage)
    assert [made.id for made in call.tool_calls or ()] == [use.id]


def test_an_image_is_routed_as_an_image(served: tuple[RouterRig, dict[str, str], str]) -> None:
    rig, tokens, url = served
    # When the SDK sends a base64 image and an image URL
    content: list[ContentBlockParam] = [
        {"type": "text", "text": "What is in these pictures?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    reply = _client(url, tokens["devtools"]).messages.create(
        model="auto", max_tokens=200, messages=[{"role": "user", "content": content}]
    )
    # Then the policy's image route answered, and the model got both images
    assert reply.model_extra is not None
    assert reply.model_extra["router"]["route"] == "vision"
    [call] = [c for provider in rig.providers.values() for c in provider.calls]
    message = call.request.messages[0]
    assert isinstance(message, UserMessage)
    assert message.images() == 2


def test_streaming_with_the_sdks_stream_helper(served: tuple[RouterRig, dict[str, str], str]) -> None:
    rig, tokens, url = served
    # When the SDK streams with its helper
    with _client(url, tokens["acme-support"]).messages.stream(**_basic()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    # Then the text arrives in pieces that make the answer, and the final message is complete
    assert text.startswith("Answer from ")
    assert [block.text for block in final.content if isinstance(block, TextBlock)] == [text]
    assert (final.stop_reason, final.usage.output_tokens > 0) == ("end_turn", True)
    # And the streamed request is recorded once, as a stream
    [record] = rig.provenance_items("acme-support")
    assert record["streaming"]["end"] == "complete"


def test_streaming_raw_events_carry_the_router_block(served: tuple[RouterRig, dict[str, str], str]) -> None:
    _, tokens, url = served
    # When the SDK asks for the raw event stream of a tool call
    events = list(
        _client(url, tokens["devtools"]).messages.create(
            model="auto", max_tokens=500, tools=[RUN_TESTS], stream=True,
            messages=[{"role": "user", "content": "Run the python tests in sample please"}],
        )
    )  # fmt: skip
    # Then they are Anthropic's events, in order, with the tool's input as JSON deltas
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    starts = [event for event in events if isinstance(event, RawContentBlockStartEvent)]
    assert [start.content_block.type for start in starts] == ["tool_use"]
    fragments = "".join(
        event.delta.partial_json
        for event in events
        if isinstance(event, RawContentBlockDeltaEvent) and isinstance(event.delta, InputJSONDelta)
    )
    assert json.loads(fragments) == {"path": "sample"}
    # And message_delta has the stop reason, the usage and the router block
    delta = events[-2]
    assert isinstance(delta, RawMessageDeltaEvent)
    assert delta.delta.stop_reason == "tool_use"
    assert delta.model_extra is not None
    assert delta.model_extra["router"]["stream"]["end"] == "complete"


def test_bad_requests_and_bad_keys_are_the_sdks_own_exceptions(
    served: tuple[RouterRig, dict[str, str], str],
) -> None:
    rig, tokens, url = served
    # When a request has a field Anthropic's API does not have
    with pytest.raises(anthropic.BadRequestError) as bad:
        _client(url, tokens["acme-support"]).messages.create(**_basic(), extra_body={"temprature": 0.5})
    # Then it is a 400 in Anthropic's error shape that names the field and suggests the right one
    assert bad.value.status_code == 400
    assert isinstance(bad.value.body, dict)
    error = bad.value.body["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "temprature")
    assert "did you mean 'temperature'" in error["message"]
    # When the key is wrong, or there is none, Then the SDK raises AuthenticationError
    wrong = _client(url, "mr_" + "a" * 12 + "_" + "A" * 43)
    keyless = _client(url, "unused", http_client=_moving_key(None))
    for client in (wrong, keyless):
        with pytest.raises(anthropic.AuthenticationError) as refused:
            client.messages.create(**_basic())
        assert "key" in str(refused.value).lower()
    # And no model was called, nothing recorded
    assert rig.model_calls() == 0
    assert rig.provenance_items("acme-support") == []


def test_a_key_in_x_api_key_works_and_routing_metadata_comes_from_the_header_or_the_body(
    served: tuple[RouterRig, dict[str, str], str],
) -> None:
    _, tokens, url = served
    client = _client(url, "unused", http_client=_moving_key(tokens["devtools"]))
    question: list[MessageParam] = [{"role": "user", "content": "Summarise the history of lighthouses."}]
    # When a request carries the budget-saver tag in the X-Router-Metadata header, or in metadata
    by_header = client.messages.create(
        model="auto", max_tokens=100, messages=question,
        extra_headers={"X-Router-Metadata": json.dumps({"tags": "budget-saver"})},
    )  # fmt: skip
    metadata = {"user_id": "u-1", "tags": "budget-saver"}  # keys beyond user_id: not in the SDK's type
    by_body = client.messages.create(
        model="auto", max_tokens=100, messages=question, extra_body={"metadata": metadata}
    )
    plain = client.messages.create(model="auto", max_tokens=100, messages=question)
    # Then the tag routed the first two (the key in x-api-key was accepted), not the third
    routes = [
        reply.model_extra["router"]["route"] for reply in (by_header, by_body, plain) if reply.model_extra
    ]
    assert routes == ["budget-saver", "budget-saver", "general"]
    # And a header that is not a JSON object is a 400 naming it
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(
            model="auto", max_tokens=100, messages=question, extra_headers={"X-Router-Metadata": "tags=a"}
        )
    assert isinstance(bad.value.body, dict)
    assert bad.value.body["error"]["param"] == "X-Router-Metadata"


def test_count_tokens_and_a_pinned_model(served: tuple[RouterRig, dict[str, str], str]) -> None:
    rig, tokens, url = served
    client = _client(url, tokens["devtools"])
    question: list[MessageParam] = [{"role": "user", "content": "Hello there, how are you today?"}]
    # When the SDK counts a request's tokens, Then it gets the router's estimate and no model is called
    counted = client.messages.count_tokens(model="auto", messages=question)
    assert counted.input_tokens > 0
    assert rig.model_calls() == 0
    # When it names a model the tenant may pin, Then that model answers
    assert (
        client.messages.create(model="claude-haiku", max_tokens=50, messages=question).model == "claude-haiku"
    )
    # And one it may not name is the SDK's NotFoundError
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="no-such-model", max_tokens=50, messages=question)


def test_an_idempotent_retry_returns_the_first_message(served: tuple[RouterRig, dict[str, str], str]) -> None:
    rig, tokens, url = served
    client = _client(url, tokens["acme-support"])
    # When the same request is sent twice with one Idempotency-Key
    first, second = (
        client.messages.with_raw_response.create(**_basic(), extra_headers={"Idempotency-Key": "retry-1"})
        for _ in range(2)
    )
    # Then the second is the stored first answer, and only one request was charged and recorded
    assert second.parse().id == first.parse().id
    assert (first.headers["idempotent-replayed"], second.headers["idempotent-replayed"]) == ("false", "true")
    assert len(rig.provenance_items("acme-support")) == 1


def test_the_event_through_the_handler_and_errors_in_anthropics_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router_environment(monkeypatch)
    with running_router() as rig:
        # When the checked-in event is handled as API Gateway would pass it
        status, body, headers = rig.call(load_event("messages-basic"))
        # Then the answer is a Message for the event's request id
        assert (status, body["type"], body["id"]) == (200, "message", "msg_req-messages-basic")
        assert headers["x-request-id"] == "req-messages-basic"
        # And a body that is not JSON, or a request without a tenant, fails in Anthropic's error shape
        broken = load_event("messages-basic")
        broken["body"] = "{not json"
        status, body, _ = rig.call(broken)
        assert (status, body["type"], body["error"]["type"]) == (400, "error", "invalid_request_error")
        anonymous = load_event("messages-basic")
        del anonymous["requestContext"]["authorizer"]
        status, body, _ = rig.call(anonymous)
        assert (status, body["error"]["type"]) == (401, "authentication_error")
