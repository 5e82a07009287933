"""Deterministic sample values for a JSON Schema: what a simulated model answers to a schema request.

Covers the subset structured-output APIs accept (objects, arrays, scalars, enums, const, formats,
``anyOf``/``oneOf``, local ``$ref``); the result validates against such schemas.
"""

from __future__ import annotations

from typing import Any

__all__ = ["sample_instance"]

_FORMATS = {
    "date": "2026-01-31",
    "date-time": "2026-01-31T12:00:00Z",
    "time": "12:00:00",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 12


def sample_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A value that satisfies ``schema`` (``root`` resolves ``#/...`` references)."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "$ref" in schema and str(schema["$ref"]).startswith("#/"):
        target: Any = root
        for part in str(schema["$ref"])[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return sample_instance(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return sample_instance(schema[combinator][0], root, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _sample_of_type(str(kind), schema, root, depth)


def _sample_of_type(kind: str, schema: dict[str, Any], root: Any, depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: sample_instance(sub, root, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [sample_instance(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(
            schema.get(
                "minimum", schema.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in schema else 1
            )
        )
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = _FORMATS.get(str(schema.get("format", "")), "sample")
    minimum = int(schema.get("minLength", 0))
    return text + "x" * max(0, minimum - len(text))
