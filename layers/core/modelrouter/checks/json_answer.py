"""JSON answers: parse them and validate them against the request's JSON Schema (Draft 2020-12).

``jsonschema`` is imported on first use, so requests without a schema never pay for it. The schema is
untrusted input: :func:`compile_schema` refuses one that is too large (:data:`MAX_SCHEMA_BYTES`), too
deep (:data:`~modelrouter.jsonlimits.MAX_SCHEMA_DEPTH`), not a valid schema, or with a ``$ref`` that
does not resolve inside it (nothing is ever fetched: :mod:`modelrouter.checks.schema_refs`). Compiled
validators are cached, least recently used first out, within :data:`MAX_CACHED_SCHEMA_BYTES` of schema
text and :data:`MAX_CACHED_SCHEMAS` entries.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.checks.safe_patterns import pattern_budget, safe_validator_class
from modelrouter.checks.schema_refs import local_registry, reference_problems
from modelrouter.errors import InvalidRequestError
from modelrouter.jsonlimits import MAX_SCHEMA_DEPTH, json_value_problems
from modelrouter.problems import Problem, format_path

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "MAX_CACHED_SCHEMAS",
    "MAX_CACHED_SCHEMA_BYTES",
    "MAX_REPORTED_ERRORS",
    "MAX_SCHEMA_BYTES",
    "JsonProblem",
    "compile_schema",
    "json_problems",
    "parse_json_answer",
]

MAX_REPORTED_ERRORS = 5
"""At most this many validation errors are reported (and fed back to the model on a repair)."""
MAX_SCHEMA_BYTES = 100_000
"""Largest schema accepted, in bytes of its compact UTF-8 JSON. OpenAI's own structured outputs allow
far less (100 properties, 5 levels); compiling one costs about 3 µs of CPU per byte."""
MAX_CACHED_SCHEMA_BYTES = 2_000_000
"""The compiled-validator cache holds schemas of at most this many bytes in total (a compiled
validator takes roughly ten times its schema's text in memory, so about 20 MB at most)."""
MAX_CACHED_SCHEMAS = 256
"""…and at most this many schemas."""
_SCHEMA_LOCATION = ("response_format", "json_schema", "schema")
_SCHEMA_FIELD = format_path(_SCHEMA_LOCATION)


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
    """A validator for ``schema`` (cached), whose references resolve only inside ``schema``.

    Raises:
        InvalidRequestError: naming ``response_format.json_schema.schema`` (or a path inside it): the
            schema is larger than :data:`MAX_SCHEMA_BYTES`, nested deeper than
            :data:`~modelrouter.jsonlimits.MAX_SCHEMA_DEPTH`, not a valid Draft 2020-12 schema, or has
            a ``$ref`` that does not resolve inside it (a URL, a file, a missing ``$defs`` entry).
    """
    problems = json_value_problems(
        schema, max_depth=MAX_SCHEMA_DEPTH, prefix=_SCHEMA_LOCATION, what="JSON Schema"
    )
    if problems:
        raise InvalidRequestError(problems)
    data = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_SCHEMA_BYTES:
        message = f"JSON Schema is {len(data):,} bytes; at most {MAX_SCHEMA_BYTES:,} are accepted"
        raise InvalidRequestError([Problem(_SCHEMA_FIELD, message)])
    digest = hashlib.sha256(data).hexdigest()
    validator = _CACHE.get(digest)
    if validator is None:
        validator = _compile(json.loads(data))  # a private copy: the caller's dict may change
        _CACHE.put(digest, validator, len(data))
    return validator


def _compile(schema: Any) -> Validator:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = format_path((*_SCHEMA_LOCATION, *error.absolute_path))
        raise InvalidRequestError([Problem(where, f"invalid JSON Schema: {error.message}")]) from None
    problems = reference_problems(schema, _SCHEMA_LOCATION)
    if problems:
        raise InvalidRequestError(problems)
    validator: Validator = safe_validator_class()(
        schema, registry=local_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return validator


class _ValidatorCache:
    """Least-recently-used validators, bounded by the total size of their schemas and by count."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self._max_bytes, self._max_entries = max_bytes, max_entries
        self._entries: OrderedDict[str, tuple[Validator, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, digest: str) -> Validator | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            self._entries.move_to_end(digest)
            return entry[0]

    def put(self, digest: str, validator: Validator, size: int) -> None:
        with self._lock:
            if digest in self._entries:
                return
            self._entries[digest] = (validator, size)
            self._bytes += size
            while self._entries and (self._bytes > self._max_bytes or len(self._entries) > self._max_entries):
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    @property
    def size(self) -> tuple[int, int]:
        """``(entries, bytes)`` held now."""
        with self._lock:
            return len(self._entries), self._bytes


_CACHE = _ValidatorCache(MAX_CACHED_SCHEMA_BYTES, MAX_CACHED_SCHEMAS)


def json_problems(content: str | None, schema: dict[str, Any] | None) -> list[JsonProblem]:
    """Why ``content`` is not acceptable JSON: empty when it parses (as an object, for ``schema=None``)
    and validates; otherwise up to :data:`MAX_REPORTED_ERRORS` problems, each with its JSON path.

    Never raises for any answer: an answer nested too deeply to parse or validate, or a schema that
    cannot be evaluated, is a problem like any other (``schema`` should have passed
    :func:`compile_schema` before any model was called; if it does not, that is a ``schema`` problem).
    """
    document, problem = parse_json_answer(content)
    if problem is not None:
        return [problem]
    if schema is None:
        if isinstance(document, dict):
            return []
        return [JsonProblem("$", "type", f"expected a JSON object, got {type(document).__name__}")]
    try:
        with pattern_budget():
            return _schema_problems(compile_schema(schema), document)
    except InvalidRequestError as error:
        return [JsonProblem("$", "schema", f"the schema cannot be used: {error.message}")]
    except RecursionError:
        return [JsonProblem("$", "depth", "the JSON is nested too deeply to be checked against the schema")]
    except Exception as error:  # e.g. a reference that cannot be resolved at validation time
        return [JsonProblem("$", "schema", f"the answer could not be checked: {type(error).__name__}")]


def parse_json_answer(content: str | None) -> tuple[Any, JsonProblem | None]:
    """The JSON value an answer holds (inside a markdown fence too) and ``None``, or ``None`` and why it
    holds none: empty, not JSON, nested too deeply, or a number too long to read (Python refuses
    integers of more than ``sys.get_int_max_str_digits()`` digits). Never raises for any answer."""
    if content is None or not content.strip():
        return None, JsonProblem("$", "empty", "the answer is empty")
    try:
        return json.loads(_strip_fence(content)), None
    except json.JSONDecodeError as error:
        message = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        return None, JsonProblem("$", "syntax", message)
    except RecursionError:
        return None, JsonProblem("$", "depth", "the JSON is nested too deeply to be read")
    except ValueError:
        return None, JsonProblem("$", "number", "the JSON holds a number too long to be read")


def _schema_problems(validator: Validator, document: Any) -> list[JsonProblem]:
    problems: list[JsonProblem] = []
    for issue in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in issue.absolute_path)
        rule = str(issue.validator)
        if rule == "required" and isinstance(issue.validator_value, list):
            rule = f"required {issue.validator_value}"
        problems.append(JsonProblem(_printable(where), rule, _printable(f"{where}: {issue.message}")))
        if len(problems) == MAX_REPORTED_ERRORS:
            break
    return problems


def _printable(text: str) -> str:
    # An answer may carry lone surrogates ("\\ud800" in its JSON); what is recorded or sent back to a
    # model on a repair must encode, so they are written out as escapes.
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _strip_fence(content: str) -> str:
    # Models sometimes wrap JSON in a markdown fence; the wrapped JSON is still the answer.
    stripped = content.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped[3:-3]
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else stripped
    return stripped
