"""The dry run's sample requests and the dry run itself: every ``events/`` chat body parses, the
package's samples cover every kind the dry run promises, the shipped policies pass, and a route that
can never serve or a decision that crashes is a problem naming route, tenant and sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import EVENTS, ROOT, minimal_policy, policy_from

from modelrouter.activation.dry_run import dry_run
from modelrouter.activation.samples import SAMPLE_KINDS, SAMPLES, sample_requests
from modelrouter.features import extract_features
from modelrouter.policy.artifacts import load_local_routers, load_local_topics
from modelrouter.policy.loader import load_policy_file
from modelrouter.request import parse_chat_request

CHAT_PATHS = {"/v1/chat/completions", "/v1/route"}


def chat_bodies() -> list[tuple[str, bytes]]:
    """Every chat body under events/: router events on the chat paths (the bad-* ones are meant to
    fail) and the bare request bodies."""
    bodies = []
    for path in sorted(EVENTS.glob("*.json")):
        event: dict[str, Any] = json.loads(path.read_text())
        if event.get("path") in CHAT_PATHS and not path.name.startswith("bad-"):
            bodies.append((path.name, str(event["body"]).encode()))
    bodies += [
        (f"requests/{path.name}", path.read_bytes()) for path in sorted((EVENTS / "requests").glob("*.json"))
    ]
    return bodies


@pytest.mark.parametrize(("name", "body"), chat_bodies(), ids=[name for name, _ in chat_bodies()])
def test_every_events_chat_body_parses(name: str, body: bytes) -> None:
    # Given a chat body shipped in events/, Then the request parser takes it
    assert parse_chat_request(body).messages, name


def test_there_are_events_chat_bodies_to_check() -> None:
    assert len(chat_bodies()) >= 15


def _covers(kind: str, body: dict[str, Any]) -> bool:
    """Whether the parsed request and its features really are of ``kind``."""
    request = parse_chat_request(json.dumps(body).encode())
    features = extract_features(request)
    checks = {
        "plain_text": lambda: (
            not features.has_tools and not features.has_images and features.response_format == "text"
        ),
        "tools": lambda: features.has_tools,
        "json_schema": lambda: features.response_format == "json_schema",
        "json_object": lambda: features.response_format == "json_object",
        "image": lambda: features.has_images,
        "document": lambda: bool(features.documents),
        "long_prompt": lambda: features.prompt_tokens > 10_000,
        "other_language": lambda: features.language.code not in {"en", "und"},
        "personal_data": lambda: bool(features.pii),
        "streaming": lambda: request.stream is True,
        "metadata_tags": lambda: bool(request.metadata),
    }
    return checks[kind]()


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_the_samples_cover_every_kind_they_claim(kind: str) -> None:
    # Given the samples that say they are of this kind
    claiming = [sample for sample in SAMPLES if kind in sample.kinds]
    # Then there is one, and each really is of that kind
    assert claiming, kind
    for sample in claiming:
        assert _covers(kind, sample.body), (kind, sample.name)


def test_the_samples_have_distinct_names_and_all_parse() -> None:
    names = [sample.name for sample, _ in sample_requests()]
    assert len(names) == len(set(names)) == len(SAMPLES)


@pytest.mark.parametrize("name", ["example.yaml", "local.yaml"])
def test_the_shipped_policies_pass_the_dry_run(name: str) -> None:
    # Given a shipped policy with its artifacts
    path = ROOT / "policies" / name
    loaded = load_policy_file(path)
    routers, topics = load_local_routers(loaded.policy, path), load_local_topics(loaded.policy, path)
    # When every route decides on every sample, Then nothing is wrong
    assert dry_run(loaded.policy, routers=routers, topics=topics) == []


def test_a_route_no_model_can_serve_is_a_problem_naming_it_and_why() -> None:
    # Given a second route that requires documents, which no model reads, pinned for a tenant
    document = minimal_policy()
    document["routes"].insert(0, {"name": "scans", "when": {"tags": ["scan"]}, "models": ["small"],
                                  "require_capabilities": ["documents"]})  # fmt: skip
    # When the dry run runs
    problems = dry_run(policy_from(document).policy)
    # Then that route, and only it, is a problem naming a tenant, a sample and the reason
    [problem] = problems
    assert problem.path == "routes[0]"
    assert "route 'scans' never decides with a candidate" in problem.message
    assert "tenant 't1', sample 'plain-text'" in problem.message
    assert "capability_missing" in problem.message


def test_a_decision_that_crashes_is_a_problem_naming_route_tenant_and_sample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the engine crashing on images (a bug the policy's data triggers)
    from modelrouter.selection import engine

    real = engine._required_capabilities

    def crashing(route: Any, features: Any) -> Any:
        if features.has_images:
            raise ZeroDivisionError("division by zero")
        return real(route, features)

    monkeypatch.setattr(engine, "_required_capabilities", crashing)
    # When the dry run runs
    problems = [str(problem) for problem in dry_run(policy_from(minimal_policy()).policy)]
    # Then the crash is named with route, tenant and sample, on both the forced and the matched pass
    assert (
        "routes[0]: route 'default', tenant 't1', sample 'image': the decision crashed: ZeroDivisionError"
        in ("\n".join(problems))
    )
    assert any(
        p.startswith("tenants[0]: tenant 't1', sample 'image': the decision crashed") for p in problems
    )


def test_a_tenant_restricted_to_other_models_does_not_fail_a_route_others_use(tmp_path: Path) -> None:
    # Given a route every tenant reaches, which one tenant may not use (its allowed models differ)
    document = minimal_policy()
    document["tenants"].append({"id": "t2", "budget": {"daily_usd": 1}, "allowed_models": ["large"]})
    document["routes"].insert(0, {"name": "cheap", "when": {"has_tools": True}, "models": ["small"]})
    # When the dry run runs, Then the route is fine: another tenant gets a model from it
    assert dry_run(policy_from(document).policy) == []
    assert yaml.safe_dump(document)
