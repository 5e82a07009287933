"""Sample answers for JSON schemas validate against those schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from modelrouter.local.samples import sample_instance

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer", "minimum": 3}},
     "required": ["a", "b"], "additionalProperties": False},
    {"type": "array", "items": {"type": "number"}, "minItems": 2},
    {"type": "string", "format": "date"},
    {"enum": ["red", "green"]},
    {"type": ["null", "boolean"]},
    {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    {"$defs": {"item": {"type": "object", "properties": {"n": {"const": 7}}, "required": ["n"]}},
     "type": "array", "items": {"$ref": "#/$defs/item"}},
    {"type": "string", "minLength": 20},
    {"type": "integer", "exclusiveMinimum": 10},
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS)
def test_sample_validates(schema: dict[str, Any]) -> None:
    jsonschema.validate(sample_instance(schema), schema)


def test_example_invoice_schema_sample_validates() -> None:
    import json

    from tests.helpers import load_event

    schema = json.loads(load_event("chat-json-schema")["body"])["response_format"]["json_schema"]["schema"]
    jsonschema.validate(sample_instance(schema), schema, format_checker=jsonschema.FormatChecker())
