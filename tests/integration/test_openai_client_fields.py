"""Every Chat Completions field the pinned ``openai`` package can send, sent by that package through the
local API Gateway stand-in to the router, whole and streamed.

The request is the SDK-typed full request of ``tests/unit/test_openai_sdk_fields.py``. The answer's
``router.ignored_fields`` must be the list the answering model's provider declares for it
(:func:`modelrouter.providers.fields.ignored_fields`), in the response and in the provenance record.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
import yaml

from modelrouter.providers.fields import ignored_fields
from modelrouter.request import parse_chat_request
from tests.helpers import EXAMPLE_POLICY, policy_from
from tests.integration.rig import RouterRig
from tests.integration.test_openai_client import served
from tests.unit.test_openai_sdk_fields import full_request

__all__ = ["served"]  # the fixture, shared with test_openai_client

Served = tuple[RouterRig, dict[str, str], str]
POLICY = policy_from(yaml.safe_load(EXAMPLE_POLICY.read_text())).policy


def _client(url: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=30)


def _expected(request: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """The ignored fields of ``request`` for the model that answered, as its provider declares them."""
    answering = record["attempts"][-1]
    model = POLICY.model_by_id[answering["model"]]
    return list(ignored_fields(parse_chat_request(request), model, int(answering["max_tokens_sent"])))


@pytest.mark.parametrize("model", ["auto", "gpt-4o", "claude-sonnet-4"])
def test_the_sdk_sends_every_field_and_the_router_says_what_it_dropped(served: Served, model: str) -> None:
    rig, tokens, url = served
    request = {**full_request(), "model": model}

    # When the SDK sends every field it knows, for a tenant that may pin these models
    completion = _client(url, tokens["devtools"]).chat.completions.create(**request)  # type: ignore[call-overload]

    # Then it is answered (the SDK parsed a 200), and the router names what the answering model did not take
    router = completion.model_extra["router"]
    (record,) = rig.provenance_items("devtools")
    assert router["request_id"] == record["request_id"]
    assert router["ignored_fields"] == _expected(request, record) == record["ignored_fields"]
    # An audio answer is nothing any provider gives through the router: always among them
    assert {"audio", "modalities"} <= set(router["ignored_fields"])
    assert "function_call" in router["ignored_fields"]  # tool_choice was sent as well, and wins


def test_a_streamed_answer_lists_them_in_its_last_chunk(served: Served) -> None:
    rig, tokens, url = served
    request = {**full_request(), "model": "claude-sonnet-4", "response_format": {"type": "text"}}

    # When the SDK streams the full request
    stream = _client(url, tokens["devtools"]).chat.completions.create(**request, stream=True)  # type: ignore[call-overload]
    chunks = list(stream)

    # Then the chunk with the router block lists the ignored fields, as the record does
    routed = [c.model_extra["router"] for c in chunks if c.model_extra and "router" in c.model_extra]
    (record,) = rig.provenance_items("devtools")
    assert [block["ignored_fields"] for block in routed] == [_expected(request, record)]
    assert record["ignored_fields"] == routed[0]["ignored_fields"]


def test_a_near_miss_of_a_routing_key_is_named(served: Served) -> None:
    _, tokens, url = served

    # When a request says metadata.classification instead of metadata.data_classification
    completion = _client(url, tokens["acme-support"]).chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "Where is my parcel?"}],
        metadata={"classification": "internal", "ticket": "T-1"},
    )

    # Then the answer says so, and the free key is not mentioned
    assert (completion.model_extra or {})["router"]["ignored_fields"] == [
        "metadata.classification (did you mean metadata.data_classification?)"
    ]


def test_an_unknown_field_is_still_refused(served: Served) -> None:
    rig, tokens, url = served

    # When a field outside the OpenAI API is sent
    with pytest.raises(openai.BadRequestError) as caught:
        _client(url, tokens["devtools"]).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "Hi"}], extra_body={"temprature": 0.2}
        )

    # Then it is a 400 naming it, and no model is called
    assert caught.value.param == "temprature"
    assert json.loads(caught.value.response.text)["error"]["param"] == "temprature"
    assert rig.model_calls() == 0
