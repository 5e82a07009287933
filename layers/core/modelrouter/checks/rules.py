"""Rules on answers: JMESPath conditions over the parsed answer decide accept, escalate, retry or reject.

The answer is parsed as JSON (:func:`~modelrouter.checks.json_answer.parse_json_answer`: a markdown
fence around it allowed). The rules that judge the answering model are tried in order; the first whose
condition is truthy (JMESPath truthiness: anything but null, false, "", [] and {}) fires, else the
check's ``default`` applies. An answer that is not JSON, or a condition that fails on it (a function
given the wrong type, a string ordered against a number, numbers too large to convert, nesting too deep
to compare), takes the check's ``on_error`` action. A ``retry`` past ``max_retries`` escalates.

The answer is untrusted: whatever it holds, :func:`apply_rules` returns a result and never raises.
Details name the rule and why, never a value from the answer.
"""

from __future__ import annotations

from typing import Any

from modelrouter.checks.json_answer import parse_json_answer
from modelrouter.checks.types import CheckAction, CheckResult
from modelrouter.policy.check_specs import AnswerRule, RuleAction, RulesCheck
from modelrouter.providers.types import ProviderResult

__all__ = ["RULES_CHECK", "apply_rules", "is_truthy"]

RULES_CHECK = "rules"
"""The name the ``rules`` check is recorded under."""


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: false for null, false, an empty string, list or object; true otherwise
    (``0`` included, unlike Python)."""
    return not (value is None or value is False or (isinstance(value, str | list | dict) and not value))


def apply_rules(check: RulesCheck, answer: ProviderResult, *, model: str, retries_done: int) -> CheckResult:
    """Judge ``answer`` from catalog model ``model`` by ``check``'s rules; ``retries_done`` is how many
    times this request already called ``model`` again for a ``retry``."""
    if answer.tool_calls and not answer.content:
        return CheckResult(RULES_CHECK, True, "accept", "answer is a tool call; not judged")
    document, problem = parse_json_answer(answer.content)
    if problem is not None:
        return _outcome(check, check.on_error, f"answer is not JSON ({problem.safe})", retries_done)
    for rule in check.rules:
        if not rule.applies_to(model):
            continue
        try:
            fired = is_truthy(rule.compiled.search(document))
        except Exception as error:
            # The answer is untrusted input to the expression: any failure to evaluate it (a type
            # error in a function, an overflow, a recursion limit) is the answer's, never a crash.
            why = f"rule '{rule.name}' could not be evaluated on this answer: {_evaluation_error(error)}"
            return _outcome(check, check.on_error, why, retries_done, rule=rule)
        if fired:
            return _outcome(check, rule.action, rule.reason, retries_done, rule=rule)
    return _outcome(check, check.default, f"no rule fired; default {check.default}", retries_done)


def _outcome(
    check: RulesCheck, action: RuleAction, detail: str, retries_done: int, *, rule: AnswerRule | None = None
) -> CheckResult:
    """The result of ``action``; a ``retry`` beyond ``max_retries`` escalates (and says so)."""
    name = rule.name if rule is not None else None
    if action == "accept":
        return CheckResult(RULES_CHECK, True, "accept", detail, rule=name)
    resolved: CheckAction = action
    if action == "retry" and retries_done >= check.max_retries:
        resolved = "escalate"
        detail = f"{detail} (retried {retries_done} of {check.max_retries} times; escalating)"
    return CheckResult(RULES_CHECK, False, resolved, detail, rule=name)


def _evaluation_error(error: Exception) -> str:
    """Why an expression failed, by type names only: a jmespath type error's own message quotes the
    value it was given, which is answer text."""
    function = getattr(error, "function_name", None)
    received = getattr(error, "actual_type", None)
    if isinstance(function, str) and isinstance(received, str):
        expected = getattr(error, "expected_types", None)
        wanted = ", ".join(str(kind) for kind in expected) if isinstance(expected, list | tuple) else "?"
        return f"{function}() was given a {received}, expects {wanted}"
    if isinstance(error, RecursionError):
        return "the answer is nested too deeply"
    if isinstance(error, TypeError):  # jmespath orders a string against a number with Python's own <
        return "values of types that cannot be compared (e.g. a string and a number)"
    return type(error).__name__
