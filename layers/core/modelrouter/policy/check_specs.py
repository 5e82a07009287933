"""Answer checks a route runs after each model call (executed by the execution layer)."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from modelrouter.policy.common import Identifier, Regex, StrictModel
from modelrouter.suggest import did_you_mean

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_RULES",
    "AnswerRule",
    "BedrockGuardrailCheck",
    "Checks",
    "GuardrailsCheck",
    "JmesPath",
    "JsonSchemaCheck",
    "RuleAction",
    "RulesCheck",
]


class JsonSchemaCheck(StrictModel):
    """How a JSON-schema answer that fails to parse or validate is handled (the check always runs)."""

    on_failure: Literal["repair", "escalate"] = "repair"
    """``repair``: ask the same model again with the validation errors; ``escalate``: next candidate."""
    max_repairs: int = Field(default=1, ge=0, le=3)
    """Repair attempts on the same model before escalating."""


class GuardrailsCheck(StrictModel):
    """Local guardrails over the answer text."""

    blocked_terms: list[str] = Field(default_factory=list)
    """Case-insensitive terms that must not appear in an answer."""
    blocked_patterns: list[Regex] = Field(default_factory=list)
    """Regular expressions that must not match an answer."""
    pii: Literal["allow", "redact", "block"] = "allow"
    """What to do with personal data in an answer."""
    max_chars: int | None = Field(default=None, ge=1)
    """Longest acceptable answer."""
    require_citation: Regex | None = None
    """A pattern every answer must contain (e.g. ``\\[doc:\\d+\\]``)."""
    on_failure: Literal["escalate", "fail"] = "escalate"
    """On a blocked answer: try the next candidate, or fail the request. Never return it."""

    @cached_property
    def compiled_blocked_patterns(self) -> tuple[re.Pattern[str], ...]:
        """``blocked_patterns``, compiled once per policy."""
        return tuple(re.compile(pattern) for pattern in self.blocked_patterns)

    @cached_property
    def compiled_citation(self) -> re.Pattern[str] | None:
        """``require_citation``, compiled once per policy."""
        return re.compile(self.require_citation) if self.require_citation is not None else None


class BedrockGuardrailCheck(StrictModel):
    """An Amazon Bedrock Guardrail applied to the answer with ``ApplyGuardrail``."""

    id: str = Field(min_length=1)
    """Guardrail identifier or ARN."""
    version: str = Field(pattern=r"^(DRAFT|\d+)$")
    """Guardrail version (a number, or DRAFT)."""
    region: str | None = None
    """Region of the guardrail; the router's region when omitted."""


RuleAction = Literal["accept", "escalate", "retry", "reject"]
"""What a rule (or the ``rules`` check's ``default`` or ``on_error``) does with an answer."""

MAX_RULES = 50
"""Most rules one ``rules`` check may hold."""
MAX_EXPRESSION_CHARS = 1_000
"""Longest JMESPath expression a rule's ``when`` may be."""


def _parse_error_message(error: Exception) -> str:
    """A one-line account of why ``jmespath.compile`` refused an expression."""
    from jmespath import exceptions

    if isinstance(error, exceptions.IncompleteExpressionError):
        return "incomplete expression"
    if isinstance(error, exceptions.LexerError):
        return f"{error.message} at column {error.lexer_position}"
    if isinstance(error, exceptions.ParseError):
        return f"{error.msg} {error.token_value!r} at column {error.lex_position}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error) or type(error).__name__


def _function_problems(parsed: Any) -> list[str]:
    """Calls to functions JMESPath does not have, or with the wrong number of arguments (jmespath only
    finds these when the call runs, so they are looked for when the policy loads)."""
    from jmespath.functions import Functions

    table: dict[str, Any] = Functions.FUNCTION_TABLE
    problems: list[str] = []
    nodes = [parsed]
    while nodes:
        node = nodes.pop()
        children = [child for child in node.get("children", ()) if isinstance(child, dict)]
        nodes.extend(reversed(children))  # calls reported in the order they are written
        if node.get("type") != "function_expression":
            continue
        name = str(node.get("value"))
        if name not in table:
            problems.append(f"unknown JMESPath function '{name}'{did_you_mean(name, table)}")
            continue
        signature = table[name]["signature"]
        variadic = bool(signature) and bool(signature[-1].get("variadic"))
        if len(children) < len(signature) or (not variadic and len(children) > len(signature)):
            wanted = f"at least {len(signature)}" if variadic else str(len(signature))
            plural = "" if len(signature) == 1 else "s"
            problems.append(f"{name}() takes {wanted} argument{plural}, given {len(children)}")
    return problems


def _jmespath_compiles(expression: str) -> str:
    import jmespath

    try:
        parsed = jmespath.compile(expression).parsed
    except (jmespath.exceptions.JMESPathError, RecursionError) as error:
        raise ValueError(f"invalid JMESPath expression: {_parse_error_message(error)}") from None
    problems = _function_problems(parsed)
    if problems:
        raise ValueError(f"invalid JMESPath expression: {'; '.join(problems)}")
    return expression


