"""The policy's JSON Schema, generated from the pydantic models (``policies/policy.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

from modelrouter.policy.document import Policy

__all__ = ["SCHEMA_ID", "policy_json_schema", "policy_json_schema_text"]

SCHEMA_ID = "https://modelrouter.dev/schemas/policy-v1.json"


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of a version-1 policy document."""
    schema = Policy.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def policy_json_schema_text() -> str:
    """The schema as the text stored in ``policies/policy.schema.json``."""
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False) + "\n"
