"""``POST /v1/feedback`` through the router handler on moto: rating chat completions and Messages, the
comment kept only where the tenant stores text, the EMF metric, tenant isolation and the 4xx answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.helpers import EXAMPLE_POLICY, load_event, rest_event, with_tenant
from tests.integration.rig import RouterRig, router_environment, running_router

RATED = "req-chat-support"
"""The request id of ``events/chat-support.json`` (acme-support), which ``events/feedback.json`` rates."""


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


def _feedback(body: Any, tenant_id: str | None = "acme-support") -> dict[str, Any]:
    """A ``POST /v1/feedback`` event from ``events/feedback.json`` with another body or tenant."""
    event = load_event("feedback")
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return with_tenant(event, tenant_id)


def _answered(rig: RouterRig, event: str = "chat-support") -> dict[str, Any]:
    status, body, _ = rig.call(load_event(event))
    assert status == 200, body
    router: dict[str, Any] = body["router"]
    return router


def _record(rig: RouterRig, tenant: str = "acme-support") -> dict[str, Any]:
    [record] = rig.provenance_items(tenant)
    return record


def test_the_feedback_event_rates_the_chat_support_answer(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the answer to events/chat-support.json
    router = _answered(rig)
    capsys.readouterr()
    # When events/feedback.json rates it (thumbs up, a label, a comment)
    status, body, headers = rig.call(load_event("feedback"))
    # Then the answer says what was stored, for the route and model that answered
    assert status == 200
    assert body == {
        "object": "router.feedback",
        "request_id": RATED,
        "route": router["route"],
        "model": router["model"],
        "reward": 1.0,
        "replaced": False,
        "comment_stored": False,  # acme-support does not store text
        "learning_adjusted": False,  # not a bandit route
    }
    assert headers["x-request-id"] == "req-feedback"
    # And the record holds the feedback without the comment
    feedback = _record(rig)["feedback"]
    assert {key: feedback[key] for key in ("thumbs", "score", "label", "comment", "comment_stored")} == {
        "thumbs": "up",
        "score": None,
        "label": "resolved",
        "comment": None,
        "comment_stored": False,
    }
    # And one EMF document counts it with its reward, by route and model
    [metrics] = [line for line in rig.log_lines(capsys.readouterr().out) if "Feedback" in line]
    assert (metrics["route"], metrics["model"]) == (router["route"], router["model"])
    assert (metrics["Feedback"], metrics["FeedbackReward"]) == ([1.0], [1.0])


def test_a_tenant_that_stores_prompts_keeps_the_comment(rig: RouterRig) -> None:
    # Given acme-support now stores prompts (a new policy version), and one of its answers
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    [tenant] = [tenant for tenant in policy["tenants"] if tenant["id"] == "acme-support"]
    tenant["store_prompts"] = True
    rig.push_policy(yaml.safe_dump(policy, sort_keys=False))
    _answered(rig)
    # When the answer is rated with a comment
    status, body, _ = rig.call(load_event("feedback"))
    # Then the comment is stored with the feedback
    assert (status, body["comment_stored"]) == (200, True)
    assert _record(rig)["feedback"]["comment"] == "Clear steps; the refund date was right."


def test_second_feedback_replaces_the_first(rig: RouterRig) -> None:
    # Given a rated answer
    _answered(rig)
    rig.call(_feedback({"request_id": RATED, "thumbs": "up"}))
    # When a score replaces the thumbs up
    status, body, _ = rig.call(_feedback({"request_id": RATED, "score": 0.25, "label": "too_long"}))
    # Then the answer says so, and the record holds only the new rating and its reward
    assert (status, body["replaced"], body["reward"]) == (200, True, 0.25)
    record = _record(rig)
    assert (record["feedback"]["thumbs"], float(record["feedback"]["score"])) == (None, 0.25)
    assert (record["feedback"]["label"], record["feedback"]["revision"]) == ("too_long", 2)
    assert (float(record["reward"]["value"]), record["reward"]["source"]) == (0.25, "feedback")


def test_a_messages_answer_is_rated_by_its_router_request_id(rig: RouterRig) -> None:
    # Given an Anthropic Message answered through /v1/messages
    router = _answered(rig, "messages-basic")
    # When its router.request_id is rated
    status, body, _ = rig.call(_feedback({"request_id": router["request_id"], "thumbs": "down"}))
    # Then the feedback lands on that request's record
    assert (status, body["reward"], body["route"]) == (200, 0.0, router["route"])
    assert _record(rig)["feedback"]["thumbs"] == "down"


def test_another_tenants_request_id_is_404_and_its_record_is_unchanged(rig: RouterRig) -> None:
    # Given acme-support's answer
    _answered(rig)
    before = _record(rig)
    # When devtools rates it, and rates an id that does not exist
    theirs = rig.call(_feedback({"request_id": RATED, "score": 0.0}, tenant_id="devtools"))
    unknown = rig.call(_feedback({"request_id": "req-never-made", "score": 0.0}, tenant_id="devtools"))
    # Then both are the same 404 on request_id: nothing says the first exists
    assert theirs[0] == unknown[0] == 404
    assert theirs[1] == unknown[1]
    assert (theirs[1]["error"]["code"], theirs[1]["error"]["param"]) == ("request_not_found", "request_id")
    # And acme-support's record is exactly as it was
    assert _record(rig) == before


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"request_id": RATED, "score": 1.01}, "score"),
        ({"request_id": RATED, "score": 0.5, "thumbs": "up"}, "score"),
        ({"request_id": RATED}, "score"),
        ({"request_id": RATED, "thumbs": "meh"}, "thumbs"),
        ({"request_id": RATED, "thumbs": "up", "rating": 5}, "rating"),
        ("thumbs=up", None),
    ],
)
def test_invalid_feedback_is_a_400_naming_the_field_and_stores_nothing(
    rig: RouterRig, body: Any, param: str | None
) -> None:
    # Given an answer, and feedback for it with one thing wrong
    _answered(rig)
    # When it is sent
    status, answer, _ = rig.call(_feedback(body))
    # Then it is a 400 OpenAI error naming the field, and the record has no feedback
    assert (status, answer["error"]["code"], answer["error"]["param"]) == (400, "invalid_request", param)
    assert "feedback" not in _record(rig)


def test_the_endpoint_needs_a_tenant_a_small_body_and_post(rig: RouterRig) -> None:
    # Given a request without the authorizer's tenant, one over the body limit, and a GET
    anonymous = _feedback({"request_id": RATED, "thumbs": "up"}, tenant_id=None)
    padding = "x" * rig.runtime.settings.max_body_bytes
    too_large = _feedback({"request_id": RATED, "thumbs": "up", "comment": padding})
    get = rest_event("GET", "/v1/feedback", tenant_id="acme-support")
    # When each is served
    # Then they are 401, 413 and 405, as on the chat path
    assert rig.call(anonymous)[1]["error"]["code"] == "unauthorized"
    assert rig.call(too_large)[:1] == (413,)
    status, body, headers = rig.call(get)
    assert (status, body["error"]["code"], headers["allow"]) == (405, "method_not_allowed", "POST")
