"""Executing decisions: fallback order, retries within the deadline, cooldowns, checks, attempt records."""

from __future__ import annotations

import random
from typing import Any

import pytest
from tests.fakes import HANG, FakeClock, FakeGuardrail, ScriptedProvider, answer
from tests.helpers import build_policy, chat, features, minimal_policy, three_models

from modelrouter.api.errors import http_error
from modelrouter.errors import InvalidRequestError
from modelrouter.execution import (
    AllCandidatesFailedError,
    AnswerRejectedError,
    DeadlineExceededError,
    ExecutionResult,
    Executor,
    ProvidersUnreachableError,
    request_deadline,
)
from modelrouter.policy import Policy, ProviderKind
from modelrouter.providers.errors import (
    AuthError,
    ContextTooLongError,
    MalformedResponseError,
    OverloadedError,
    ProviderConnectionError,
    ProviderServerError,
    RateLimitedError,
)
from modelrouter.providers.types import Usage
from modelrouter.request import ChatRequest
from modelrouter.selection import Decision, RequestContext, decide

SCHEMA = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}


def policy_with(route: dict[str, Any] | None = None, **execution: Any) -> Policy:
    document = minimal_policy()
    document["models"] = three_models()
    document["routes"] = [{"name": "r", "models": ["m1", "m2", "m3"], **(route or {})}]
    if execution:
        document["execution"] = execution
    return build_policy(document)


class Harness:
    """A policy, a fake clock, scripted providers and an executor, wired together."""

    def __init__(self, policy: Policy, scripts: dict[str, list[Any]], guardrail: FakeGuardrail | None = None):
        self.policy = policy
        self.clock = FakeClock()
        self.provider = ScriptedProvider(ProviderKind.BEDROCK, self.clock, scripts)
        self.executor = Executor(
            {ProviderKind.BEDROCK: self.provider},
            policy,
            clock=self.clock,
            rng=random.Random(7),
            guardrail=guardrail,
        )

    def decision(self, request: ChatRequest, **feature_args: Any) -> Decision:
        context = RequestContext("req-1", "t1", cooling_down=self.executor.breakers.open_models())
        return decide(self.policy, request, context, features=features(**feature_args))

    def run(
        self, request: ChatRequest | None = None, budget_ms: int | None = 10_000, **feature_args: Any
    ) -> ExecutionResult:
        request = request or chat("hello")
        decision = self.decision(request, **feature_args)
        deadline = request_deadline(self.clock, budget_ms, self.policy.execution)
        return self.executor.execute(decision, request, deadline)


def outcomes(attempts: Any) -> list[tuple[str, str, str | None]]:
    return [(a.model, a.outcome, a.error_code) for a in attempts]


def test_first_candidate_answers_and_the_attempt_is_recorded() -> None:
    # Given a healthy first model
    harness = Harness(policy_with(), {"m1": [answer("hi", usage=Usage(1000, 500, cache_read_tokens=200))]})
    # When executed
    result = harness.run()
    # Then its answer is returned with one attempt holding tokens, cost and timing
    assert result.model == "m1"
    assert result.answer.content == "hi"
    (attempt,) = result.attempts
    assert (attempt.outcome, attempt.input_tokens, attempt.output_tokens, attempt.cache_read_tokens) == (
        "success",
        1000,
        500,
        200,
    )
    # $1/M input (cache reads at the input price without a cache price), $2/M output
    assert attempt.cost_usd == pytest.approx((1000 * 1 + 200 * 1 + 500 * 2) / 1e6)
    assert attempt.duration_ms == pytest.approx(50)
    assert attempt.reported_model == "fake-model-v1"
    assert result.cost_usd == attempt.cost_usd


