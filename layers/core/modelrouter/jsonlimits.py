"""Limits on untrusted JSON values: nesting depth and valid Unicode, checked without recursion.

A request body, a JSON Schema or a policy document comes from outside; code that walks it recursively
(``json.dumps``, pydantic, jsonschema, provider SDKs) raises ``RecursionError`` when it is nested deeply
enough, and a lone surrogate (``"\\ud800"`` in JSON) raises ``UnicodeEncodeError`` wherever the text is
encoded later. :func:`json_value_problems` finds both with an explicit stack, so the input is refused
with a 400 naming the field before anything else touches it. (``json.loads`` itself recurses: it gets
through a few hundred levels before it runs out of stack, so callers catch its ``RecursionError`` too.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from modelrouter.errors import InvalidRequestError
from modelrouter.problems import Problem, format_path

__all__ = [
    "MAX_REPORTED_PROBLEMS",
    "MAX_REQUEST_DEPTH",
    "MAX_SCHEMA_DEPTH",
    "json_depth",
    "json_value_problems",
    "load_request_object",
]

MAX_REQUEST_DEPTH = 400
"""Deepest nesting of arrays and objects a request body may have (``{}`` is 1, ``{"a": []}`` is 2)."""
MAX_SCHEMA_DEPTH = 64
"""Deepest nesting a JSON Schema may have (response format and tool parameters). Validating against
a schema recurses about five Python frames per level, so 64 levels stay far below the interpreter's
recursion limit whatever the caller's stack."""
MAX_REPORTED_PROBLEMS = 10
"""At most this many problems are reported for one value."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_KEY_CHARS = 40  # a path shows at most this much of each key

# A path is built only when a problem is reported: each stack entry links to its parent's path.
_Link = tuple[Any, str | int] | None


def json_depth(value: Any, limit: int) -> int:
    """The nesting depth of ``value`` (0 for a scalar), counted at most to ``limit + 1``: any value
    deeper than ``limit`` reports ``limit + 1``, so a cycle ends the walk too."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((child, depth + 1) for child in children if isinstance(child, Mapping | list | tuple))
    return deepest


def load_request_object(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    """An untrusted request body as a JSON object that is safe to validate: valid JSON, an object, at
    most :data:`MAX_REQUEST_DEPTH` deep, no lone surrogates (an already parsed mapping is checked too).

    Raises:
        InvalidRequestError: naming the first problems (``""`` for the whole body).
    """
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InvalidRequestError([Problem("", f"request body is not valid JSON: {error}")]) from None
        except RecursionError:  # the decoder recursed out of stack: far deeper than the limit
            message = f"request body is nested deeper than {MAX_REQUEST_DEPTH} levels"
            raise InvalidRequestError([Problem("", message)]) from None
    if not isinstance(body, Mapping):
        raise InvalidRequestError([Problem("", "request body must be a JSON object")])
    problems = json_value_problems(body, max_depth=MAX_REQUEST_DEPTH, what="request body")
    if problems:
        raise InvalidRequestError(problems)
    return body


def json_value_problems(
    value: Any, *, max_depth: int, prefix: Sequence[str | int] = (), what: str = "value"
) -> list[Problem]:
    """Why ``value`` (parsed JSON) may not be used: nesting deeper than ``max_depth``, or a string or
    key with a lone surrogate. Empty when it is fine; at most :data:`MAX_REPORTED_PROBLEMS`.

    ``prefix`` is the location of ``value`` in its document (``("tools", 0)``) and ``what`` names it
    in the depth message (``request body``). Paths are rendered with
    :func:`~modelrouter.problems.format_path`; keys in them are shortened and escaped, so a path never
    carries a surrogate itself.
    """
    base = tuple(prefix)
    problems: list[Problem] = []
    if isinstance(value, str):
        if _SURROGATE.search(value):
            problems.append(Problem(format_path(base), _SURROGATE_MESSAGE))
        return problems
    stack: list[tuple[Any, int, _Link]] = [(value, 1, None)]
    while stack and len(problems) < MAX_REPORTED_PROBLEMS:
        node, depth, link = stack.pop()
        if isinstance(node, Mapping):
            items: Any = node.items()
        elif isinstance(node, list | tuple):
            items = enumerate(node)
        else:
            continue
        if depth > max_depth:
            where = format_path(base + _location(link))
            problems.append(Problem(where, f"{what} is nested deeper than {max_depth} levels"))
            break
        for key, child in items:
            if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                problems.append(Problem(format_path(base + _location((link, key))), _SURROGATE_KEY_MESSAGE))
            if isinstance(child, str):
                if not child.isascii() and _SURROGATE.search(child):
                    problems.append(Problem(format_path(base + _location((link, key))), _SURROGATE_MESSAGE))
            elif isinstance(child, Mapping | list | tuple):
                stack.append((child, depth + 1, (link, key)))
    return problems[:MAX_REPORTED_PROBLEMS]


_SURROGATE_MESSAGE = "contains a lone UTF-16 surrogate (\\ud800-\\udfff); strings must be valid Unicode"
_SURROGATE_KEY_MESSAGE = "this key contains a lone UTF-16 surrogate; keys must be valid Unicode"


def _location(link: _Link) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    while link is not None:
        link, key = link
        parts.append(key if isinstance(key, int) else _printable_key(key))
    return tuple(reversed(parts))


def _printable_key(key: object) -> str:
    text = str(key)
    if len(text) > _MAX_KEY_CHARS:
        text = text[: _MAX_KEY_CHARS - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
