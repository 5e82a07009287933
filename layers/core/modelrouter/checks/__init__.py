"""Answer checks: JSON structure and schema, local guardrails, external guardrails."""

from __future__ import annotations

from modelrouter.checks.evaluate import Verdict, evaluate_answer
from modelrouter.checks.json_answer import JsonProblem, compile_schema, json_problems
from modelrouter.checks.types import CheckAction, CheckResult, GuardrailService, GuardrailVerdict

__all__ = [
    "CheckAction",
    "CheckResult",
    "GuardrailService",
    "GuardrailVerdict",
    "JsonProblem",
    "Verdict",
    "compile_schema",
    "evaluate_answer",
    "json_problems",
]