def test_retryable_error_is_retried_on_the_same_model_after_backoff() -> None:
    harness = Harness(policy_with(), {"m1": [ProviderServerError("boom"), answer()]})
    result = harness.run()
    assert outcomes(result.attempts) == [("m1", "error", "server_error"), ("m1", "success", None)]
    assert len(harness.clock.sleeps) == 1
    assert 0 <= harness.clock.sleeps[0] <= 0.2  # full jitter under the first ceiling (backoff_base_ms)


def test_retry_after_is_honoured_as_a_floor() -> None:
    harness = Harness(policy_with(), {"m1": [RateLimitedError("slow down", retry_after_s=1.5), answer()]})
    harness.run()
    assert harness.clock.sleeps == [1.5]


def test_retry_after_longer_than_max_backoff_moves_on_without_waiting() -> None:
    harness = Harness(policy_with(), {"m1": [RateLimitedError("later", retry_after_s=30)], "m2": [answer()]})
    result = harness.run()
    assert outcomes(result.attempts) == [("m1", "error", "rate_limited"), ("m2", "success", None)]
    assert harness.clock.sleeps == []


def test_non_retryable_error_moves_on_at_once() -> None:
    harness = Harness(policy_with(), {"m1": [AuthError("bad key")], "m2": [answer()]})
    result = harness.run()
    assert outcomes(result.attempts) == [("m1", "error", "auth_error"), ("m2", "success", None)]
    assert harness.clock.sleeps == []


def test_context_too_long_skips_to_a_larger_window() -> None:
    # Given m1 and m2 both report the prompt too long, and m3 has the largest window
    policy = policy_with()
    harness = Harness(policy, {"m2": [ContextTooLongError("too long")], "m3": [answer()]})
    request = chat("hello")
    # When the route offers m2, m3 after m1 (m1 is left out by the engine here: we start with m2)
    decision = harness.decision(request)
    decision = decision.model_copy(update={"candidates": (decision.candidates[1], decision.candidates[2])})
    result = harness.executor.execute(
        decision, request, request_deadline(harness.clock, 10_000, policy.execution)
    )
    # Then m2 fails once and m3 answers
    assert outcomes(result.attempts) == [("m2", "error", "context_too_long"), ("m3", "success", None)]


def test_context_too_long_skips_smaller_windows_later_in_the_list() -> None:
    # Given the order m3 (too long), m1 (smaller window), m2 (smaller window)
    policy = policy_with({"models": ["m3", "m1", "m2"]})
    harness = Harness(policy, {"m3": [ContextTooLongError("too long")], "m1": [answer()], "m2": [answer()]})
    # When executed, Then m1 and m2 are skipped without a call and everything failed
    with pytest.raises(AllCandidatesFailedError) as caught:
        harness.run()
    assert outcomes(caught.value.attempts) == [
        ("m3", "error", "context_too_long"),
        ("m1", "skipped", "context_too_small"),
        ("m2", "skipped", "context_too_small"),
    ]
    assert harness.provider.calls_to("m1") == 0


def test_throttling_on_every_candidate_lists_every_attempt_within_limits() -> None:
    policy = policy_with(max_attempts_per_model=2, max_total_attempts=5)
    harness = Harness(policy, {m: [RateLimitedError("throttled")] for m in ("m1", "m2", "m3")})
    with pytest.raises(AllCandidatesFailedError) as caught:
        harness.run()
    attempts = caught.value.attempts
    assert [a.model for a in attempts] == ["m1", "m1", "m2", "m2", "m3"]
    assert all(a.error_code == "rate_limited" and a.retryable for a in attempts)
    assert "after 5 attempts" in caught.value.message


