"""Answer checks: JSON structure and schema, local guardrails, and the order they run in."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fakes import answer
from tests.helpers import chat

from modelrouter.checks import evaluate_answer, json_problems
from modelrouter.checks.guardrails import apply_guardrails
from modelrouter.checks.json_answer import MAX_REPORTED_ERRORS, compile_schema
from modelrouter.errors import InvalidRequestError
from modelrouter.policy import Checks, GuardrailsCheck

SCHEMA = {
    "type": "object",
    "properties": {"total": {"type": "number"}, "items": {"type": "array", "items": {"type": "string"}}},
    "required": ["total"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"total": 3}', []),
        ('```json\n{"total": 3}\n```', []),
        ("", ["$: empty"]),
        ('{"total": 3', ["$: syntax"]),
        ('{"items": []}', ["$: required ['total']"]),
        ('{"total": "3"}', ["$.total: type"]),
        ('{"total": 3, "items": ["a", 2]}', ["$.items[1]: type"]),
        ('{"total": 3, "extra": true}', ["$: additionalProperties"]),
    ],
)
def test_json_schema_problems_name_path_and_rule(content: str, expected: list[str]) -> None:
    assert [problem.safe for problem in json_problems(content, SCHEMA)] == expected


def test_json_object_mode_needs_an_object() -> None:
    assert json_problems("[1]", None)[0].safe == "$: type"
    assert json_problems('{"a": 1}', None) == []


def test_at_most_five_errors_are_reported() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    assert len(json_problems(json.dumps(["x"] * 20), schema)) == MAX_REPORTED_ERRORS


def test_messages_for_the_model_are_full_but_records_hold_no_values() -> None:
    (problem,) = json_problems('{"total": "jane.doe@example.com"}', SCHEMA)
    assert "jane.doe@example.com" in problem.message
    assert "jane.doe" not in problem.safe


def test_invalid_schema_is_a_request_error_naming_the_field() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        compile_schema({"type": "object", "properties": {"a": {"minimum": "zero"}}})
    assert caught.value.field == "response_format.json_schema.schema.properties.a.minimum"


def test_compiled_validators_are_cached() -> None:
    assert compile_schema(dict(SCHEMA)) is compile_schema(json.loads(json.dumps(SCHEMA)))


@pytest.mark.parametrize(
    ("check", "text", "violations"),
    [
        (
            GuardrailsCheck(blocked_terms=["Internal Use Only"]),
            "this is INTERNAL use only",
            ["blocked term #1"],
        ),
        (GuardrailsCheck(blocked_patterns=[r"\d{3}-\d{4}"]), "call 555-1234", ["blocked pattern #1"]),
        (GuardrailsCheck(max_chars=5), "too long", ["8 characters, limit 5"]),
        (GuardrailsCheck(require_citation=r"\[doc:\d+\]"), "no source", ["required citation missing"]),
        (GuardrailsCheck(require_citation=r"\[doc:\d+\]"), "see [doc:3]", []),
        (GuardrailsCheck(pii="block"), "mail me at a.b@example.org", ["personal data in answer: email"]),
        (GuardrailsCheck(), "anything at a.b@example.org", []),
    ],
)
def test_guardrail_rules(check: GuardrailsCheck, text: str, violations: list[str]) -> None:
    assert list(apply_guardrails(check, text).violations) == violations


def test_redaction_replaces_every_finding() -> None:
    outcome = apply_guardrails(GuardrailsCheck(pii="redact"), "card 4111 1111 1111 1111 or x@y.io")
    assert outcome.text == "card [REDACTED:payment_card] or [REDACTED:email]"
    assert outcome.redacted == ("email", "payment_card")


@given(st.text(max_size=200))
def test_redacted_text_holds_no_pii(text: str) -> None:
    # Whatever the answer, after redaction the scanner finds nothing the redaction missed
    outcome = apply_guardrails(GuardrailsCheck(pii="redact"), text)
    assert not apply_guardrails(GuardrailsCheck(pii="block"), outcome.text).violations


def test_json_failure_stops_before_guardrails() -> None:
    # Given a schema request and a guardrail that would also fail
    checks = Checks.model_validate({"guardrails": {"blocked_terms": ["oops"]}})
    request = chat(
        "x", response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}}
    )
    # When the answer is not JSON
    verdict = evaluate_answer(checks, request, answer("oops"), repairs_done=0)
    # Then only the JSON check ran and a repair is asked for with the problem
    assert [r.name for r in verdict.results] == ["json_schema"]
    assert verdict.action == "repair"
    assert verdict.feedback is not None
    assert "not valid JSON" in verdict.feedback


def test_repairs_are_limited() -> None:
    request = chat(
        "x", response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}}
    )
    verdict = evaluate_answer(Checks(), request, answer("nope"), repairs_done=1)
    assert verdict.action == "escalate"


def test_tool_call_answers_skip_the_json_check() -> None:
    from modelrouter.providers.types import ResultToolCall

    request = chat(
        "x", response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}}
    )
    tool_answer = answer(None, tool_calls=(ResultToolCall("c1", "f", "{}"),), finish_reason="tool_calls")
    verdict = evaluate_answer(Checks(), request, tool_answer, repairs_done=0)
    assert verdict.action == "accept"


def test_plain_text_answers_need_no_checks() -> None:
    verdict = evaluate_answer(Checks(), chat("x"), answer("hello"), repairs_done=0)
    assert (verdict.action, verdict.results) == ("accept", ())
