"""Feedback from the official clients, through the local API Gateway stand-in and the real authorizer:
the ``openai`` package after a chat completion and the ``anthropic`` package after a Message, each with
``client.post``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.helpers import load_event
from tests.integration.rig import RouterRig, behind_gateway, router_environment, running_router


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RouterRig, dict[str, str], str]]:
    router_environment(monkeypatch)
    with running_router() as rig, behind_gateway(rig, ("acme-support", "devtools")) as (tokens, url):
        yield rig, tokens, url


def _body(event: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load_event(event)["body"])
    return body


def _openai(url: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=30)


def _key_in_x_api_key(request: httpx.Request) -> None:
    """The key moved from Authorization to x-api-key, as Claude Code and earlier SDKs send it."""
    request.headers["x-api-key"] = request.headers.pop("Authorization").removeprefix("Bearer ")


def test_the_openai_client_rates_a_chat_completion(served: tuple[RouterRig, dict[str, str], str]) -> None:
    rig, tokens, url = served
    client = _openai(url, tokens["acme-support"])
    # Given a chat completion
    completion = client.chat.completions.create(**_body("chat-support"))
    router = completion.model_extra["router"] if completion.model_extra else {}
    # When the same client sends a score for it
    answer = client.post(
        "/feedback", body={"request_id": router["request_id"], "score": 0.8}, cast_to=dict[str, Any]
    )
    # Then the router answers for that request, and its record holds the score
    assert answer["object"] == "router.feedback"
    assert (answer["request_id"], answer["model"], answer["reward"]) == (
        router["request_id"],
        completion.model,
        0.8,
    )
    [record] = rig.provenance_items("acme-support")
    assert float(record["feedback"]["score"]) == 0.8


def test_the_openai_client_gets_not_found_for_another_tenants_request(
    served: tuple[RouterRig, dict[str, str], str],
) -> None:
    _, tokens, url = served
    # Given acme-support's chat completion
    completion = _openai(url, tokens["acme-support"]).chat.completions.create(**_body("chat-support"))
    request_id = (completion.model_extra or {})["router"]["request_id"]
    # When devtools' client rates it
    with pytest.raises(openai.NotFoundError) as raised:
        _openai(url, tokens["devtools"]).post(
            "/feedback", body={"request_id": request_id, "thumbs": "down"}, cast_to=dict[str, Any]
        )
    # Then the client raises the OpenAI 404 on request_id
    assert (raised.value.code, raised.value.param) == ("request_not_found", "request_id")


def test_the_anthropic_client_rates_a_message_with_the_key_in_x_api_key(
    served: tuple[RouterRig, dict[str, str], str],
) -> None:
    rig, tokens, url = served
    hooks = {"request": [_key_in_x_api_key]}
    client = anthropic.Anthropic(
        base_url=url,
        api_key=tokens["acme-support"],
        max_retries=0,
        timeout=30,
        http_client=anthropic.DefaultHttpxClient(event_hooks=hooks),
    )
    # Given a Message answered through /v1/messages
    message = client.messages.create(**_body("messages-basic"))
    router = message.model_extra["router"] if message.model_extra else {}
    # When the same client sends a thumbs down with a label
    answer = client.post(
        "/v1/feedback",
        body={"request_id": router["request_id"], "thumbs": "down", "label": "wrong_answer"},
        cast_to=dict[str, Any],
    )
    # Then it is stored on that request's record
    assert (answer["request_id"], answer["reward"], answer["model"]) == (
        router["request_id"],
        0.0,
        message.model,
    )
    [record] = rig.provenance_items("acme-support")
    assert (record["feedback"]["thumbs"], record["feedback"]["label"]) == ("down", "wrong_answer")
