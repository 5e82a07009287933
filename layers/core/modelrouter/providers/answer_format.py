"""System instructions that ask for JSON answers, for models without a native JSON(-schema) mode.

The executor validates every answer against the requested schema afterwards, so these instructions
only need to make a valid answer likely, not certain.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSON_OBJECT_INSTRUCTION", "json_schema_instruction"]

JSON_OBJECT_INSTRUCTION = (
    "Answer with a single JSON object and nothing else: no prose before or after it, no code fences."
)
"""Asks for any JSON object."""


def json_schema_instruction(schema: dict[str, Any], name: str | None = None) -> str:
    """Asks for a JSON answer that validates against ``schema`` (shown compactly, keys sorted)."""
    label = f" named {name!r}" if name else ""
    rendered = json.dumps(schema, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (
        f"Answer with a single JSON value and nothing else: no prose before or after it, no code fences."
        f" It must validate against this JSON Schema{label}:\n{rendered}"
    )
