"""Problems found in user input (a policy file, a request body), each tied to the path at fault.

Pydantic reports locations as tuples such as ``("routes", 3, "tiers", "hard", 1)``; operators and API
clients read them as ``routes[3].tiers.hard[1]``. Every error that points into user input goes
through :func:`format_path` so the notation is the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError
    from pydantic_core import ErrorDetails

__all__ = ["MAX_PATH_CHARS", "Problem", "format_path", "problems_from_validation_error"]

MAX_PATH_CHARS = 200
"""A rendered path longer than this is cut (ending in ``…``): a path into input nested 400 deep is
not worth echoing whole."""

# pydantic error types that reject a value outside a fixed set of choices (its ctx names them).
_CHOICE_ERRORS = frozenset({"enum", "literal_error"})

# pydantic adds these pseudo-locations for unions and wrapped validators; they mean nothing to a user.
_PSEUDO_LOCATIONS = frozenset({"function-after", "function-before", "function-wrap", "function-plain"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with user input."""

    path: str
    """Where the problem is, e.g. ``routes[3].tiers.hard[1]``; empty for the document as a whole."""
    message: str
    """What is wrong, in words an operator can act on."""
    line: int | None = None
    """1-based line in the source file, when the input came from a file and the line is known."""

    def __str__(self) -> str:
        where = self.path or "<root>"
        if self.line is not None:
            where = f"{where} (line {self.line})"
        return f"{where}: {self.message}"


def format_path(location: Sequence[str | int]) -> str:
    """Render a location tuple as ``a.b[2].c`` (cut to :data:`MAX_PATH_CHARS`)."""
    parts: list[str] = []
    length = 0
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in _PSEUDO_LOCATIONS:
            continue
        else:
            parts.append(f".{part}" if parts else part)
        length += len(parts[-1])
        if length > MAX_PATH_CHARS:
            return "".join(parts)[: MAX_PATH_CHARS - 1] + "…"
    return "".join(parts)


def _readable_message(error_type: str, message: str, value_repr: str) -> str:
    if error_type == "extra_forbidden":
        return "unknown field (not allowed here; check the spelling)"
    if error_type == "missing":
        return "field required"
    if error_type == "union_tag_invalid":
        return message.replace("Input tag", "value").replace("found using", "in")
    if error_type == "too_short" and "at least 1 item" in message:
        return "must not be empty"
    if error_type in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{message} (got {value_repr})"
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if error_type.endswith("_type") or error_type.endswith("_parsing"):
        return f"{message} (got {value_repr})"
    return message


def problems_from_validation_error(
    error: ValidationError, prefix: Iterable[str | int] = (), model: type[BaseModel] | None = None
) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into problems with readable paths and messages.

    Problems that render to the same path and message are reported once. When the members of a union
    fail at different depths (``content`` is not a string, and ``content[1].image_url.url`` is not
    allowed), only the deeper problem is kept: it is the one the client meant to fix.

    With ``model`` (the model that was validated), an unknown key is named with the closest field
    allowed there and a wrong enum value with the closest allowed value: ``unknown field 'candidats'
    (did you mean 'candidates'?)``.
    """
    base = tuple(prefix)
    problems: dict[tuple[str, str], Problem] = {}
    from_union: set[tuple[str, str]] = set()
    for detail in error.errors(include_url=False):
        full = base + tuple(detail["loc"])
        location = _without_union_noise(full)
        value = detail.get("input")
        value_repr = type(value).__name__ if isinstance(value, dict | list) else repr(value)
        if len(value_repr) > 60:
            value_repr = value_repr[:57] + "..."
        message = _readable_message(detail["type"], detail["msg"], value_repr)
        if model is not None:
            message = _with_suggestion(message, detail, model)
        problem = Problem(format_path(location), message)
        problems.setdefault((problem.path, problem.message), problem)
        if len(location) != len(full):
            from_union.add((problem.path, problem.message))
    paths = {problem.path for problem in problems.values()}
    return [
        problem
        for key, problem in problems.items()
        if key not in from_union or not any(_is_inside(path, problem.path) for path in paths)
    ]


def _with_suggestion(message: str, detail: ErrorDetails, model: type[BaseModel]) -> str:
    """``message`` naming the closest valid key or value, where the error is about a name."""
    from modelrouter.suggest import did_you_mean, expected_values, field_names_at  # pydantic: lazily

    location = _without_union_noise(tuple(detail["loc"]))
    value = detail.get("input")
    if detail["type"] == "extra_forbidden" and location and isinstance(location[-1], str):
        key = location[-1]
        allowed = field_names_at(model, location[:-1])
        if allowed is None:
            return message
        hint = did_you_mean(key, allowed) or f" (not allowed here; expected one of: {', '.join(allowed)})"
        return f"unknown field '{key}'{hint}"
    if detail["type"] in _CHOICE_ERRORS and isinstance(value, str):
        return message + did_you_mean(value, expected_values(str(detail.get("ctx", {}).get("expected", ""))))
    return message


def _is_inside(path: str, parent: str) -> bool:
    """``path`` is strictly below ``parent`` (``a.b[1]`` is inside ``a.b`` and ``a``, not ``a.bc``)."""
    if not parent:
        return bool(path)
    return len(path) > len(parent) and path.startswith(parent) and path[len(parent)] in ".["


# Segments pydantic inserts for union members: the member's type name for plain unions
# ("str", "list[...]") and the tag value for discriminated unions ("user", "json_schema").
_UNION_MEMBER = re.compile(r"^(str|int|float|bool|none|(list|dict|tagged-union|literal|function-\w+)\[.*\])$")
_UNION_TAGS = frozenset(
    {"system", "developer", "user", "assistant", "tool", "text", "image_url", "json_object", "json_schema"}
    | {"function", "custom", "input_audio", "file", "refusal", "allowed_tools", "grammar"}
)
_UNION_FIELDS = frozenset({"response_format", "tool_choice", "content", "format"})


def _without_union_noise(location: tuple[str | int, ...]) -> tuple[str | int, ...]:
    kept: list[str | int] = []
    for index, part in enumerate(location):
        if isinstance(part, str):
            if _UNION_MEMBER.match(part):
                continue
            previous = location[index - 1] if index else None
            # A tag follows a list index or a union-typed field; elsewhere the same word is a field name.
            if part in _UNION_TAGS and (isinstance(previous, int) or previous in _UNION_FIELDS):
                continue
        kept.append(part)
    return tuple(kept)
