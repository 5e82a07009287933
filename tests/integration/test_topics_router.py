"""The topic classifier through the router handler on moto: it loads with the policy from S3, and the
request's topic picks the route in ``/v1/route`` and in a chat answer (router block and provenance)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.learned.topics import TopicClassifier
from tests.helpers import rest_event
from tests.integration.rig import RouterRig, router_environment, running_router
from tests.topic_fixtures import TOPICS_KEY, one_word_confidence, topics_bytes, topics_policy

RAW = topics_bytes()


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router(json.dumps(topics_policy(RAW)).encode(), artifacts={TOPICS_KEY: RAW}) as running:
        yield running


def request(path: str, text: str, request_id: str) -> dict[str, Any]:
    body = {"model": "auto", "messages": [{"role": "user", "content": text}]}
    event = rest_event("POST", path, json.dumps(body))
    event["requestContext"]["requestId"] = request_id
    return event


def test_the_route_endpoint_shows_the_topic_and_the_clause_that_picked_the_route(rig: RouterRig) -> None:
    # When a request about an invoice is routed without a model call
    status, body, _ = rig.call(request("/v1/route", "Where is my invoice?", "req-topic-route"))
    # Then its topic is billing, and the billing route took it by its topics clause
    assert status == 200, body
    assert body["route"] == "billing-desk"
    topic = body["features"]["topic"]
    assert (topic["label"], topic["classifier"], topic["evidence"]) == ("billing", TOPICS_KEY, "invoice")
    (trace,) = body["when_trace"]
    assert trace["clauses"] == [
        {"clause": "topics", "matched": True, "detail": f"topic billing ({one_word_confidence():.2f})"}
    ]
    assert rig.model_calls() == 0


def test_a_chat_answer_is_routed_by_topic_and_the_record_keeps_it(rig: RouterRig) -> None:
    # When chat requests about an invoice and about a function are served
    billing = rig.call(request("/v1/chat/completions", "my invoice please", "req-topic-billing"))
    coding = rig.call(request("/v1/chat/completions", "write a function", "req-topic-coding"))
    # Then the billing one took the billing route's model, the other the catch-all's
    assert billing[0] == 200, billing[1]
    assert coding[0] == 200, coding[1]
    assert (billing[1]["router"]["route"], billing[1]["router"]["model"]) == ("billing-desk", "small")
    assert (coding[1]["router"]["route"], coding[1]["router"]["model"]) == ("default", "large")
    # And the provenance records carry each request's topic
    records = {item["request_id"]: item for item in rig.provenance_items("t1")}
    assert records["req-topic-billing"]["features"]["topic"]["label"] == "billing"
    assert records["req-topic-coding"]["features"]["topic"]["label"] == "coding"


def test_a_classifier_that_raises_serves_the_next_route_not_a_500(
    rig: RouterRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the loaded classifier fails while scoring
    def broken(self: TopicClassifier, text: str, **options: Any) -> Any:
        raise MemoryError("scoring blew up")

    monkeypatch.setattr(TopicClassifier, "guess", broken)
    # When a chat request is served
    status, body, _ = rig.call(request("/v1/chat/completions", "my invoice", "req-topic-broken"))
    # Then the catch-all answered, and the record says why the topic route did not match
    assert status == 200, body
    assert body["router"]["route"] == "default"
    (record,) = rig.provenance_items("t1")
    assert any("could not score the request (MemoryError)" in note for note in record["notes"])