def test_a_provider_that_cannot_be_reached_has_its_own_code_to_the_end() -> None:
    # Given models whose providers refuse the connection, then one that answers with a server error
    reached = Harness(policy_with(), {m: [ProviderConnectionError("refused")] for m in ("m1", "m2", "m3")})
    mixed = Harness(policy_with(), {"m1": [ProviderConnectionError("refused")], "m2": [AuthError("key")],
                                     "m3": [AuthError("key")]})  # fmt: skip

    # When every candidate fails
    with pytest.raises(ProvidersUnreachableError) as unreachable:
        reached.run()
    with pytest.raises(AllCandidatesFailedError) as failed:
        mixed.run()

    # Then each attempt says the connection failed (and it was retried: it is retryable), and a request
    # whose last failure was one answers 502 provider_connection_error; otherwise all_candidates_failed
    codes = {a.error_code for a in unreachable.value.attempts}
    assert codes == {"provider_connection_error"}
    assert all(a.retryable for a in unreachable.value.attempts)
    assert len(unreachable.value.attempts) > 3
    response = http_error(unreachable.value)
    assert (response.status, response.body["error"]["code"]) == (502, "provider_connection_error")
    assert type(failed.value) is AllCandidatesFailedError
    assert failed.value.code == "all_candidates_failed"


def test_a_hanging_provider_never_runs_past_the_deadline() -> None:
    # Given every model hangs and a 2-second deadline
    harness = Harness(policy_with(), {m: [HANG] for m in ("m1", "m2", "m3")})
    started = harness.clock.now()
    # When executed
    with pytest.raises(DeadlineExceededError) as caught:
        harness.run(budget_ms=2_000)
    # Then it stops at the deadline, with the timeout recorded
    assert harness.clock.now() - started <= 2.0
    assert caught.value.attempts[0].error_code == "timeout"
    # and each of the three candidates got its share of the time left, so every one was tried
    assert [call.timeout_s for call in harness.provider.calls] == pytest.approx([2 / 3] * 3)


def test_no_attempt_starts_with_less_than_the_minimum_left() -> None:
    harness = Harness(policy_with(min_attempt_ms=500), {"m1": [HANG]})
    with pytest.raises(DeadlineExceededError):
        harness.run(budget_ms=400)
    assert harness.provider.calls == []


def test_malformed_responses_are_retried_then_fall_back() -> None:
    harness = Harness(
        policy_with(), {"m1": [MalformedResponseError("truncated JSON body")], "m2": [answer("fine")]}
    )
    result = harness.run()
    assert outcomes(result.attempts) == [
        ("m1", "error", "malformed_response"),
        ("m1", "error", "malformed_response"),
        ("m2", "success", None),
    ]


def test_schema_repair_feeds_the_errors_back_to_the_same_model() -> None:
    # Given a JSON-schema request and a model that first answers without the required field
    policy = policy_with({"checks": {"json_schema": {"on_failure": "repair", "max_repairs": 1}}})
    harness = Harness(policy, {"m1": [answer('{"sum": 1}'), answer('{"total": 42}')]})
    request = chat(
        "Total?", response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}
    )
    # When executed
    result = harness.run(request, response_format="json_schema")
    # Then the second call saw the bad answer and the validation error, and its answer is returned
    assert result.answer.content == '{"total": 42}'
    assert outcomes(result.attempts) == [("m1", "check_failed", None), ("m1", "success", None)]
    repair_turn = harness.provider.calls[1].request.messages[-1]
    assert "'total' is a required property" in repair_turn.text()
    assert harness.provider.calls[1].request.messages[-2].text() == '{"sum": 1}'
    # and the record keeps the rule but not the answer's values
    assert result.attempts[0].checks[0].detail == "$: required ['total']"


def test_schema_that_never_validates_ends_in_a_defined_failure() -> None:
    policy = policy_with({"checks": {"json_schema": {"on_failure": "repair", "max_repairs": 1}}})
    harness = Harness(policy, {m: [answer("not json")] for m in ("m1", "m2", "m3")})
    request = chat(
        "Total?", response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}
    )
    with pytest.raises(AllCandidatesFailedError) as caught:
        harness.run(request, response_format="json_schema")
    attempts = caught.value.attempts
    assert {a.outcome for a in attempts} == {"check_failed"}
    assert [a.model for a in attempts] == ["m1", "m1", "m2", "m2", "m3", "m3"]
    assert [a.checks[0].action for a in attempts[:2]] == ["repair", "escalate"]


