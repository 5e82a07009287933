"""First-pass triage through the router Lambda: a cascade route whose ``rules`` check accepts the cheap
model's clear scores and escalates borderline ones to the strong model, on every path that runs checks
(whole answers, validated streams, the Anthropic Messages API), with the rule in provenance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from modelrouter.policy import ProviderKind
from modelrouter.providers.types import ProviderCall, ProviderResult, Usage
from tests.fakes import EchoProvider, answer
from tests.helpers import load_event, minimal_policy, rest_event, with_tenant
from tests.integration.rig import RouterRig, router_environment, running_router

BORDERLINE_REASON = "borderline risk score; a stronger model decides"
TRIAGE_RULES = {
    "on_error": "escalate",
    "max_retries": 1,
    "rules": [
        {
            "name": "borderline",
            "when": "risk_score >= `0.3` && risk_score <= `0.7`",
            "action": "escalate",
            "reason": BORDERLINE_REASON,
            "models": ["small"],
        },
        {"name": "decided", "when": "risk_score != null", "action": "accept", "reason": "clear decision"},
    ],
    "default": "escalate",
}


@dataclass
class ScoringProvider(EchoProvider):
    """Each model answers a fixed risk score, as a triage model would."""

    scores: dict[str, float] = field(default_factory=dict)

    def complete(self, call: ProviderCall) -> ProviderResult:
        with self.lock:
            self.calls.append(call)
        content = json.dumps(
            {"risk_score": self.scores[call.model.id], "explanation": "two countries in 1 h"}
        )
        return answer(content, usage=Usage(input_tokens=120, output_tokens=30), reported_model=call.model.id)


def triage_policy() -> bytes:
    document = minimal_policy()
    document["routes"] = [
        {
            "name": "fraud-triage",
            "strategy": "cascade",
            "models": ["small", "large"],
            "checks": {"rules": TRIAGE_RULES},
        }
    ]
    return yaml.safe_dump(document, sort_keys=False).encode()


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router(triage_policy()) as running:
        yield running


def score_with(rig: RouterRig, small: float, large: float) -> ScoringProvider:
    provider = ScoringProvider(ProviderKind.BEDROCK, scores={"small": small, "large": large})
    rig.providers[ProviderKind.BEDROCK] = provider  # the executor is built on the first request
    return provider


def chat_event(request_id: str, **fields: Any) -> dict[str, Any]:
    body = {"model": "auto", "messages": [{"role": "user", "content": "Score this card payment."}], **fields}
    event = rest_event("POST", "/v1/chat/completions", json.dumps(body))
    event["requestContext"]["requestId"] = request_id
    return event


def rules_checks(record: dict[str, Any]) -> list[tuple[str, str | None, str, str]]:
    return [
        (attempt["model"], check["rule"], check["action"], check["detail"])
        for attempt in record["attempts"]
        for check in attempt["checks"]
        if check["name"] == "rules"
    ]


def record_of(rig: RouterRig, request_id: str) -> dict[str, Any]:
    (record,) = [item for item in rig.provenance_items("t1") if item["request_id"] == request_id]
    return record


def test_a_clear_first_pass_score_is_answered_by_the_cheap_model(rig: RouterRig) -> None:
    # Given a cheap model that scores the case clearly
    provider = score_with(rig, small=0.05, large=0.4)
    # When the case is sent
    status, body, _ = rig.call(chat_event("req-clear"))
    # Then the cheap model's answer is returned, the strong model never called, and the rule recorded
    assert status == 200, body
    assert (body["router"]["model"], provider.calls_to("large")) == ("small", 0)
    assert body["router"]["checks"] == [
        {"name": "rules", "passed": True, "action": "accept", "rule": "decided"}
    ]
    assert rules_checks(record_of(rig, "req-clear")) == [("small", "decided", "accept", "clear decision")]


def test_a_borderline_score_escalates_to_the_strong_model_and_provenance_says_which_rule(
    rig: RouterRig,
) -> None:
    # Given a cheap model whose score is borderline
    score_with(rig, small=0.5, large=0.82)
    # When the case is sent
    status, body, _ = rig.call(chat_event("req-borderline"))
    # Then the strong model answers
    assert status == 200, body
    assert json.loads(body["choices"][0]["message"]["content"])["risk_score"] == 0.82
    assert [(a["model"], a["outcome"]) for a in body["router"]["attempts"]] == [
        ("small", "check_failed"),
        ("large", "success"),
    ]
    # and the record names the rule that escalated, its action and its reason
    record = record_of(rig, "req-borderline")
    assert record["model"] == "large"
    assert rules_checks(record) == [
        ("small", "borderline", "escalate", BORDERLINE_REASON),
        ("large", "decided", "accept", "clear decision"),
    ]


def test_a_streamed_request_is_checked_whole_before_it_is_sent(rig: RouterRig) -> None:
    # Given a borderline first pass and a streamed request
    score_with(rig, small=0.5, large=0.82)
    # When it is served
    status, text, _ = rig.call(chat_event("req-stream", stream=True))
    # Then only the strong model's answer is streamed, validated first
    assert status == 200, text
    assert "0.82" in text
    assert "0.5," not in text
    assert text.startswith("data: ")
    record = record_of(rig, "req-stream")
    assert record["stream"] is True
    assert [check[:3] for check in rules_checks(record)] == [
        ("small", "borderline", "escalate"),
        ("large", "decided", "accept"),
    ]


def test_the_messages_api_runs_the_same_rules(rig: RouterRig) -> None:
    # Given a borderline first pass and an Anthropic Messages request on the same route
    score_with(rig, small=0.5, large=0.82)
    event = with_tenant(load_event("messages-basic"), "t1")
    body = json.loads(event["body"])
    event["body"] = json.dumps(
        {**body, "messages": [{"role": "user", "content": "Score this card payment."}]}
    )
    # When it is served
    status, message, _ = rig.call(event)
    # Then the strong model's answer comes back as a Message, and the rule is recorded
    assert status == 200, message
    assert json.loads(message["content"][0]["text"])["risk_score"] == 0.82
    request_id = event["requestContext"]["requestId"]
    assert [check[:3] for check in rules_checks(record_of(rig, request_id))] == [
        ("small", "borderline", "escalate"),
        ("large", "decided", "accept"),
    ]
