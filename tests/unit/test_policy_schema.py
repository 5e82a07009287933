"""The exported JSON Schema: current, and in agreement with the loader."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from tests.helpers import EXAMPLE_POLICY, ROOT, SCHEMA_FILE, minimal_policy

from modelrouter.policy.schema import policy_json_schema, policy_json_schema_text


def test_schema_file_is_current() -> None:
    # Given the checked-in schema, When compared with the models, Then they match (run `make schema`)
    assert SCHEMA_FILE.read_text() == policy_json_schema_text(), (
        "policies/policy.schema.json is stale: make schema"
    )


def test_policy_reference_is_current_and_documents_every_field() -> None:
    # Given the checked-in reference page
    from modelrouter.policy.reference_markdown import policy_reference_markdown

    reference = (ROOT / "docs" / "policy-reference.md").read_text()
    # Then it is what the schema generates (run `make schema`), and every field of every model is in it
    assert reference == policy_reference_markdown(policy_json_schema()), "docs/policy-reference.md is stale"
    for definition in policy_json_schema()["$defs"].values():
        for name in definition.get("properties", {}):
            assert f"| `{name}` |" in reference


@pytest.mark.parametrize("policy_file", ["example.yaml", "local.yaml"])
def test_shipped_policies_validate_against_the_schema(policy_file: str) -> None:
    document = yaml.safe_load((ROOT / "policies" / policy_file).read_text())
    jsonschema.Draft202012Validator(policy_json_schema()).validate(document)


def test_example_policy_validates_against_the_schema() -> None:
    # Given the example policy as plain data, Then an editor using the schema accepts it
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    jsonschema.Draft202012Validator(policy_json_schema()).validate(document)


def test_schema_rejects_unknown_keys_like_the_loader() -> None:
    document = minimal_policy()
    document["routes"][0]["strategyy"] = "fallback"
    errors = list(jsonschema.Draft202012Validator(policy_json_schema()).iter_errors(document))
    assert errors


def test_schema_documents_fields() -> None:
    # Field docstrings become descriptions an editor shows on hover
    schema = json.loads(SCHEMA_FILE.read_text())
    model_spec = schema["$defs"]["ModelSpec"]["properties"]
    assert "pinned to a version" in model_spec["model_id"]["description"]
