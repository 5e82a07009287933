"""Shared test helpers: paths, a minimal valid policy to modify, request builders, ``load_event()``,
``load_function()`` and a fake Lambda context."""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrouter.features.records import Difficulty, LanguageGuess, PiiFinding, PiiKind, RequestFeatures
from modelrouter.policy import LoadedPolicy, Policy, parse_policy
from modelrouter.request import ChatRequest, parse_chat_request

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "policies" / "example.yaml"
SCHEMA_FILE = ROOT / "policies" / "policy.schema.json"
EVENTS = ROOT / "events"
FUNCTIONS = ROOT / "functions"


def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, and no profile or endpoint override from the caller's environment,
    so nothing a test does can reach a real AWS account."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")] + ["AWS_PROFILE"]:
        monkeypatch.delenv(name, raising=False)


def load_event(name: str) -> dict[str, Any]:
    """The JSON document ``events/<name>``: the one way tests read events.

    ``.json`` is optional and subfolders are allowed: ``load_event("authorizer/valid-key")``.
    """
    path = EVENTS / (name if name.endswith(".json") else f"{name}.json")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def with_tenant(event: dict[str, Any], tenant_id: str | None) -> dict[str, Any]:
    """``event`` (changed in place) as if the authorizer had resolved ``tenant_id``; ``None``: no tenant.

    REST APIs flatten the authorizer's context into ``requestContext.authorizer``.
    """
    context = event["requestContext"]
    if tenant_id is None:
        context.pop("authorizer", None)
    else:
        authorizer = context.setdefault("authorizer", {"key_id": "k1tenantkey2", "integrationLatency": 12})
        authorizer.update({"principalId": tenant_id, "tenant_id": tenant_id})
    return event


def set_header(event: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """``event`` (changed in place) with header ``name`` set, in ``headers`` and ``multiValueHeaders``."""
    for key in [key for key in event["headers"] if key.lower() == name.lower()]:
        del event["headers"][key]
        (event.get("multiValueHeaders") or {}).pop(key, None)
    event["headers"][name] = value
    if event.get("multiValueHeaders") is not None:
        event["multiValueHeaders"][name] = [value]
    return event


def rest_event(
    method: str, path: str, body: str | None = None, *, tenant_id: str | None = "t1"
) -> dict[str, Any]:
    """A REST API proxy event (payload 1.0) for ``method path``, built from ``events/chat-support``."""
    event = load_event("chat-support")
    event.update(
        {"resource": path, "path": path, "httpMethod": method, "body": body, "isBase64Encoded": False}
    )
    context = event["requestContext"]
    context.update({"resourcePath": path, "httpMethod": method, "path": f"/{context['stage']}{path}"})
    return with_tenant(event, tenant_id)


def model_entry(name: str, **overrides: Any) -> dict[str, Any]:
    """A valid Bedrock catalog entry, with overrides."""
    entry: dict[str, Any] = {
        "id": name,
        "provider": "bedrock",
        "model_id": f"vendor.{name}-v1:0",
        "region": "us-east-1",
        "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
        "context_window": 100_000,
        "max_output_tokens": 4_096,
        "capabilities": ["tools", "json_object", "json_schema", "vision", "multilingual"],
        "residency": "us",
        "max_classification": "confidential",
        "tags": ["general"],
    }
    entry.update(overrides)
    return entry


def three_models() -> list[dict[str, Any]]:
    """m1, m2, m3: Bedrock models at $1/M in and $2/M out, windows 8k, 32k and 200k, 1,000 tokens out."""
    return [
        model_entry("m1", context_window=8_000, max_output_tokens=1_000),
        model_entry("m2", context_window=32_000, max_output_tokens=1_000),
        model_entry("m3", context_window=200_000, max_output_tokens=1_000),
    ]


def minimal_policy() -> dict[str, Any]:
    """A small valid policy as a dict: two models, one tenant, one catch-all route."""
    return copy.deepcopy(
        {
            "version": 1,
            "name": "test-policy",
            "models": [
                model_entry("small"),
                model_entry("large", pricing={"input_per_mtok": 5, "output_per_mtok": 20}),
            ],
            "tenants": [{"id": "t1", "budget": {"daily_usd": 10}, "max_classification": "confidential"}],
            "routes": [{"name": "default", "models": ["small", "large"]}],
        }
    )


def policy_from(document: dict[str, Any]) -> LoadedPolicy:
    """Parse a policy dict through the real YAML loader."""
    return parse_policy(yaml.safe_dump(document, sort_keys=False), "test.yaml")


def build_policy(document: dict[str, Any]) -> Policy:
    """Like :func:`policy_from`, returning just the policy."""
    return policy_from(document).policy


def chat(text: str = "Hello", **fields: Any) -> ChatRequest:
    """A one-message chat request with extra top-level fields."""
    return parse_chat_request({"messages": [{"role": "user", "content": text}], **fields})


def features(
    *,
    prompt_tokens: int = 100,
    difficulty: float = 0.1,
    language: str = "en",
    images: int = 0,
    tools: int = 0,
    response_format: str = "text",
    pii: tuple[str, ...] = (),
) -> RequestFeatures:
    """Hand-built request features, so engine tests do not depend on the extractors."""
    return RequestFeatures(
        prompt_tokens=prompt_tokens,
        prompt_chars=prompt_tokens * 4,
        message_count=1,
        user_turns=1,
        image_count=images,
        tool_count=tools,
        response_format=response_format,
        language=LanguageGuess(code=language, script="latin", confidence=0.9, evidence="test"),
        pii=tuple(PiiFinding(kind=PiiKind(kind), message_index=0, start=0, end=4) for kind in pii),
        difficulty=Difficulty(score=difficulty, signals=()),
    )


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``modelrouter`` with ``argv`` in process: exit code, stdout and stderr (never a traceback)."""
    from modelrouter.cli.main import main

    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def wait_for(condition: Callable[[], bool]) -> None:
    """Wait until ``condition`` holds (work in other threads: a cache refresh, calls in flight)."""
    for _ in range(6000):
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("condition never held")
