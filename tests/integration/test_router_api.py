"""The router handler on ``events/*.json``: every endpoint, the wire formats and the error statuses."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from modelrouter.providers.errors import ProviderServerError
from tests.helpers import load_event, minimal_policy, with_tenant
from tests.integration.rig import RouterRig, router_environment, running_router


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


def test_chat_returns_a_completion_with_the_router_summary_and_records_provenance(rig: RouterRig) -> None:
    # Given the support chat event
    event = load_event("chat-support")

    # When the handler runs it
    status, body, headers = rig.call(event)

    # Then it answers with an OpenAI chat.completion and says how it was routed
    assert status == 200, body
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["message"]["content"].startswith("Answer from ")
    assert (
        body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    router = body["router"]
    assert router["request_id"] == "req-chat-support"
    assert router["model"] == body["model"]
    assert router["route"]
    assert router["attempts"][0]["outcome"] == "success"
    assert router["cost_usd"] > 0
    assert headers["x-request-id"] == "req-chat-support"
    # and leaves one provenance record naming the S3 version of the policy
    version = rig.active_version()
    (record,) = rig.provenance_items("acme-support")
    assert record["request_id"] == "req-chat-support"
    assert record["policy"]["version"] == version == router["policy_version"]
    assert record["model"] == body["model"]
    assert record["outcome"] == "success"
    assert "prompt" not in record
    assert len(record["prompt_sha256"]) == 64


def test_json_schema_request_gets_an_answer_that_follows_the_schema(rig: RouterRig) -> None:
    # Given an extraction request with a strict JSON schema
    event = load_event("chat-json-schema")
    schema = json.loads(event["body"])["response_format"]["json_schema"]["schema"]

    # When it is served
    status, body, _ = rig.call(event)

    # Then the content is JSON that validates, and the check is reported
    assert status == 200, body
    jsonschema.validate(json.loads(body["choices"][0]["message"]["content"]), schema)
    assert {"name": "json_schema", "passed": True} in [
        {k: c[k] for k in ("name", "passed")} for c in body["router"]["checks"]
    ]


def test_tool_call_comes_back_in_openai_shape(rig: RouterRig) -> None:
    # Given a request offering a tool
    status, body, _ = rig.call(load_event("chat-tool-call"))

    # Then the answer is a tool call
    assert status == 200, body
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "run_tests"
    assert json.loads(call["function"]["arguments"]) == {"path": "sample"}


def test_stream_is_a_valid_event_stream_of_chunks(rig: RouterRig) -> None:
    # Given a streaming request asking for usage
    status, body, headers = rig.call(load_event("chat-stream"))

    # Then the body is server-sent events of chat.completion.chunk, ending with [DONE]
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in body.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.startswith("Answer from ")
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_pinned_model_is_used_when_the_tenant_may_pin_it(rig: RouterRig) -> None:
    # Given devtools pinning gpt-4o
    status, body, _ = rig.call(load_event("chat-pinned-model"))

    # Then gpt-4o answers
    assert status == 200, body
    assert body["model"] == "gpt-4o"


def test_route_is_a_dry_run_without_model_call_or_charge(rig: RouterRig) -> None:
    # Given the dry-run event
    status, body, _ = rig.call(load_event("route-dry-run"))

    # Then a decision comes back, and nothing was called, charged or recorded
    assert status == 200, body
    assert body["object"] == "router.decision"
    assert body["candidates"]
    assert body["reserve_usd"] > 0
    assert rig.model_calls() == 0
    assert rig.provenance_items("acme-support") == []
    assert rig.dynamodb.scan(TableName=rig.tables["BudgetTable"])["Items"] == []


def test_models_lists_what_the_tenant_may_use(rig: RouterRig) -> None:
    # Given devtools, who may pin every route and four models
    status, body, _ = rig.call(load_event("models-list"))

    # Then the list is in OpenAI's format, starting with auto
    assert status == 200
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert ids[0] == "auto"
    assert "coding-assistant" in ids
    assert "gpt-4o" in ids


@pytest.mark.parametrize(
    ("name", "status", "code", "param"),
    [
        ("bad-malformed-json", 400, "invalid_request", None),
        ("bad-missing-messages", 400, "invalid_request", "messages"),
        ("bad-temperature", 400, "invalid_request", "temperature"),
        ("bad-unknown-path", 404, "not_found", None),
        ("bad-no-tenant", 401, "unauthorized", None),
        ("bad-pin-not-allowed", 403, "pin_not_allowed", "model"),
        ("bad-classification", 403, "classification_not_allowed", None),
    ],
)
def test_bad_requests_get_openai_errors_with_the_right_status(
    rig: RouterRig, name: str, status: int, code: str, param: str | None
) -> None:
    # Given a bad event
    # When it is handled
    got_status, body, _ = rig.call(load_event(name))

    # Then the error object names the problem, with no traceback and no model call
    assert got_status == status, body
    error = body["error"]
    assert error["code"] == code
    assert set(error) >= {"message", "type", "param", "code"}
    if param is not None:
        assert error["param"] == param
    assert "Traceback" not in json.dumps(body)
    assert rig.model_calls() == 0


def test_body_over_the_limit_is_413(rig: RouterRig) -> None:
    # Given a body larger than MAX_BODY_BYTES
    event = copy.deepcopy(load_event("chat-support"))
    request = json.loads(event["body"])
    request["messages"][-1]["content"] = "x" * (rig.runtime.settings.max_body_bytes + 1)
    event["body"] = json.dumps(request)

    # Then it is refused before parsing
    status, body, _ = rig.call(event)
    assert status == 413
    assert body["error"]["code"] == "request_too_large"


def test_no_eligible_model_is_422_with_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a policy whose models cannot read images, and a request with an image
    router_environment(monkeypatch)
    policy = minimal_policy()
    for model in policy["models"]:
        model["capabilities"] = ["tools"]
    event = copy.deepcopy(load_event("chat-support"))
    with_tenant(event, "t1")
    image = {"type": "image_url", "image_url": {"url": "https://example.com/receipt.png"}}
    event["body"] = json.dumps({"model": "auto", "messages": [{"role": "user", "content": [image]}]})
    with running_router(json.dumps(policy)) as rig:
        # When it is served
        status, body, _ = rig.call(event)

    # Then 422 lists why each model was excluded
    assert status == 422, body
    assert body["error"]["code"] == "no_eligible_model"
    assert {e["model"]: e["reason"] for e in body["router"]["exclusions"]} == {
        "small": "capability_missing",
        "large": "capability_missing",
    }


def test_every_candidate_failing_is_502_with_the_attempts(rig: RouterRig) -> None:
    # Given every model failing with a server error
    for provider in rig.providers.values():
        provider.failing = _all_models_failing(rig)

    # When a chat is served
    status, body, _ = rig.call(load_event("chat-support"))

    # Then 502 lists the attempts, and the failure is still recorded
    assert status == 502, body
    assert body["error"]["code"] == "all_candidates_failed"
    assert len(body["router"]["attempts"]) >= 2
    (record,) = rig.provenance_items("acme-support")
    assert record["outcome"] == "error"
    assert record["error_code"] == "all_candidates_failed"


def test_too_little_time_left_is_504(rig: RouterRig) -> None:
    # Given a Lambda with almost no time left
    rig.context.timeout_s = 0.05

    # Then the request is not started and the deadline is reported
    status, body, _ = rig.call(load_event("chat-support"))
    assert status == 504, body
    assert body["error"]["code"] == "deadline_exceeded"


def _all_models_failing(rig: RouterRig) -> dict[str, Any]:
    policy = rig.runtime.policies.current().policy
    return {m.id: ProviderServerError("upstream 500", provider="fake", status=500) for m in policy.models}
