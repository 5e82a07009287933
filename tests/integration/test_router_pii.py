"""Regression (issue 8, item 9) through the router handler: a card number anywhere a model reads it is
refused for a tenant cleared only for internal data, exactly as in a message, before any model call."""

from __future__ import annotations

import copy
import json

import pytest

from tests.helpers import load_event, minimal_policy, with_tenant
from tests.integration.rig import router_environment, running_router
from tests.pii_bodies import body_with_card


def test_card_in_tools_schema_or_stop_gets_the_same_403_as_in_a_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a tenant cleared only for internal data, on a router with the real handler
    router_environment(monkeypatch)
    policy = minimal_policy()
    policy["tenants"][0]["max_classification"] = "internal"
    template = load_event("chat-support")
    with_tenant(template, "t1")
    with running_router(json.dumps(policy)) as rig:
        answers = {}
        for place in ("message", "tool_description", "tool_parameters", "schema_const", "stop", "none"):
            event = copy.deepcopy(template)
            event["requestContext"]["requestId"] = f"req-pii-{place}"
            event["body"] = json.dumps(
                {"model": "auto", **body_with_card(None if place == "none" else place)}
            )

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
