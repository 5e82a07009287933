"""A skipped cascade tier is never called: the executor tries the tiers the decision kept, cheapest
first, and escalates among them only."""

from __future__ import annotations

import random
from typing import Any

from tests.fakes import FakeClock, ScriptedProvider, answer
from tests.helpers import build_policy, chat, features
from tests.learned_fixtures import keyword_router
from tests.unit.test_cascade_skip import EASY, HARD, cascade_document

from modelrouter.execution import ExecutionResult, Executor, request_deadline
from modelrouter.policy import ProviderKind
from modelrouter.request import ChatRequest
from modelrouter.selection import Decision, ExclusionReason, RequestContext, decide

SCHEMA = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}


def run(
    request: ChatRequest, scripts: dict[str, list[Any]], **route: Any
) -> tuple[Decision, ExecutionResult, ScriptedProvider]:
    """Decide ``request`` on the cascade route (with ``route``'s extra fields) and execute it against
    scripted providers."""
    router, raw = keyword_router(EASY, with_keyword=HARD)
    document = cascade_document(raw)
    document["routes"][0].update(route)
    policy = build_policy(document)
    assert policy.routes[0].cascade is not None
    clock = FakeClock()
    provider = ScriptedProvider(ProviderKind.BEDROCK, clock, scripts)
    executor = Executor({ProviderKind.BEDROCK: provider}, policy, clock=clock, rng=random.Random(7))
    decision = decide(
        policy,
        request,
        RequestContext("req-1", "t1"),
        features=features(response_format="json_schema" if request.response_format else "text"),
        routers={policy.routes[0].cascade.ref: router},
    )
    result = executor.execute(decision, request, request_deadline(clock, 10_000, policy.execution))
    return decision, result, provider


def test_a_skipped_tier_is_never_called() -> None:
    # Given every model would answer, and a prompt the small model is predicted to fail
    scripts = {model: [answer(f"from {model}")] for model in ("small", "medium", "large")}
    # When it is decided and executed
    decision, result, provider = run(chat("prove"), scripts)
    # Then the small model was skipped, never called, and the medium one answered
    assert [e.reason for e in decision.exclusions] == [ExclusionReason.PREDICTED_BELOW_SKIP]
    assert provider.calls_to("small") == 0
    assert [a.model for a in result.attempts] == ["medium"]
    assert result.answer.content == "from medium"


def test_without_a_skip_the_cheapest_tier_is_called_first() -> None:
    # Given the same models, and a prompt every model is predicted to answer
    scripts = {model: [answer(f"from {model}")] for model in ("small", "medium", "large")}
    # When it is decided and executed, Then the cascade starts at the small model as usual
    _, result, provider = run(chat("hello"), scripts)
    assert provider.calls_to("small") == 1
    assert result.model == "small"


def test_an_escalation_goes_to_the_next_kept_tier_never_back_to_a_skipped_one() -> None:
    # Given a cascade that escalates on an answer failing its JSON schema, and a medium model that fails it
    checks = {"json_schema": {"on_failure": "escalate", "max_repairs": 0}}
    valid = answer('{"total": 3}')
    scripts = {"small": [valid], "medium": [answer("not json")], "large": [valid]}
    # When a JSON request whose prompt the small model is predicted to fail is executed
    _, result, provider = run(chat("prove", response_format=JSON_SCHEMA), scripts, checks=checks)
    # Then the medium answer escalated to the large model; the small one was never tried
    assert [(a.model, a.outcome) for a in result.attempts] == [
        ("medium", "check_failed"),
        ("large", "success"),
    ]
    assert provider.calls_to("small") == 0