JmesPath = Annotated[
    str,
    Field(min_length=1, max_length=MAX_EXPRESSION_CHARS),
    AfterValidator(_jmespath_compiles),
]
"""A JMESPath expression over an answer, compiled and checked (functions and their arity) when loaded."""


class AnswerRule(StrictModel):
    """One rule: when its JMESPath condition holds on the parsed answer, its action applies.

    JSON literals (numbers, strings, lists) go in backticks in JMESPath. A condition holds when its
    value is truthy in JMESPath's sense: anything but null, false, an empty string, list or object
    (0 is truthy). A field the answer lacks is null, and ordering null or a boolean against a number
    (<, <=, >, >=) gives null: such a rule does not fire. Ordering a string against a number fails at
    run time (the check's ``on_error`` applies), as does a function given the wrong type.
    """

    name: Identifier
    """The rule's name: recorded with the check (provenance, the response's ``router`` block)."""
    when: JmesPath
    """The condition: a JMESPath expression (jmespath.org) over the parsed answer, at most 1,000
    characters, compiled when the policy loads; an expression that does not compile, or calls an unknown
    function or one with the wrong number of arguments, is a policy error. Example and semantics:
    docs/architecture.md, "Rules on answers"."""
    action: RuleAction
    """``accept``: the answer passes (the route's other checks still run); ``escalate``: the next
    candidate answers (as a failed guardrail with ``escalate``: when none is left the request fails
    with ``all_candidates_failed``); ``retry``: the same model again, at most ``max_retries`` times,
    then escalate; ``reject``: the answer is never returned and the request fails
    (``answer_rejected``, naming the reason)."""
    reason: str = Field(min_length=1, max_length=300)
    """Why, in words: recorded with the check, and the error message of a ``reject``."""
    models: list[Identifier] | None = Field(default=None, min_length=1)
    """Only judge answers of these catalog models (e.g. the first pass of a cascade); unset: every
    model's."""

    @cached_property
    def compiled(self) -> Any:
        """``when``, compiled once per policy (a ``jmespath`` parsed expression)."""
        import jmespath

        return jmespath.compile(self.when)

    def applies_to(self, model: str) -> bool:
        """Whether this rule judges answers of catalog model ``model``."""
        return self.models is None or model in self.models

    @model_validator(mode="after")
    def _compile_once(self) -> Self:
        _ = self.compiled  # when the policy loads, not on the first answer
        return self


class RulesCheck(StrictModel):
    """Rules on answers: JMESPath conditions over the answer parsed as JSON (a markdown fence around it
    allowed), tried in order; the first that holds fires, else ``default`` applies. With a ``cascade``
    route (cheapest first) this is first-pass triage: the cheap model's clear answers are accepted,
    borderline ones escalate to a stronger model. Needs the whole answer, so the route streams
    ``validated`` (``streaming: incremental`` is refused). Runs after the JSON check, before the
    guardrails; an answer of tool calls only is not judged. The rule that fired (or failed to run), its
    action and its reason are recorded with the check, never the answer.
    """

    rules: list[AnswerRule] = Field(min_length=1, max_length=MAX_RULES)
    """The rules, in the order they are tried; names are unique."""
    default: RuleAction = "accept"
    """What happens when no rule fires."""
    on_error: RuleAction = "escalate"
    """What happens when the answer is not JSON, or a rule's expression fails on it at run time (a
    function given the wrong type, e.g. ``length(risk_score)`` on a number)."""
    max_retries: int = Field(default=1, ge=0, le=3)
    """Calls of the same model again for ``retry`` (within ``execution.max_attempts_per_model``) before
    it escalates."""

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name '{rule.name}' is used more than once")
            seen.add(rule.name)
        return self


class Checks(StrictModel):
    """Which checks run on the answers of a route."""

    json_schema: JsonSchemaCheck = Field(default_factory=JsonSchemaCheck)
    """Handling of answers to ``response_format: json_schema`` requests."""
    guardrails: GuardrailsCheck | None = None
    """Local guardrails."""
    bedrock_guardrail: BedrockGuardrailCheck | None = None
    """An Amazon Bedrock Guardrail."""
    rules: RulesCheck | None = None
    """Rules on the answer parsed as JSON: JMESPath conditions, each with an action and a reason."""

    def whole_answer_only(self) -> list[str]:
        """The checks that cannot judge a partial answer (empty: all can run while it streams)."""
        needs: list[str] = []
        if self.bedrock_guardrail is not None:
            needs.append("bedrock_guardrail")
        if self.rules is not None:
            needs.append("rules")
        if self.guardrails is not None:
            if self.guardrails.require_citation is not None:
                needs.append("guardrails.require_citation")
            from modelrouter.checks.incremental import holdback_chars  # not at import: it loads the PII scan

            if self.guardrails.require_citation is None and holdback_chars(self.guardrails) is None:
                needs.append("a blocked pattern of unbounded length")
        return needs
