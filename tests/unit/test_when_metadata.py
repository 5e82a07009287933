"""Typed comparisons of request metadata in ``when``: every operator, shorthand, bad policies named by
path, and values that do not parse, which never match and never fail the request."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.helpers import build_policy, chat, features, minimal_policy

from modelrouter.errors import PolicyError
from modelrouter.policy.conditions import ValueCondition, parse_flag, parse_number
from modelrouter.policy.loader import parse_policy
from modelrouter.policy.routes import When
from modelrouter.selection import Decision, RequestContext, decide


def condition(spec: Any) -> ValueCondition:
    """The comparison a ``when.metadata`` entry holds, shorthand included."""
    when = When.model_validate({"metadata": {"key": spec}})
    assert when.metadata is not None
    return when.metadata["key"]


def passes(spec: Any, value: str | None) -> bool:
    return condition(spec).judge(value)[0]


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"eq": 3}, "3", True),
        ({"eq": 3}, "3.0", True),
        ({"eq": 3}, "4", False),
        ({"ne": 3}, "4", True),
        ({"ne": 3}, "3", False),
        ({"gt": 400}, "401", True),
        ({"gt": 400}, "400", False),
        ({"gte": 400}, "400", True),
        ({"gte": 400}, "399.5", False),
        ({"lt": 0.3}, "0.29", True),
        ({"lt": 0.3}, "0.3", False),
        ({"lte": 0.3}, "0.3", True),
        ({"lte": 0.3}, "0.31", False),
        ({"between": [0.3, 0.7]}, "0.3", True),
        ({"between": [0.3, 0.7]}, "0.7", True),
        ({"between": [0.3, 0.7]}, " 0.5 ", True),
        ({"between": [0.3, 0.7]}, "0.71", False),
        ({"between": [0.3, 0.7]}, "2.9e-1", False),
        ({"gte": 0.3, "lt": 0.7}, "0.69", True),
        ({"gte": 0.3, "lt": 0.7}, "0.7", False),
        ({"equals": "web"}, "web", True),
        ({"equals": "web"}, " web ", True),
        ({"equals": "web"}, "Web", False),
        ({"in": ["web", "app"]}, "app", True),
        ({"in": ["web", "app"]}, "api", False),
        ({"not_in": ["trusted"]}, "unknown", True),
        ({"not_in": ["trusted"]}, "trusted", False),
        ({"pattern": "^[A-Z]{2}$"}, "DE", True),
        ({"pattern": "^[A-Z]{2}$"}, "DEU", False),
        ({"is": True}, "true", True),
        ({"is": True}, "YES", True),
        ({"is": True}, "0", False),
        ({"is": False}, "off", True),
        ({"present": True}, "", True),
        ({"present": True}, None, False),
        ({"present": False}, None, True),
        ({"present": False}, "x", False),
    ],
)
def test_each_operator(spec: dict[str, Any], value: str | None, expected: bool) -> None:
    # Given one comparison, When a metadata value is judged, Then it passes exactly when it should
    assert passes(spec, value) is expected


@pytest.mark.parametrize(
    ("shorthand", "value", "expected"),
    [
        ("web", "web", True),
        ("web", "app", False),
        (400, "400", True),
        (400, "400.0", True),
        (0.5, "0.25", False),
        (True, "yes", True),
        (False, "true", False),
        (["web", "app"], "app", True),
        (["web", "app"], "cli", False),
    ],
)
def test_shorthand_scalars_and_lists(shorthand: Any, value: str, expected: bool) -> None:
    # Given a bare value in YAML (string: equals, number: eq, boolean: is, list: in)
    assert passes(shorthand, value) is expected


@pytest.mark.parametrize(
    ("spec", "value", "why"),
    [
        ({"gte": 400}, "many", "is not a number"),
        ({"gte": 400}, "", "is not a number"),
        ({"gte": 400}, "nan", "is not a number"),
        ({"gte": 400}, "inf", "is not a number"),
        ({"gte": 400}, "1e999", "is not a number"),
        ({"gte": 400}, "1_000", "is not a number"),
        ({"gte": 400}, "0x400", "is not a number"),
        ({"gte": 400}, "\u0661\u0660\u0660\u0660", "is not a number"),  # Arabic-Indic digits
        ({"gte": 400}, "\uff11\uff10\uff10\uff10", "is not a number"),  # fullwidth digits
        ({"between": [0.3, 0.7]}, "0.5; drop table", "is not a number"),
        ({"is": True}, "maybe", "is not a boolean"),
        ({"gte": 400}, None, "absent"),
    ],
)
def test_a_value_that_does_not_parse_does_not_match_and_says_why(
    spec: dict[str, Any], value: str | None, why: str
) -> None:
    # Given a numeric or boolean comparison, When the value is not a number/boolean (or absent)
    matched, detail = condition(spec).judge(value)
    # Then the clause does not match, and the reason names the problem
    assert matched is False
    assert why in detail


def test_long_values_are_shortened_in_explanations() -> None:
    # Given a 512-character value, When it fails, Then the detail quotes at most a short prefix
    _, detail = condition({"gte": 1}).judge("x" * 512)
    assert len(detail) < 80


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_number_written_by_python_parses_back(number: float) -> None:
    assert parse_number(repr(number)) == number


@given(st.text(max_size=30))
def test_parse_number_never_raises_and_only_yields_finite_numbers(text: str) -> None:
    value = parse_number(text)
    assert value is None or math.isfinite(value)


@given(st.text(max_size=12))
def test_parse_flag_never_raises(text: str) -> None:
    assert parse_flag(text) in (True, False, None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"between": [0.7, 0.3]}, "0.7 is above 0.3"),
        ({"between": [0.3]}, "between"),
        ({}, "give at least one of"),
        ({"present": False, "gte": 1}, "present: false cannot be combined"),
        ({"pattern": "(unclosed"}, "invalid regular expression"),
        ({"greater": 3}, "greater"),
        ({"gte": "four hundred"}, "gte"),
    ],
)
def test_a_bad_comparison_is_a_policy_error_naming_its_path(spec: dict[str, Any], message: str) -> None:
    # Given a route whose metadata comparison is wrong
    document = minimal_policy()
    document["routes"][0]["when"] = {"metadata.risk_score": spec}
    text = _yaml(document)
    # When the policy is loaded, Then it is refused, naming the route's metadata key
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yaml")
    problems = "\n".join(f"{p.path}: {p.message}" for p in caught.value.problems)
    assert "routes[0].when.metadata.risk_score" in problems, problems
    assert message in problems, problems


def test_dotted_and_nested_metadata_keys_are_the_same_but_not_twice() -> None:
    # Given both spellings of one key, Then the policy is refused
    with pytest.raises(ValidationError, match="given twice"):
        When.model_validate({"metadata.risk_score": {"gte": 1}, "metadata": {"risk_score": {"lt": 2}}})
    # And the two spellings of different keys merge
    when = When.model_validate({"metadata.risk_score": {"gte": 1}, "metadata": {"channel": "web"}})
    assert sorted(when.metadata or {}) == ["channel", "risk_score"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 65, "ümlaut"])
def test_metadata_keys_follow_openais_shape(key: str) -> None:
    with pytest.raises(ValidationError):
        When.model_validate({"metadata": {key: "x"}})


def _yaml(document: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False)


def fraud_policy() -> dict[str, Any]:
    """Two metadata routes before the catch-all: diff size, then a borderline risk band."""
    document = minimal_policy()
    document["routes"] = [
        {"name": "big-diff", "when": {"metadata.diff_lines": {"gte": 400}}, "models": ["large"]},
        {
            "name": "borderline",
            "when": {"tags": ["fraud"], "metadata": {"risk_score": {"between": [0.3, 0.7]}}},
            "models": ["large"],
        },
        {"name": "default", "models": ["small"]},
    ]
    return document


def route_for(metadata: dict[str, str], explain: bool = True) -> Decision:
    context = RequestContext.from_metadata("req-1", "t1", metadata)
    request = chat("Review this transaction", metadata=metadata)
    return decide(build_policy(fraud_policy()), request, context, features=features(), explain=explain)


@pytest.mark.parametrize(
    ("metadata", "route"),
    [
        ({"diff_lines": "400"}, "big-diff"),
        ({"diff_lines": "12"}, "default"),
        ({"diff_lines": "lots"}, "default"),
        ({"tags": "fraud", "risk_score": "0.42"}, "borderline"),
        ({"tags": "fraud", "risk_score": "0.9"}, "default"),
        ({"tags": "fraud", "risk_score": "high"}, "default"),
        ({"tags": "fraud"}, "default"),
        ({"risk_score": "0.42"}, "default"),
    ],
)
def test_metadata_picks_the_route_and_bad_values_fall_through(metadata: dict[str, str], route: str) -> None:
    # Given metadata routes, When requests carry these values, Then the first matching route wins and
    # a value that does not parse only makes its route not match (no error)
    assert route_for(metadata).route == route


def test_the_trace_says_which_clause_matched_and_why_not() -> None:
    # Given a borderline fraud request whose diff_lines is not a number
    decision = route_for({"tags": "fraud", "risk_score": "0.42", "diff_lines": "n/a"})
    # Then the trace lists the routes tried in order up to the match, each clause explained
    assert [(t.route, t.matched) for t in decision.when_trace] == [("big-diff", False), ("borderline", True)]
    big_diff, borderline = decision.when_trace
    assert [(c.clause, c.matched, c.detail) for c in big_diff.clauses] == [
        ("metadata.diff_lines", False, "'n/a' is not a number")
    ]
    assert [(c.clause, c.matched) for c in borderline.clauses] == [
        ("tags", True),
        ("metadata.risk_score", True),
    ]
    assert borderline.clauses[1].detail == "'0.42' between 0.3 and 0.7"


def test_the_trace_covers_every_route_when_the_catch_all_matches() -> None:
    decision = route_for({"risk_score": "0.9", "tags": "fraud"})
    assert [(t.route, t.matched) for t in decision.when_trace] == [
        ("big-diff", False),
        ("borderline", False),
        ("default", True),
    ]
    assert decision.when_trace[1].clauses[1].detail == "0.9 is not between 0.3 and 0.7"
    assert decision.when_trace[2].clauses == ()


def test_no_trace_unless_asked() -> None:
    # The request path does not pay for explanations
    assert route_for({"diff_lines": "900"}, explain=False).when_trace == ()


def test_the_explain_output_shows_the_clauses(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the policy and a request on disk
    import json

    from tests.helpers import run_cli

    policy = tmp_path / "policy.yaml"
    policy.write_text(_yaml(fraud_policy()))
    request = tmp_path / "request.json"
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"diff_lines": "9k"},
    }
    request.write_text(json.dumps(body))
    # When `route --explain` runs
    arguments = ["--policy", str(policy), "--request", str(request), "--tenant", "t1", "--explain"]
    code, out, _ = run_cli(capsys, "route", *arguments)
    # Then it prints each route tried and why its clause did not hold
    assert code == 0, out
    assert "routes tried (first match wins):" in out
    assert "✗ metadata.diff_lines: '9k' is not a number" in out
    assert "default: matched (catch-all)" in out


def test_a_route_shadowed_by_the_same_metadata_test_is_unreachable() -> None:
    # Given a route whose metadata test repeats an earlier route's, with one more condition
    document = fraud_policy()
    document["routes"].insert(
        1,
        {
            "name": "big-diff-tools",
            "when": {"metadata.diff_lines": {"gte": 400}, "has_tools": True},
            "models": ["small"],
        },
    )
    # Then loading it names the later route as unreachable
    with pytest.raises(PolicyError) as caught:
        parse_policy(_yaml(document), "policy.yaml")
    assert any("unreachable route" in p.message and p.path == "routes[1]" for p in caught.value.problems)


def test_a_different_metadata_test_does_not_shadow() -> None:
    # Given a later route testing the same key differently, Then the policy loads
    document = fraud_policy()
    document["routes"].insert(
        1, {"name": "huge-diff", "when": {"metadata.diff_lines": {"gte": 4000}}, "models": ["small"]}
    )
    parse_policy(_yaml(document), "policy.yaml")
