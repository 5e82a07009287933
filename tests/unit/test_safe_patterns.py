"""Schema patterns run with a time limit (issue 8, untrusted input): a catastrophic ``pattern`` on a
hostile answer fails the check quickly instead of holding the CPU."""

from __future__ import annotations

import json
import time

from modelrouter.checks.json_answer import json_problems
from modelrouter.checks.safe_patterns import VALIDATION_PATTERN_BUDGET_S


def test_a_catastrophic_pattern_fails_the_check_within_the_budget() -> None:
    # Given a schema whose pattern backtracks exponentially, and answers built to trigger it
    schema = {
        "type": "object",
        "properties": {"codes": {"type": "array", "items": {"type": "string", "pattern": "^(a|aa)+$"}}},
    }
    answer = json.dumps({"codes": ["a" * 40 + "!"] * 50})
    # When the answer is checked
    started = time.monotonic()
    problems = json_problems(answer, schema)
    elapsed = time.monotonic() - started
    # Then it is not accepted, and all its searches together stayed within the budget
    assert problems
    assert "in time" in problems[0].message
    assert elapsed < VALIDATION_PATTERN_BUDGET_S + 0.5


def test_ordinary_patterns_and_pattern_properties_still_decide() -> None:
    # Given a schema with a pattern and patternProperties
    schema = {
        "type": "object",
        "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}},
        "patternProperties": {"^x-": {"type": "integer"}},
    }
    # When good and bad answers are checked, Then the patterns decide as in JSON Schema
    assert json_problems('{"sku": "ABC-1234", "x-count": 3}', schema) == []
    assert [p.rule for p in json_problems('{"sku": "abc-1234"}', schema)] == ["pattern"]
    assert [p.rule for p in json_problems('{"sku": "ABC-1234", "x-count": "three"}', schema)] == ["type"]
