"""The policy reference in Markdown, generated from the policy's JSON Schema (so it cannot go stale).

``modelrouter policy reference > docs/policy-reference.md``; a test checks the file is current.
"""

from __future__ import annotations

from typing import Any

__all__ = ["policy_reference_markdown"]

_ORDER = ("Policy", "Defaults", "ModelSpec", "Pricing", "SecretRef", "Tenant", "Budget", "Pinning", "Route",
          "When", "Intents", "TokenRange", "UnitRange", "Variant", "LearnedRouting", "LearnedDifficulty",
          "Limits", "Checks", "JsonSchemaCheck", "RulesCheck", "AnswerRule", "GuardrailsCheck",
          "BedrockGuardrailCheck", "Execution", "Cooldown")  # fmt: skip


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            parts = [_type_of(option) for option in schema[combinator] if option.get("type") != "null"]
            return " or ".join(parts)
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if (
        kind == "object"
        and "additionalProperties" in schema
        and isinstance(schema["additionalProperties"], dict)
    ):
        return f"map of {_type_of(schema['additionalProperties'])}"
    return str(kind)


def _default(field: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in field:
        return ""
    value = field["default"]
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`" if not isinstance(value, (dict, list)) or value else "empty"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").replace("``", "`").split())


def _section(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", "", _cell(schema.get("description", "")), ""]
    if "enum" in schema:
        return [*lines, "One of: " + ", ".join(f"`{value}`" for value in schema["enum"]), ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    for field_name, field in schema.get("properties", {}).items():
        description = field.get("description", "")
        default = _default(field, field_name in required)
        lines.append(f"| `{field_name}` | {_type_of(field)} | {default} | {_cell(description)} |")
    return [*lines, ""]


def policy_reference_markdown(schema: dict[str, Any]) -> str:
    """The reference page for ``schema`` (as ``policy_json_schema()`` returns it)."""
    definitions: dict[str, Any] = schema.get("$defs", {})
    lines = [
        "# Policy reference",
        "",
        "Generated from `policies/policy.schema.json` by `modelrouter policy reference` (`make schema`);",
        "do not edit by hand.",
        "Semantics (route matching, strategies, execution, budgets) are in `docs/architecture.md`.",
        "",
    ]
    lines += _section("Policy", {**schema, "description": schema.get("description", "The policy file.")})
    names = [name for name in _ORDER if name in definitions]
    names += sorted(name for name in definitions if name not in names and "enum" not in definitions[name])
    names += sorted(name for name in definitions if name not in names)
    for name in names:
        lines += _section(name, definitions[name])
    return "\n".join(lines).rstrip() + "\n"
