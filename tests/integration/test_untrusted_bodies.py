"""Hostile request bodies through the router handler (issue 8, items 3 and 8): each is an OpenAI 400
naming the field, before any model is called, and a remote ``$ref`` never opens a connection."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import load_event
from tests.integration.rig import RouterRig, router_environment, running_router

Body = dict[str, Any]


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


def _schema(schema: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["response_format"]["json_schema"]["schema"] = schema

    return change


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth // 2):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def _set(field: str, value: Any) -> Callable[[Body], None]:
    return lambda body: body.__setitem__(field, value)


def _last_message(content: Any) -> Callable[[Body], None]:
    return lambda body: body["messages"][-1].__setitem__("content", content)


_SCHEMA = "response_format.json_schema.schema"
_CASES: list[tuple[str, Callable[[Body], None], str]] = [
    ("file-ref", _schema({"$ref": "file:///etc/passwd"}), f"{_SCHEMA}.$ref"),
    ("missing-defs", _schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/gone"}}}), _SCHEMA),
    ("schema-400-deep", _schema(_nested(400)), _SCHEMA),
    ("surrogate", _last_message("total \ud800"), "messages[1].content"),
    ("max-tokens-string", _set("max_tokens", "100"), "max_tokens"),
    ("max-tokens-bool", _set("max_tokens", True), "max_tokens"),
    (
        "image-file-url",
        _last_message([{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]),
        "messages[1].content[0].image_url.url",
    ),
]


def _event(change: Callable[[Body], None]) -> dict[str, Any]:
    event = copy.deepcopy(load_event("chat-json-schema"))
    body = json.loads(event["body"])
    change(body)
    event["body"] = json.dumps(body)  # a lone surrogate is sent escaped, as any JSON client sends it
    return event


def _assert_refused(rig: RouterRig, event: dict[str, Any], param: str) -> None:
    status, body, _ = rig.call(event)
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request"
    assert (body["error"]["param"] or "").startswith(param)
    assert rig.model_calls() == 0


@pytest.mark.parametrize(("name", "change", "param"), _CASES, ids=[case[0] for case in _CASES])
def test_hostile_bodies_are_a_400_before_any_model_call(
    rig: RouterRig, name: str, change: Callable[[Body], None], param: str
) -> None:
    # Given the JSON-schema chat event made hostile, When handled,
    # Then a 400 naming the field, and no model was called
    _assert_refused(rig, _event(change), param)


def test_json_nested_10000_deep_is_a_400(rig: RouterRig) -> None:
    # Given a body with metadata nested 10,000 deep, When handled, Then a 400, not a RecursionError 500
    event = copy.deepcopy(load_event("chat-json-schema"))
    event["body"] = event["body"][:-1] + ', "metadata": ' + '{"a":' * 10_000 + "1" + "}" * 10_000 + "}"
    _assert_refused(rig, event, "")


def test_remote_ref_is_a_400_and_the_listener_gets_no_connection(
    rig: RouterRig, listener: tuple[str, socket.socket]
) -> None:
    url, server = listener
    # Given a schema whose $ref points at a local listener
    event = _event(_schema({"type": "object", "properties": {"a": {"$ref": f"{url}/x.json"}}}))
    # When handled, Then a 400 before any model call, and nothing connected to the listener
    _assert_refused(rig, event, _SCHEMA)
    with pytest.raises(TimeoutError):
        server.accept()


def test_the_dry_run_refuses_a_remote_ref_as_chat_does(
    rig: RouterRig, listener: tuple[str, socket.socket]
) -> None:
    # Given the JSON-schema request with a remote $ref, sent to POST /v1/route
    url, server = listener
    event = _event(_schema({"type": "object", "properties": {"a": {"$ref": f"{url}/x.json"}}}))
    dry_run = load_event("route-dry-run")
    for field in ("resource", "path", "httpMethod"):
        event[field] = dry_run[field]
    for field in ("resourcePath", "path", "httpMethod"):
        event["requestContext"][field] = dry_run["requestContext"][field]
    # When handled, Then the dry run gives chat's 400 (not a decision), and nothing connected
    _assert_refused(rig, event, _SCHEMA)
    with pytest.raises(TimeoutError):
        server.accept()
