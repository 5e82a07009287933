"""The policy's JSON Schema, generated from the pydantic models (``policies/policy.schema.json``).

Field descriptions come from the attribute docstrings in the model classes. They are read here, when
the schema is exported, rather than by pydantic at class creation (``use_attribute_docstrings``),
because that reads and parses source files during import and slowed every cold start.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import textwrap
from typing import Any

from pydantic import BaseModel

from modelrouter.policy.common import StrictModel
from modelrouter.policy.document import Policy

__all__ = ["SCHEMA_ID", "policy_json_schema", "policy_json_schema_text"]

SCHEMA_ID = "https://modelrouter.dev/schemas/policy-v1.json"


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of a version-1 policy document."""
    schema = Policy.model_json_schema(mode="validation")
    classes = {cls.__name__: cls for cls in _all_subclasses(StrictModel)}
    _describe(schema, Policy)
    for name, definition in schema.get("$defs", {}).items():
        if name in classes:
            _describe(definition, classes[name])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def policy_json_schema_text() -> str:
    """The schema as the text stored in ``policies/policy.schema.json``."""
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _all_subclasses(base: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for cls in base.__subclasses__():
        found.append(cls)
        found.extend(_all_subclasses(cls))
    return found


def _describe(definition: dict[str, Any], cls: type[BaseModel]) -> None:
    properties = definition.get("properties", {})
    # A field declared by a base model (RouterPin's pin fields) is documented there.
    for owner in (base for base in cls.__mro__ if issubclass(base, StrictModel)):
        for field, doc in _attribute_docstrings(owner).items():
            if field in properties:
                properties[field].setdefault("description", doc)


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``{field: docstring}`` for annotated class attributes followed by a string literal."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs
