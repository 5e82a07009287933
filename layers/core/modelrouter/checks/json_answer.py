"""JSON answers: parse them and validate them against the request's JSON Schema (Draft 2020-12).

``jsonschema`` is imported on first use, so requests without a schema never pay for it. Validators are
compiled once per distinct schema and cached.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from modelrouter.errors import InvalidRequestError
from modelrouter.problems import Problem, format_path

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = ["MAX_REPORTED_ERRORS", "JsonProblem", "compile_schema", "json_problems"]

MAX_REPORTED_ERRORS = 5
"""At most this many validation errors are reported (and fed back to the model on a repair)."""
_SCHEMA_FIELD = "response_format.json_schema.schema"


@dataclass(frozen=True, slots=True)
class JsonProblem:
    """Why an answer is not acceptable JSON."""

    where: str
    """JSON path in the answer (``$.items[2].price``), or ``$`` for the whole answer."""
    rule: str
    """The failed rule, safe to record: a schema keyword (``required``, ``type``) or ``syntax``."""
    message: str
    """The full message for the model on a repair; may quote the answer, so it is not recorded."""

    @property
    def safe(self) -> str:
        """Path and rule, without answer values: what provenance records."""
        return f"{self.where}: {self.rule}"


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for ``schema`` (cached).

    Raises:
        InvalidRequestError: the schema itself is not a valid Draft 2020-12 schema.
    """
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return _compile(hashlib.sha256(text.encode()).hexdigest(), text)


@lru_cache(maxsize=256)
def _compile(_digest: str, text: str) -> Validator:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema = json.loads(text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = format_path((_SCHEMA_FIELD, *error.absolute_path)) if error.absolute_path else _SCHEMA_FIELD
        raise InvalidRequestError([Problem(where, f"invalid JSON Schema: {error.message}")]) from None
    validator: Validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator


def json_problems(content: str | None, schema: dict[str, Any] | None) -> list[JsonProblem]:
    """Why ``content`` is not acceptable JSON: empty when it parses (as an object, for ``schema=None``)
    and validates; otherwise up to :data:`MAX_REPORTED_ERRORS` problems, each with its JSON path."""
    if content is None or not content.strip():
        return [JsonProblem("$", "empty", "the answer is empty")]
    try:
        document = json.loads(_strip_fence(content))
    except json.JSONDecodeError as error:
        return [
            JsonProblem(
                "$", "syntax", f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            )
        ]
    if schema is None:
        if isinstance(document, dict):
            return []
        return [JsonProblem("$", "type", f"expected a JSON object, got {type(document).__name__}")]
    validator = compile_schema(schema)
    problems = []
    for issue in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in issue.absolute_path)
        rule = str(issue.validator)
        if rule == "required" and isinstance(issue.validator_value, list):
            rule = f"required {issue.validator_value}"
        problems.append(JsonProblem(where, rule, f"{where}: {issue.message}"))
        if len(problems) == MAX_REPORTED_ERRORS:
            break
    return problems


def _strip_fence(content: str) -> str:
    # Models sometimes wrap JSON in a markdown fence; the wrapped JSON is still the answer.
    stripped = content.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped[3:-3]
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else stripped
    return stripped
