"""Regression (issue 8, item 9) through the router handler: a card number anywhere a model reads it is
refused for a tenant cleared only for internal data, exactly as in a message, before any model call."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.helpers import load_event, minimal_policy
from tests.integration.rig import router_environment, running_router

CARD = "4111.1111.1111.1111"


def _body(place: str) -> dict[str, Any]:
    tool = {
        "type": "function",
        "function": {
            "name": "charge",
            "description": "Charge the customer.",
            "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
        },
    }
    schema: dict[str, Any] = {"type": "object", "properties": {"status": {"type": "string"}}}
    body: dict[str, Any] = {
        "model": "auto",
        "messages": [{"role": "user", "content": "Charge the customer 20 EUR."}],
        "tools": [tool],
        "response_format": {"type": "json_schema", "json_schema": {"name": "receipt", "schema": schema}},
    }
    if place == "message":
        body["messages"][0]["content"] += f" Card {CARD}."
    elif place == "tool_description":
        tool["function"]["description"] += f" Card {CARD}."
    elif place == "tool_parameters":
        tool["function"]["parameters"]["properties"]["card"] = {"type": "string", "enum": [CARD]}
    elif place == "schema_const":
        schema["properties"]["card"] = {"const": CARD}
    elif place == "stop":
        body["stop"] = CARD
    return body


def test_card_in_tools_schema_or_stop_gets_the_same_403_as_in_a_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a tenant cleared only for internal data, on a router with the real handler
    router_environment(monkeypatch)
    policy = minimal_policy()
    policy["tenants"][0]["max_classification"] = "internal"
    template = load_event("chat-support")
    template["requestContext"]["authorizer"]["lambda"]["tenant_id"] = "t1"
    with running_router(json.dumps(policy)) as rig:
        answers = {}
        for place in ("message", "tool_description", "tool_parameters", "schema_const", "stop", "none"):
            event = copy.deepcopy(template)
            event["requestContext"]["requestId"] = f"req-pii-{place}"
            event["body"] = json.dumps(_body(place))

            # When each request is handled
            status, body, _ = rig.call(event)
            answers[place] = (status, body.get("error", {}).get("code"))

        # Then the card is refused wherever it is, as in a message, and no model was called for it
        refused = (403, "classification_not_allowed")
        assert answers == {
            "message": refused,
            "tool_description": refused,
            "tool_parameters": refused,
            "schema_const": refused,
            "stop": refused,
            "none": (200, None),
        }
        assert rig.model_calls() == 1  # the control request only
