"""Run a route's checks on one answer and say what happens next: accept, redact, repair, retry,
escalate, fail or reject.

Order: the provider's own filter, JSON structure, rules on the answer, local guardrails, then an
external guardrail. The first check that fails decides the action; a redaction passes but changes the
answer. An answer that fails a guardrail is never returned: it escalates or fails, as the route says; a
rule escalates, retries the same model, or rejects it (:mod:`modelrouter.checks.rules`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from modelrouter.checks.guardrails import apply_guardrails
from modelrouter.checks.json_answer import json_problems
from modelrouter.checks.rules import apply_rules
from modelrouter.checks.types import CheckAction, CheckResult, GuardrailService
from modelrouter.policy.check_specs import Checks
from modelrouter.providers.errors import ProviderError
from modelrouter.providers.types import ProviderResult
from modelrouter.request import ChatRequest, ResponseFormatJsonObject

__all__ = ["Verdict", "evaluate_answer"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The checks' results and what the executor does next."""

    results: tuple[CheckResult, ...]
    """Every check that ran."""
    action: CheckAction
    """accept, redact (accept the changed answer), repair, retry, escalate, fail or reject."""
    answer: ProviderResult
    """The answer to return on accept/redact."""
    feedback: str | None = None
    """For a repair: what to tell the model was wrong."""


def evaluate_answer(
    checks: Checks,
    request: ChatRequest,
    answer: ProviderResult,
    *,
    repairs_done: int,
    guardrail: GuardrailService | None = None,
    guardrail_timeout_s: float = 5.0,
    model: str = "",
    retries_done: int = 0,
) -> Verdict:
    """Check ``answer`` against ``checks`` and the request's answer format.

    ``model`` is the catalog model that answered (rules with ``models`` judge only theirs);
    ``retries_done`` how many times a rule already had it called again (``retry``).
    """
    results: list[CheckResult] = []
    if answer.finish_reason == "content_filter":
        results.append(CheckResult("provider_filter", False, "escalate", "the provider filtered the answer"))
        return Verdict(tuple(results), "escalate", answer)

    json_result, feedback = _json_check(checks, request, answer, repairs_done)
    if json_result is not None:
        results.append(json_result)
        if not json_result.passed:
            return Verdict(tuple(results), json_result.action, answer, feedback)

    if checks.rules is not None:
        rules_result = apply_rules(checks.rules, answer, model=model, retries_done=retries_done)
        results.append(rules_result)
        if not rules_result.passed:
            return Verdict(tuple(results), rules_result.action, answer)

    text = answer.content or ""
    failure_action: CheckAction = (
        checks.guardrails.on_failure if checks.guardrails is not None else "escalate"
    )
    if checks.guardrails is not None and text:
        outcome = apply_guardrails(checks.guardrails, text)
        if outcome.violations:
            results.append(CheckResult("guardrails", False, failure_action, "; ".join(outcome.violations)))
            return Verdict(tuple(results), failure_action, answer)
        if outcome.redacted:
            answer = dataclasses.replace(answer, content=outcome.text)
            results.append(
                CheckResult("guardrails", True, "redact", f"redacted {', '.join(outcome.redacted)}")
            )
        else:
            results.append(CheckResult("guardrails", True, "accept", "no violation"))

    if checks.bedrock_guardrail is not None and guardrail is not None and answer.content:
        try:
            verdict = guardrail.apply(checks.bedrock_guardrail, answer.content, guardrail_timeout_s)
        except ProviderError as error:
            # Fail closed: an answer that could not be checked is not returned.
            detail = f"guardrail service failed ({error.code}); answer not returned"
            results.append(CheckResult("bedrock_guardrail", False, "fail", detail))
            return Verdict(tuple(results), "fail", answer)
        if verdict.intervened:
            results.append(CheckResult("bedrock_guardrail", False, failure_action, verdict.detail))
            return Verdict(tuple(results), failure_action, answer)
        results.append(CheckResult("bedrock_guardrail", True, "accept", verdict.detail or "no intervention"))

    action: CheckAction = "redact" if any(result.action == "redact" for result in results) else "accept"
    return Verdict(tuple(results), action, answer)


def _json_check(
    checks: Checks, request: ChatRequest, answer: ProviderResult, repairs_done: int
) -> tuple[CheckResult | None, str | None]:
    schema = request.json_schema
    wants_object = isinstance(request.response_format, ResponseFormatJsonObject)
    if schema is None and not wants_object:
        return None, None
    name = "json_schema" if schema is not None else "json_object"
    if answer.tool_calls and not answer.content:
        return CheckResult(name, True, "accept", "answer is a tool call; not checked"), None
    problems = json_problems(answer.content, schema)
    if not problems:
        return CheckResult(name, True, "accept", "valid"), None
    policy = checks.json_schema
    # A truncated answer would be truncated again: repairing it cannot help.
    can_repair = (
        policy.on_failure == "repair"
        and repairs_done < policy.max_repairs
        and answer.finish_reason != "length"
    )
    action: CheckAction = "repair" if can_repair else "escalate"
    detail = "; ".join(problem.safe for problem in problems)
    if answer.finish_reason == "length":
        detail = f"answer cut off at max_tokens; {detail}"
    return CheckResult(name, False, action, detail), "\n".join(problem.message for problem in problems)
