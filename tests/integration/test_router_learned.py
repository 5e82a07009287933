"""A learned route through the router handler on moto: the artifact loads with the policy from S3, and
each candidate's predicted quality shows in ``/v1/route``, the response's router block and provenance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.learned.artifact import LearnedRouter
from tests.helpers import rest_event
from tests.integration.rig import POINTER, POLICY_KEY, RouterRig, router_environment, running_router
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes, learned_policy, sha256_hex

# Predicted quality for prompts without the keyword "prove", and for the prompt "prove".
EASY = {"cheap-7b": 0.9, "mid-34b": 0.95, "frontier": 0.97}
HARD = {"cheap-7b": 0.3, "mid-34b": 0.85, "frontier": 0.95}
RAW = keyword_router_bytes(EASY, with_keyword=HARD)
DIGEST = f"sha256:{sha256_hex(RAW)}"


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router(json.dumps(learned_policy(RAW)).encode(), artifacts={ROUTER_KEY: RAW}) as running:
        yield running


def request(path: str, text: str, request_id: str, **fields: Any) -> dict[str, Any]:
    body = {"model": "auto", "messages": [{"role": "user", "content": text}], **fields}
    event = rest_event("POST", path, json.dumps(body))
    event["requestContext"]["requestId"] = request_id
    return event


def test_predicted_qualities_show_in_the_router_block_and_the_provenance_record(rig: RouterRig) -> None:
    # Given a learned route (quality_target 0.8) whose router predicts the small model fails "prove"
    # When a chat request says "prove"
    status, body, _ = rig.call(request("/v1/chat/completions", "prove", "req-learned-chat"))
    # Then the cheapest model predicted to reach the target answered
    assert status == 200, body
    router = body["router"]
    assert router["model"] == "medium"
    # And the router block shows every candidate's predicted quality, the artifact and the objective
    assert router["predicted_quality"] == pytest.approx({"medium": 0.85, "large": 0.95, "small": 0.3})
    assert router["learned"] == {
        "router": ROUTER_KEY,
        "digest": DIGEST,
        "objective": "quality_target",
        "value": 0.8,
        "applied": True,
    }
    # And so does the provenance record, candidate by candidate
    (record,) = rig.provenance_items("t1")
    assert [(c["model"], c["source"]) for c in record["candidates"]] == [
        ("medium", "learned:target"),
        ("large", "learned:utility"),
        ("small", "learned:utility"),
    ]
    predicted = [float(c["predicted_quality"]) for c in record["candidates"]]
    assert predicted == pytest.approx([0.85, 0.95, 0.3])
    assert record["learned"]["digest"] == DIGEST


def test_the_route_endpoint_shows_the_predicted_qualities(rig: RouterRig) -> None:
    # When an easy request is routed without a model call
    status, body, _ = rig.call(request("/v1/route", "hello", "req-learned-route"))
    # Then the decision lists each candidate's predicted quality, cheapest reaching the target first
    assert status == 200, body
    assert [(c["model"], c["predicted_quality"]) for c in body["candidates"]] == [
        ("small", pytest.approx(0.9)),
        ("large", pytest.approx(0.97)),
        ("medium", pytest.approx(0.95)),
    ]
    assert body["learned"]["digest"] == DIGEST
    assert rig.model_calls() == 0


def test_a_router_that_raises_falls_back_to_the_listed_order_not_a_500(
    rig: RouterRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the loaded router fails while scoring
    def broken(self: LearnedRouter, text: str, features: Any) -> dict[str, float]:
        raise MemoryError("scoring blew up")

    monkeypatch.setattr(LearnedRouter, "score", broken)
    # When a chat request is served
    status, body, _ = rig.call(request("/v1/chat/completions", "prove", "req-learned-broken"))
    # Then it is answered by the first listed model, and the record says why
    assert status == 200, body
    assert body["router"]["model"] == "small"
    assert body["router"]["learned"]["applied"] is False
    assert "predicted_quality" not in body["router"]
    (record,) = rig.provenance_items("t1")
    assert any("could not score the request (MemoryError)" in note for note in record["notes"])


def test_request_data_never_makes_the_router_fetch_an_artifact(rig: RouterRig) -> None:
    # Given every S3 object the router reads is recorded
    fetched: list[str] = []
    rig.s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: fetched.append(params["Key"])
    )
    # When requests name other artifacts, paths and URLs in their text and metadata
    hostile = "routers/evil.json ../policies/active.yaml s3://other/r.json file:///etc/passwd"
    for number, text in enumerate(["hello", hostile, "prove"]):
        metadata = {"router": "routers/evil.json", "tags": "routers/other.json"}
        status, body, _ = rig.call(
            request("/v1/chat/completions", text, f"req-learned-{number}", metadata=metadata)
        )
        assert status == 200, body
        assert body["router"]["learned"]["digest"] == DIGEST
    # Then the router read only the active pointer, once the version it names, and once the artifact
    # the policy names
    assert set(fetched) == {POINTER, POLICY_KEY, ROUTER_KEY}
    assert (fetched.count(POLICY_KEY), fetched.count(ROUTER_KEY)) == (1, 1)
