"""A cascade route with ``skip_below`` through the router handler on moto: the artifact loads with the
policy from S3, the skipped tier is never called, and the skip shows in the response's router block,
the provenance record and ``POST /v1/route``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.rig import RouterRig, router_environment, running_router
from tests.integration.test_router_learned import request
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes
from tests.unit.test_cascade_skip import EASY, HARD, cascade_document

RAW = keyword_router_bytes(EASY, with_keyword=HARD)
SKIP = {"model": "small", "detail": f"predicted quality 0.310 < skip_below 0.400 ({ROUTER_KEY})"}


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router(json.dumps(cascade_document(RAW)).encode(), artifacts={ROUTER_KEY: RAW}) as running:
        yield running


def test_a_skipped_tier_is_not_called_and_the_answer_and_record_say_why(rig: RouterRig) -> None:
    # Given a cascade (small, medium, large) that skips tiers predicted below 0.4
    # When a chat request the router predicts the small model fails (0.31) is served
    status, body, _ = rig.call(request("/v1/chat/completions", "prove", "req-cascade-skip"))
    # Then the medium model answered and the small one was never called
    assert status == 200, body
    router = body["router"]
    assert router["model"] == "medium"
    assert sum(provider.calls_to("small") for provider in rig.providers.values()) == 0
    # And the router block lists the skip and the kept tiers' predictions
    assert router["skipped"] == [SKIP]
    assert router["predicted_quality"] == pytest.approx({"medium": 0.85, "large": 0.95})
    # And so does the provenance record
    (record,) = rig.provenance_items("t1")
    assert record["exclusions"] == [{"reason": "predicted_below_skip", **SKIP}]
    assert [c["model"] for c in record["candidates"]] == ["medium", "large"]


def test_the_route_endpoint_shows_the_skip(rig: RouterRig) -> None:
    # When the same request is routed without a model call
    status, body, _ = rig.call(request("/v1/route", "prove", "req-cascade-route"))
    # Then the decision lists the skip among its exclusions, and no model was called
    assert status == 200, body
    assert body["exclusions"] == [{"reason": "predicted_below_skip", **SKIP}]
    assert [(c["model"], c["predicted_quality"]) for c in body["candidates"]] == [
        ("medium", pytest.approx(0.85)),
        ("large", pytest.approx(0.95)),
    ]
    assert rig.model_calls() == 0


def test_an_easy_request_skips_nothing(rig: RouterRig) -> None:
    # When a request every model is predicted to answer is served
    status, body, _ = rig.call(request("/v1/chat/completions", "hello", "req-cascade-easy"))
    # Then the cheapest tier answered, and there is no skip to report
    assert status == 200, body
    assert body["router"]["model"] == "small"
    assert "skipped" not in body["router"]
