"""The official ``openai`` package against the router, through the local API Gateway stand-in.

Real HTTP on 127.0.0.1: the SDK's request goes to the authorizer (a key created in the key table), then
to the router handler, on moto; only the model providers are fakes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from modelrouter.keys import KeyStore
from tests.helpers import load_event
from tests.integration.rig import RouterRig, behind_gateway, router_environment, running_router


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RouterRig, dict[str, str], str]]:
    router_environment(monkeypatch)
    with (
        running_router() as rig,
        behind_gateway(rig, ("acme-support", "lexdoc-eu", "devtools")) as (tokens, url),
    ):
        yield rig, tokens, url


def _client(url: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=30)


def _without_key(request: httpx.Request) -> None:
    """The request as sent by a client without an API key."""
    del request.headers["Authorization"]


def _request(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load_event(name)["body"])
    return body


def test_openai_sdk_completes_a_chat(served: tuple[RouterRig, dict[str, str], str]) -> None:
    rig, tokens, url = served
    # When the SDK asks for a completion with the tenant's key
    completion = _client(url, tokens["acme-support"]).chat.completions.create(**_request("chat-support"))

    # Then it parses into the SDK's types, with the router's summary as an extra field
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    router = completion.model_extra["router"]
    assert router["model"] == completion.model
    assert [r["request_id"] for r in rig.provenance_items("acme-support")] == [router["request_id"]]


def test_openai_sdk_json_schema_request(served: tuple[RouterRig, dict[str, str], str]) -> None:
    _, tokens, url = served
    request = _request("chat-json-schema")

    completion = _client(url, tokens["lexdoc-eu"]).chat.completions.create(**request)

    content = completion.choices[0].message.content
    assert content is not None
    jsonschema.validate(json.loads(content), request["response_format"]["json_schema"]["schema"])


def test_openai_sdk_tool_call(served: tuple[RouterRig, dict[str, str], str]) -> None:
    _, tokens, url = served

    completion = _client(url, tokens["devtools"]).chat.completions.create(**_request("chat-tool-call"))

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "run_tests"
    assert json.loads(call.function.arguments) == {"path": "sample"}


def test_openai_sdk_stream(served: tuple[RouterRig, dict[str, str], str]) -> None:
    _, tokens, url = served
    request = _request("chat-stream")

    stream = _client(url, tokens["acme-support"]).chat.completions.create(**request)
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Answer from ")
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


def test_openai_sdk_lists_models(served: tuple[RouterRig, dict[str, str], str]) -> None:
    _, tokens, url = served
    ids = [model.id for model in _client(url, tokens["devtools"]).models.list()]
    assert ids[0] == "auto"
    assert "gpt-4o" in ids


def test_openai_sdk_sees_auth_and_routing_errors_as_its_own_exceptions(
    served: tuple[RouterRig, dict[str, str], str],
) -> None:
    rig, tokens, url = served
    request = _request("chat-support")
    keys = KeyStore(rig.tables["ApiKeyTable"], client=rig.dynamodb)
    revoked = keys.create("acme-support")
    keys.revoke(revoked.key_id)
    keyless = openai.DefaultHttpxClient(event_hooks={"request": [_without_key]})
    refused = {
        "no key": openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, http_client=keyless),
        "a wrong key": _client(url, "mr_" + "a" * 12 + "_" + "A" * 43),
        "a revoked key": _client(url, revoked.token),
    }  # fmt: skip
    for why, client in refused.items():
        # When the SDK calls with no key, a wrong key or a revoked key
        with pytest.raises(openai.AuthenticationError) as refusal:
            client.chat.completions.create(**request)
        # Then API Gateway's 401 is the SDK's AuthenticationError, OpenAI's code, and a hint to act on
        assert refusal.value.code == "invalid_api_key", why
        assert refusal.value.response.headers["www-authenticate"] == "Bearer", why
        assert "key" in refusal.value.message.lower(), why
    # A bad parameter: 400 with the field named
    with pytest.raises(openai.BadRequestError) as caught:
        _client(url, tokens["acme-support"]).chat.completions.create(**{**request, "temperature": 9})
    assert caught.value.param == "temperature"
    assert rig.model_calls() == 0
