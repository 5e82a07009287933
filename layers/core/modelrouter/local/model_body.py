"""Reading the simulated models' request bodies: JSON objects, loose lists and mappings, and the JSON
instructions the router's adapters put into system text; pure, no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelrouter.providers.answer_format import JSON_OBJECT_INSTRUCTION

__all__ = [
    "WireError",
    "dicts",
    "instructed_object",
    "instructed_schema",
    "json_object",
    "mapping",
    "maybe_json",
]

_SCHEMA_MARKER = "It must validate against this JSON Schema"


class WireError(Exception):
    """A request the server cannot read: answered with a ``bad_request`` failure."""


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        WireError: not JSON, or not an object.
    """
    try:
        data = json.loads(body or b"null")
    except (UnicodeDecodeError, ValueError):
        raise WireError("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise WireError("request body must be a JSON object")
    return data


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def dicts(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in ``value`` if it is a list (anything else in it is skipped)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def instructed_schema(system_texts: list[str]) -> dict[str, Any] | None:
    """The schema of an adapter's JSON-schema instruction (its last line), if a system text has one."""
    for text in system_texts:
        at = text.find(_SCHEMA_MARKER)
        if at >= 0:
            parsed = maybe_json(text[at:].partition("\n")[2].strip())
            if isinstance(parsed, dict):
                return parsed
    return None


def instructed_object(system_texts: list[str]) -> bool:
    """Whether a system text carries an adapter's "answer with a JSON object" instruction."""
    return any(JSON_OBJECT_INSTRUCTION in text for text in system_texts)


def maybe_json(text: str | None) -> Any:
    """``text`` parsed as JSON, or None when it is empty or not JSON."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