def test_cascade_escalates_on_a_failed_check_and_records_why() -> None:
    policy = policy_with({"strategy": "cascade", "checks": {"json_schema": {"on_failure": "escalate"}}})
    harness = Harness(policy, {"m1": [answer("[1, 2]")], "m2": [answer('{"total": 3}')]})
    request = chat(
        "Total?", response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}
    )
    result = harness.run(request, response_format="json_schema")
    assert result.model == "m2"
    first = result.attempts[0]
    assert (first.outcome, first.checks[0].action, first.checks[0].detail) == (
        "check_failed",
        "escalate",
        "$: type",
    )


def test_truncated_json_escalates_instead_of_repairing() -> None:
    policy = policy_with({"checks": {"json_schema": {"on_failure": "repair"}}})
    harness = Harness(
        policy, {"m1": [answer('{"tot', finish_reason="length")], "m2": [answer('{"total": 1}')]}
    )
    request = chat(
        "Total?", response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}
    )
    result = harness.run(request, response_format="json_schema")
    assert outcomes(result.attempts) == [("m1", "check_failed", None), ("m2", "success", None)]
    assert "cut off" in result.attempts[0].checks[0].detail


def test_invalid_request_schema_fails_before_any_call() -> None:
    harness = Harness(policy_with(), {"m1": [answer()]})
    bad = {"type": "object", "properties": {"x": {"type": "nonsense"}}}
    request = chat("x", response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": bad}})
    with pytest.raises(InvalidRequestError) as caught:
        harness.run(request, response_format="json_schema")
    assert caught.value.field.startswith("response_format.json_schema.schema")
    assert harness.provider.calls == []


def test_guardrail_that_blocks_every_answer_never_returns_one() -> None:
    policy = policy_with({"checks": {"guardrails": {"blocked_terms": ["secret plan"]}}})
    harness = Harness(policy, {m: [answer("Here is the SECRET PLAN")] for m in ("m1", "m2", "m3")})
    with pytest.raises(AllCandidatesFailedError) as caught:
        harness.run()
    assert [a.outcome for a in caught.value.attempts] == ["check_failed"] * 3
    assert caught.value.attempts[0].checks[0].detail == "blocked term #1"


def test_guardrail_fail_mode_stops_at_the_first_blocked_answer() -> None:
    policy = policy_with(
        {"checks": {"guardrails": {"blocked_patterns": [r"\bpassword:\s*\S+"], "on_failure": "fail"}}}
    )
    harness = Harness(policy, {"m1": [answer("password: hunter2")], "m2": [answer("fine")]})
    with pytest.raises(AnswerRejectedError) as caught:
        harness.run()
    assert len(caught.value.attempts) == 1
    assert harness.provider.calls_to("m2") == 0


def test_pii_in_answers_is_redacted_when_the_route_says_so() -> None:
    policy = policy_with({"checks": {"guardrails": {"pii": "redact"}}})
    harness = Harness(policy, {"m1": [answer("Write to jane.doe@example.com today")]})
    result = harness.run()
    assert result.answer.content == "Write to [REDACTED:email] today"
    assert result.attempts[0].checks[0].action == "redact"


def test_bedrock_guardrail_intervention_escalates_and_outage_fails_closed() -> None:
    policy = policy_with({"checks": {"bedrock_guardrail": {"id": "gr-1", "version": "1"}}})
    harness = Harness(
        policy, {"m1": [answer("forbidden words")], "m2": [answer("fine")]}, guardrail=FakeGuardrail()
    )
    result = harness.run()
    assert outcomes(result.attempts) == [("m1", "check_failed", None), ("m2", "success", None)]
    assert result.attempts[0].checks[0].detail == "content policy: VIOLENCE"

    outage = Harness(policy, {"m1": [answer("fine")]}, guardrail=FakeGuardrail(error=OverloadedError("down")))
    with pytest.raises(AnswerRejectedError):
        outage.run()


def test_provider_content_filter_escalates() -> None:
    harness = Harness(policy_with(), {"m1": [answer(None, finish_reason="content_filter")], "m2": [answer()]})
    result = harness.run()
    assert result.attempts[0].checks[0].name == "provider_filter"
    assert result.model == "m2"


def test_breaker_opens_after_repeated_failures_then_probes_after_the_pause() -> None:
    # Given a breaker that opens after 2 failures and pauses 30 s
    policy = policy_with(cooldown={"failures": 2, "window_s": 60, "pause_s": 30}, max_attempts_per_model=1)
    harness = Harness(policy, {"m1": [OverloadedError("busy")], "m2": [answer()]})
    # When m1 fails on two requests
    harness.run()
    harness.run()
    # Then the next decision sees m1 cooling down and does not call it
    assert harness.executor.breakers.open_models() == {"m1"}
    third = harness.run()
    assert [c for c in third.attempts if c.model == "m1"] == []
    assert harness.provider.calls_to("m1") == 2
    # After the pause one probe goes through; a success closes the breaker
    harness.clock.advance(31)
    harness.provider.scripts["m1"] = [answer("back")]
    assert harness.run().model == "m1"
    assert harness.executor.breakers.open_models() == frozenset()


def test_breaker_skips_a_model_mid_request_when_it_opens() -> None:
    policy = policy_with(cooldown={"failures": 1, "window_s": 60, "pause_s": 30}, max_attempts_per_model=2)
    harness = Harness(policy, {"m1": [ProviderServerError("x")], "m2": [answer()]})
    result = harness.run()
    # The first failure opened m1's breaker, so it was not retried
    assert outcomes(result.attempts) == [("m1", "error", "server_error"), ("m2", "success", None)]


def test_total_attempts_cap_applies_across_candidates() -> None:
    policy = policy_with(max_attempts_per_model=2, max_total_attempts=3)
    harness = Harness(policy, {m: [ProviderServerError("x")] for m in ("m1", "m2", "m3")})
    with pytest.raises(AllCandidatesFailedError) as caught:
        harness.run()
    assert len([a for a in caught.value.attempts if a.called]) == 3


def test_concurrency_cap_turns_a_full_endpoint_into_a_no_call_slot_attempt() -> None:
    # Given a cap of one call per endpoint and the slot already held
    policy = policy_with(max_concurrency_per_provider=1, max_attempts_per_model=1)
    harness = Harness(policy, {"m1": [answer()], "m2": [answer()]})
    key = f"bedrock:{policy.model_by_id['m1'].endpoint}"
    # When a request runs, Then waiting for a slot gives up as "no_call_slot" (the model was never called)
    with harness.executor._limiter.slot(key, 0.1), pytest.raises(AllCandidatesFailedError) as caught:
        harness.run(budget_ms=400)
    assert {a.error_code for a in caught.value.attempts} == {"no_call_slot"}


def test_spending_never_exceeds_the_reservation() -> None:
    # Given answers that always fail their check, and a reservation covering two worst-case calls of m1
    policy = policy_with({"checks": {"guardrails": {"blocked_terms": ["bad"]}}})
    harness = Harness(policy, {m: [answer("bad answer", usage=Usage(100, 1000))] for m in ("m1", "m2", "m3")})
    request = chat("hello")
    decision = harness.decision(request)
    limit = 2 * decision.candidates[0].max_cost_usd
    # When executed with that spend limit
    with pytest.raises(AllCandidatesFailedError) as caught:
        harness.executor.execute(
            decision, request, request_deadline(harness.clock, 10_000, policy.execution), limit
        )
    # Then what was spent stays within it, and the rest was skipped for that reason
    assert caught.value.cost_usd <= limit
    assert caught.value.attempts[-1].error_code == "over_reservation"
