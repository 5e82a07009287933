"""The ``compliance`` block through the router handler (moto): whole, validated and live streamed answers,
the Messages API (whole and streamed), ``/v1/route`` and the provenance record, after a fallback and
when nothing answered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.local.model_server import ModelServer
from modelrouter.policy import DataClassification
from modelrouter.policy.common import DeploymentMode, ProviderKind
from modelrouter.policy.loader import parse_policy
from modelrouter.providers.bedrock import BedrockProvider
from modelrouter.providers.errors import ProviderServerError
from modelrouter.providers.types import ProviderCall
from modelrouter.request import parse_chat_request
from tests.helpers import (
    ROOT,
    fake_aws_environment,
    load_event,
    model_entry,
    rest_event,
    set_header,
    with_tenant,
)
from tests.integration.rig import RouterRig, router_environment, running_router

RESTRICTED = {"data_classification": "restricted"}
"""Request metadata declaring restricted data."""
EXCLUDED = [
    {
        "model": "cheap",
        "reason": "classification_not_cleared",
        "detail": "cleared for internal, request is restricted",
    },
    {
        "model": "retains",
        "reason": "deployment_mode",
        "detail": "deployed provider_retains; restricted data requires zero_retention, vpc or on_prem",
    },
]
"""What a restricted request of t1 is told was kept from it (``hidden`` is another tenant's model)."""


def _policy() -> dict[str, Any]:
    """t1 may send restricted data, which must go to zero_retention, vpc or on_prem models. The route
    lists a model t1 may not use (hidden), one not cleared (cheap), one that may keep prompts (retains),
    then the two that may take restricted data: zdr (US) and private (EU, in a VPC)."""
    models = [
        model_entry("hidden", tags=["other"], max_classification="restricted", deployment_mode="vpc"),
        model_entry("cheap", max_classification="internal"),
        model_entry("retains", max_classification="restricted"),
        model_entry("zdr", max_classification="restricted", deployment_mode="zero_retention"),
        model_entry("private", max_classification="restricted", deployment_mode="vpc", residency="eu"),
    ]
    route = {"name": "default", "models": [model["id"] for model in models]}
    return {
        "version": 1,
        "name": "compliance-test",
        "defaults": {
            "deployment_modes_by_classification": {"restricted": ["zero_retention", "vpc", "on_prem"]}
        },
        "models": models,
        "tenants": [
            {
                "id": "t1",
                "budget": {"daily_usd": 10},
                "allowed_tags": ["general"],
                "max_classification": "restricted",
            }
        ],
        "routes": [
            {**route, "name": "validated", "when": {"tags": ["validated"]}, "streaming": "validated"},
            route,
        ],
    }


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router(json.dumps(_policy())) as running:
        yield running


def _chat(request_id: str, metadata: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    content = {"model": "auto", "messages": [{"role": "user", "content": "Is this payment fraud?"}], **body}
    if metadata is not None:
        content["metadata"] = metadata
    event = rest_event("POST", "/v1/chat/completions", json.dumps(content), tenant_id="t1")
    event["requestContext"]["requestId"] = request_id
    return event


def _messages(request_id: str, **body: Any) -> dict[str, Any]:
    event = with_tenant(load_event("messages-basic"), "t1")
    event["requestContext"]["requestId"] = request_id
    event["body"] = json.dumps({**json.loads(event["body"]), **body})
    return set_header(event, "X-Router-Metadata", json.dumps(RESTRICTED))


def _record(rig: RouterRig, request_id: str) -> dict[str, Any]:
    return next(item for item in rig.provenance_items("t1") if item["request_id"] == request_id)


def _streamed_router_block(text: str) -> dict[str, Any]:
    """The ``router`` object of the event stream (the last event that carries one)."""
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    blocks = [event["router"] for event in events if "router" in event]
    assert blocks, text
    return dict(blocks[-1])


def _expected(model: str | None, residency: str | None, mode: str | None, version: str) -> dict[str, Any]:
    return {
        "classification": "restricted",
        "classification_source": "declared",
        "classification_reason": "declared in metadata.data_classification",
        "model": model,
        "residency": residency,
        "deployment_mode": mode,
        "required_deployment_modes": ["zero_retention", "vpc", "on_prem"],
        "policy": "compliance-test",
        "policy_version": version,
        "excluded_for_compliance": EXCLUDED,
    }


def test_a_whole_answer_and_its_record_carry_the_compliance_block(rig: RouterRig) -> None:
    # Given a restricted request on a route with models kept out for each compliance reason
    # When it is answered whole
    status, body, _ = rig.call(_chat("req-whole", RESTRICTED))
    # Then the router block says how it was classified, where and how the answering model runs, and
    # which models were kept out for compliance (never the model only other tenants may use)
    assert status == 200, body
    version = body["router"]["policy_version"]
    assert body["router"]["compliance"] == _expected("zdr", "us", "zero_retention", version)
    # And the provenance record carries the same block
    assert _record(rig, "req-whole")["compliance"] == body["router"]["compliance"]


def test_after_a_fallback_the_block_describes_the_model_that_answered(rig: RouterRig) -> None:
    # Given the first cleared model failing
    for provider in rig.providers.values():
        provider.failing["zdr"] = ProviderServerError("down", status=500)
    # When a restricted request is answered
    status, body, _ = rig.call(_chat("req-fallback", RESTRICTED))
    # Then the block names the fallback, in the EU and in a VPC
    assert status == 200, body
    compliance = body["router"]["compliance"]
    assert (compliance["model"], compliance["residency"], compliance["deployment_mode"]) == (
        "private",
        "eu",
        "vpc",
    )
    assert _record(rig, "req-fallback")["compliance"] == compliance


def test_when_nothing_answers_the_record_keeps_the_classification_and_no_model(rig: RouterRig) -> None:
    # Given both cleared models failing
    for provider in rig.providers.values():
        provider.failing.update(
            zdr=ProviderServerError("down", status=500), private=ProviderServerError("down")
        )
    # When a restricted request fails
    status, body, _ = rig.call(_chat("req-failed", RESTRICTED))
    # Then the record's block has the classification and the exclusions, and no answering model
    assert status == 502, body
    record = _record(rig, "req-failed")
    assert record["compliance"] == _expected(None, None, None, record["policy"]["version"])


@pytest.mark.parametrize("tags", [None, "validated"])
def test_streamed_answers_carry_it_live_or_validated(rig: RouterRig, tags: str | None) -> None:
    # Given a restricted request streamed live (default route) or validated (tag 'validated')
    metadata = {**RESTRICTED, **({"tags": tags} if tags else {})}
    # When it is streamed
    status, text, _ = rig.call(_chat(f"req-stream-{tags}", metadata, stream=True))
    # Then the stream's router block carries the same compliance as a whole answer
    assert status == 200, text
    block = _streamed_router_block(text)
    assert (block["route"], "stream" in block) == (tags or "default", tags is None)  # live: its figures
    assert block["compliance"] == _expected("zdr", "us", "zero_retention", block["policy_version"])


@pytest.mark.parametrize("stream", [False, True])
def test_the_messages_api_carries_it_whole_and_streamed(rig: RouterRig, stream: bool) -> None:
    # Given an Anthropic Messages request declaring restricted data in X-Router-Metadata
    event = _messages(f"req-messages-{stream}", stream=stream)
    # When it is answered
    status, body, _ = rig.call(event)
    # Then its router block carries the compliance block too
    assert status == 200, body
    block = _streamed_router_block(body) if stream else body["router"]
    assert block["compliance"] == _expected("zdr", "us", "zero_retention", block["policy_version"])


def test_route_shows_it_for_the_primary_candidate(rig: RouterRig) -> None:
    # Given a dry run of a restricted request
    content = {"model": "auto", "messages": [{"role": "user", "content": "Hi"}], "metadata": RESTRICTED}
    event = rest_event("POST", "/v1/route", json.dumps(content), tenant_id="t1")
    # When it is decided
    status, body, _ = rig.call(event)
    # Then the decision carries the block as if the primary answered, and each candidate its mode
    assert status == 200, body
    assert body["compliance"] == _expected("zdr", "us", "zero_retention", body["policy_version"])
    modes = {candidate["model"]: candidate["deployment_mode"] for candidate in body["candidates"]}
    assert modes == {"zdr": "zero_retention", "private": "vpc"}


def test_personal_data_raises_the_classification_and_the_block_says_why(rig: RouterRig) -> None:
    # Given an undeclared request (t1's default: internal) that carries an e-mail address
    event = _chat("req-pii", messages=[{"role": "user", "content": "Mail jane.doe@example.com her refund."}])
    # When it is answered
    status, body, _ = rig.call(event)
    # Then it was classified confidential because of the e-mail, and cheap was kept out for it
    assert status == 200, body
    compliance = body["router"]["compliance"]
    assert (compliance["classification"], compliance["classification_source"]) == (
        "confidential",
        "pii_detected",
    )
    assert compliance["classification_reason"] == "raised from internal to confidential: PII found (email)"
    assert compliance["required_deployment_modes"] is None
    assert compliance["excluded_for_compliance"] == [
        {
            "model": "cheap",
            "reason": "classification_not_cleared",
            "detail": "cleared for internal, request is confidential",
        }
    ]
    assert compliance["model"] == "retains"


def _documented_block() -> dict[str, Any]:
    """The ``router.compliance`` example of docs/api.md (the JSON block after its marker)."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    after = text.split("router.compliance object", 1)[1]
    block = after.split("```json\n", 1)[1].split("\n```", 1)[0]
    found: dict[str, Any] = json.loads(block)
    return found


def test_the_documented_block_has_the_keys_of_a_real_one(rig: RouterRig) -> None:
    # Given the example in docs/api.md, and a real answer's block
    documented = _documented_block()
    real = rig.call(_chat("req-doc", RESTRICTED))[1]["router"]["compliance"]
    # Then they have the same keys, with values of the same types, and so do their exclusions
    assert {key: type(value) for key, value in documented.items()} == {
        key: type(value) for key, value in real.items()
    }
    assert set(documented["excluded_for_compliance"][0]) == set(real["excluded_for_compliance"][0])


def test_the_local_policys_restricted_model_is_answered_by_the_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given local.yaml's model cleared for restricted data, and the simulated model server
    fake_aws_environment(monkeypatch)
    policy = parse_policy((ROOT / "policies" / "local.yaml").read_bytes(), "local.yaml").policy
    restricted = [
        m
        for m in policy.models
        if m.max_classification is DataClassification.RESTRICTED and m.provider is ProviderKind.BEDROCK
    ]
    assert [(m.id, m.deployment_mode) for m in restricted] == [
        ("local-large-restricted", DeploymentMode.ZERO_RETENTION)
    ]
    request = parse_chat_request({"messages": [{"role": "user", "content": "Is this payment fraud?"}]})
    with ModelServer(latency_scale=0) as server:
        # When the router's Bedrock adapter calls it
        call = ProviderCall(
            model=restricted[0], request=request, max_output_tokens=64, timeout_s=10, request_id="r-1"
        )
        result = BedrockProvider(endpoint_url=server.url).complete(call)
    # Then the large simulated model answers it
    assert (result.content or "").startswith("[local-large] ")
