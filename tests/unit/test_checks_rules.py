"""The ``rules`` check: JMESPath conditions over the parsed answer, from the policy file to the executor."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import jmespath
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fakes import FakeClock, ScriptedProvider, answer
from tests.helpers import build_policy, chat, features, minimal_policy, policy_from, run_cli, three_models

from modelrouter.api.errors import http_error
from modelrouter.checks import evaluate_answer
from modelrouter.checks.rules import apply_rules, is_truthy
from modelrouter.cli.main import EXIT_OK
from modelrouter.errors import PolicyError
from modelrouter.execution import (
    AllCandidatesFailedError,
    AnswerRejectedError,
    ExecutionResult,
    Executor,
    request_deadline,
)
from modelrouter.execution.stream_mode import plan_stream
from modelrouter.policy import Checks, Policy, ProviderKind
from modelrouter.policy.check_specs import RulesCheck
from modelrouter.selection import RequestContext, decide

BORDERLINE = {
    "name": "borderline",
    "when": "risk_score >= `0.3` && risk_score <= `0.7`",
    "action": "escalate",
    "reason": "borderline risk score; a stronger model decides",
    "models": ["m1"],
}
DECIDED = {"name": "decided", "when": "risk_score != null", "action": "accept", "reason": "clear decision"}
TRIAGE: dict[str, Any] = {"on_error": "escalate", "rules": [BORDERLINE, DECIDED], "default": "escalate"}


def scored(score: object) -> str:
    return json.dumps({"risk_score": score, "explanation": "card used in two countries within an hour"})


def rules_check(**overrides: Any) -> RulesCheck:
    return RulesCheck.model_validate({**TRIAGE, **overrides})


def triage_policy(**rules: Any) -> Policy:
    document = minimal_policy()
    document["models"] = three_models()
    route = {
        "name": "r",
        "strategy": "cascade",
        "models": ["m1", "m2"],
        "checks": {"rules": {**TRIAGE, **rules}},
    }
    document["routes"] = [route]
    return build_policy(document)


def execute(policy: Policy, scripts: dict[str, list[Any]]) -> tuple[ExecutionResult, ScriptedProvider]:
    clock = FakeClock()
    provider = ScriptedProvider(ProviderKind.BEDROCK, clock, scripts)
    executor = Executor({ProviderKind.BEDROCK: provider}, policy, clock=clock, rng=random.Random(7))
    request = chat("Score this card transaction")
    decision = decide(policy, request, RequestContext("req-1", "t1"), features=features())
    deadline = request_deadline(clock, 10_000, policy.execution)
    return executor.execute(decision, request, deadline), provider


def rules_records(result: ExecutionResult | AnswerRejectedError | AllCandidatesFailedError) -> list[Any]:
    return [(a.model, c.rule, c.action) for a in result.attempts for c in a.checks if c.name == "rules"]


# --- the policy file -------------------------------------------------------------------------------


def document_with_rules(*rules: dict[str, Any], **route: Any) -> dict[str, Any]:
    document = minimal_policy()
    document["routes"][0]["checks"] = {"rules": {"rules": list(rules)}}
    document["routes"][0].update(route)
    return document


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("risk_score >= ", "invalid JMESPath expression: incomplete expression"),
        ("risk_score ~ `1`", "invalid JMESPath expression: Unknown token ~ at column 11"),
        ("lenght(explanation) > `3`", "unknown JMESPath function 'lenght' (did you mean 'length'?)"),
        ("length(a, b)", "length() takes 1 argument, given 2"),
        ("(" * 2_000 + "a" + ")" * 2_000, "at most 1000 characters"),
    ],
)
def test_an_expression_that_does_not_compile_is_a_policy_error_naming_its_path(
    when: str, message: str
) -> None:
    # Given a route whose second rule's condition is not a usable JMESPath expression
    document = document_with_rules(DECIDED, {**BORDERLINE, "when": when, "models": None})
    # When the policy is loaded, Then it is refused with the path of that expression
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    (problem,) = caught.value.problems
    assert problem.path == "routes[0].checks.rules.rules[1].when"
    assert message in problem.message


def test_policy_validate_refuses_a_file_with_a_broken_rule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a policy file whose rule cannot compile, and the same file fixed
    broken, fixed = tmp_path / "broken.yaml", tmp_path / "fixed.yaml"
    broken.write_text(yaml.safe_dump(document_with_rules({**DECIDED, "when": "risk_score >"})))
    fixed.write_text(yaml.safe_dump(document_with_rules(DECIDED)))
    # When both are validated, Then the broken one fails naming the expression's path, the fixed passes
    code, _, err = run_cli(capsys, "policy", "validate", str(broken))
    assert code != EXIT_OK
    assert "routes[0].checks.rules.rules[0].when" in err
    assert run_cli(capsys, "policy", "validate", str(fixed))[0] == EXIT_OK


def test_rule_names_are_unique_and_rule_models_must_be_in_the_catalog() -> None:
    # Given two rules of one name, one of them for a misspelt model
    document = document_with_rules(DECIDED, {**DECIDED, "models": ["smal"]})
    # When loaded, Then both problems are reported
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    messages = {problem.path: problem.message for problem in caught.value.problems}
    assert "rule name 'decided' is used more than once" in messages["routes[0].checks.rules"]
    del document["routes"][0]["checks"]["rules"]["rules"][0]
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    (problem,) = caught.value.problems
    assert problem.path == "routes[0].checks.rules.rules[0].models[0]"
    assert problem.message == "unknown model 'smal' (did you mean 'small'?)"


def test_rules_need_the_whole_answer_so_streams_are_validated() -> None:
    # Given a route with rules that asks for incremental streaming, Then the policy is refused
    with pytest.raises(PolicyError, match="streaming: incremental cannot run rules"):
        policy_from(document_with_rules(DECIDED, streaming="incremental"))
    # and with streaming auto, a stream on the route is checked whole
    policy = build_policy(document_with_rules(DECIDED))
    request = chat("Score this", stream=True)
    decision = decide(policy, request, RequestContext("req-1", "t1"), features=features())
    assert plan_stream(request, decision).mode == "validated"
    assert "rules" in plan_stream(request, decision).reason


# --- judging one answer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "model", "passed", "action", "rule"),
    [
        (scored(0.05), "m1", True, "accept", "decided"),
        (scored(0.5), "m1", False, "escalate", "borderline"),
        (scored(0.5), "m2", True, "accept", "decided"),  # borderline judges m1's answers only
        (f"```json\n{scored(0.95)}\n```", "m1", True, "accept", "decided"),
        (json.dumps({"verdict": "fraud"}), "m1", False, "escalate", None),  # default
        (scored(None), "m1", False, "escalate", None),  # null is not ordered: nothing fires
    ],
)
def test_the_first_rule_that_holds_decides(
    content: str, model: str, passed: bool, action: str, rule: str
) -> None:
    # Given the triage rules, When an answer is judged, Then the first rule that holds fires
    result = apply_rules(rules_check(), answer(content), model=model, retries_done=0)
    assert (result.passed, result.action, result.rule) == (passed, action, rule)


def test_a_fired_rule_records_its_reason_and_no_rule_records_the_default() -> None:
    check = rules_check()
    assert apply_rules(check, answer(scored(0.5)), model="m1", retries_done=0).detail == BORDERLINE["reason"]
    assert (
        apply_rules(check, answer("{}"), model="m1", retries_done=0).detail
        == "no rule fired; default escalate"
    )


@pytest.mark.parametrize(("retries_done", "action"), [(0, "retry"), (1, "retry"), (2, "escalate")])
def test_retry_asks_again_at_most_max_retries_times_then_escalates(retries_done: int, action: str) -> None:
    check = rules_check(rules=[{**BORDERLINE, "action": "retry"}], max_retries=2)
    result = apply_rules(check, answer(scored(0.4)), model="m1", retries_done=retries_done)
    assert (result.passed, result.action, result.rule) == (False, action, "borderline")


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("The risk is moderate, about 0.5.", "answer is not JSON ($: syntax)"),
        ("", "answer is not JSON ($: empty)"),
        ("[" * 100_000 + "]" * 100_000, "answer is not JSON ($: depth)"),
        ('{"risk_score": ' + "9" * 5_000 + "}", "answer is not JSON ($: number)"),
    ],
)
def test_an_answer_that_is_not_json_takes_the_on_error_action(content: str, detail: str) -> None:
    result = apply_rules(rules_check(on_error="reject"), answer(content), model="m1", retries_done=0)
    assert (result.passed, result.action, result.rule, result.detail) == (False, "reject", None, detail)


@pytest.mark.parametrize(
    ("when", "score", "why"),
    [
        ("length(risk_score) > `3`", 0.123456, "length() was given a number, expects string, array, object"),
        (
            "risk_score >= `0.3`",
            "0.123456",
            "values of types that cannot be compared (e.g. a string and a number)",
        ),
        ("ceil(risk_score) == `1`", 1e999, "OverflowError"),
    ],
)
def test_an_expression_that_fails_on_the_answer_is_a_failed_check_naming_the_rule(
    when: str, score: object, why: str
) -> None:
    # Given a rule whose condition cannot be evaluated on what the model sent
    check = rules_check(rules=[{**DECIDED, "name": "failing", "when": when}])
    # When the answer is judged
    result = apply_rules(check, answer(scored(score)), model="m1", retries_done=0)
    # Then the check fails with on_error, naming the rule and why, never the answer's value
    assert (result.passed, result.action, result.rule) == (False, "escalate", "failing")
    assert result.detail == f"rule 'failing' could not be evaluated on this answer: {why}"
    assert "123456" not in result.detail


def test_an_answer_of_tool_calls_is_not_judged() -> None:
    from modelrouter.providers.types import ResultToolCall

    tool_answer = answer(None, tool_calls=(ResultToolCall("c1", "lookup", "{}"),), finish_reason="tool_calls")
    result = apply_rules(rules_check(default="reject"), tool_answer, model="m1", retries_done=0)
    assert (result.passed, result.action) == (True, "accept")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_truthiness_is_jmespaths(value: Any) -> None:
    # JMESPath's own `&&` returns its left side when that is false, else its right side
    assert is_truthy(value) == (jmespath.search("a && `true`", {"a": value}) is True)


RISKY_EXPRESSIONS = [
    "risk_score >= `0.3` && risk_score <= `0.7`",
    "length(risk_score) > `3`",
    "ceil(risk_score) == `1`",
    "floor(risk_score) == `0`",
    "sum(values(@)) > `0`",
    "avg(risk_score) > `0.5`",
    "to_string(@) == 'x'",
    "sort(@)[0] == `1`",
    "max_by(@, &risk_score).risk_score",
    "abs(to_number(explanation)) > `1`",
    "contains(explanation, 'fraud')",
    "merge(@, `{}`).risk_score",
    "keys(@)[?starts_with(@, 'r')]",
    "[*][*][*] == `[]`",
]
ANSWERS = st.one_of(
    JSON_VALUES.map(json.dumps),
    st.fixed_dictionaries({"risk_score": JSON_VALUES, "explanation": JSON_VALUES}).map(json.dumps),
    st.integers(1, 3_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 3_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.integers(300, 5_000).map(lambda digits: f'{{"risk_score": 1{"0" * digits}}}'),
    st.sampled_from(['{"risk_score": 1e999}', '{"risk_score": NaN}', '{"risk_score": -Infinity}']),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=ANSWERS,
    expressions=st.lists(st.sampled_from(RISKY_EXPRESSIONS), min_size=1, max_size=4, unique=True),
    actions=st.lists(st.sampled_from(["accept", "escalate", "retry", "reject"]), min_size=6, max_size=6),
)
def test_whatever_the_model_returns_the_rules_never_raise(
    content: str, expressions: list[str], actions: list[str]
) -> None:
    # Given rules whose functions can fail on the wrong types, overflow or recurse
    rules = [
        {"name": f"r{i}", "when": when, "action": actions[i], "reason": f"reason {i}"}
        for i, when in enumerate(expressions)
    ]
    check = rules_check(rules=rules, on_error=actions[4], default=actions[5])
    # When any answer is checked, Then the check gives a verdict (never an exception)
    verdict = evaluate_answer(Checks(rules=check), chat("x"), answer(content), repairs_done=0, model="m1")
    (result,) = verdict.results
    assert verdict.action == result.action in {"accept", "escalate", "retry", "reject"}
    assert result.passed == (result.action == "accept")
    reasons = tuple(rule["reason"] for rule in rules)
    assert result.detail.startswith((*reasons, "rule 'r", "answer is not JSON", "no rule fired"))


# --- execution -------------------------------------------------------------------------------------


def test_a_clear_first_pass_is_answered_at_once() -> None:
    result, provider = execute(triage_policy(), {"m1": [answer(scored(0.05))], "m2": [answer(scored(0.2))]})
    assert (result.model, provider.calls_to("m2")) == ("m1", 0)
    assert rules_records(result) == [("m1", "decided", "accept")]


def test_a_borderline_first_pass_escalates_to_the_stronger_model() -> None:
    result, _ = execute(triage_policy(), {"m1": [answer(scored(0.5))], "m2": [answer(scored(0.62))]})
    assert result.model == "m2"
    assert json.loads(result.answer.content or "")["risk_score"] == 0.62
    assert [(a.model, a.outcome) for a in result.attempts] == [("m1", "check_failed"), ("m2", "success")]
    assert rules_records(result) == [("m1", "borderline", "escalate"), ("m2", "decided", "accept")]


def test_retry_calls_the_same_model_again_then_escalates() -> None:
    policy = triage_policy(rules=[{**BORDERLINE, "action": "retry"}, DECIDED], max_retries=1)
    # Given a first pass that is borderline, then clear
    result, _ = execute(
        policy, {"m1": [answer(scored(0.5)), answer(scored(0.1))], "m2": [answer(scored(0.9))]}
    )
    assert rules_records(result) == [("m1", "borderline", "retry"), ("m1", "decided", "accept")]
    # Given a first pass that stays borderline, Then after one retry the next model answers
    result, _ = execute(policy, {"m1": [answer(scored(0.5))], "m2": [answer(scored(0.9))]})
    assert rules_records(result) == [
        ("m1", "borderline", "retry"),
        ("m1", "borderline", "escalate"),
        ("m2", "decided", "accept"),
    ]


def test_reject_fails_the_request_with_the_rules_reason() -> None:
    policy = triage_policy(
        rules=[{**DECIDED, "name": "refuse", "action": "reject", "reason": "no score given"}]
    )
    with pytest.raises(AnswerRejectedError) as caught:
        execute(policy, {"m1": [answer(scored(0.5))], "m2": [answer(scored(0.9))]})
    assert caught.value.message == "answer from 'm1' rejected by rule 'refuse': no score given"
    assert http_error(caught.value).status == 502
    assert rules_records(caught.value) == [("m1", "refuse", "reject")]


def test_an_escalation_with_no_candidate_left_fails_like_a_guardrail_escalation() -> None:
    policy = triage_policy(rules=[{**BORDERLINE, "models": None}])
    with pytest.raises(AllCandidatesFailedError) as caught:
        execute(policy, {"m1": [answer(scored(0.5))], "m2": [answer(scored(0.5))]})
    assert rules_records(caught.value) == [("m1", "borderline", "escalate"), ("m2", "borderline", "escalate")]


def test_an_expression_failing_on_the_answer_escalates_instead_of_crashing() -> None:
    policy = triage_policy(rules=[{**DECIDED, "name": "long", "when": "length(risk_score) > `3`"}])
    result, _ = execute(policy, {"m1": [answer(scored(0.5))], "m2": [answer(scored("high"))]})
    assert result.model == "m2"
    assert rules_records(result) == [("m1", "long", "escalate"), ("m2", "long", "accept")]
