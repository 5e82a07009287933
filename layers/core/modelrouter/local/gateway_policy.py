"""How API Gateway reads a REQUEST authorizer's answer: an IAM policy whose statements allow or deny
``execute-api:Invoke`` on method ARNs (wildcards ``*`` and ``?`` allowed); an explicit ``Deny`` wins,
and no matching ``Allow`` is a refusal."""

from __future__ import annotations

import fnmatch
from typing import Any

__all__ = ["allowed"]

_ACTIONS = ("execute-api:Invoke", "execute-api:*", "*")


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list) else []


def allowed(answer: Any, method_arn: str) -> bool | None:
    """Whether the authorizer's ``answer`` lets the request to ``method_arn`` through; None when the
    answer is not an authorizer response (no ``principalId`` or policy document)."""
    if not isinstance(answer, dict) or "principalId" not in answer:
        return None
    document = answer.get("policyDocument")
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return None
    effects = set()
    for statement in statements:
        if not isinstance(statement, dict):
            return None
        actions = _listed(statement.get("Action"))
        resources = _listed(statement.get("Resource"))
        if any(action in _ACTIONS for action in actions) and any(
            fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources
        ):
            effects.add(statement.get("Effect"))
    return "Deny" not in effects and "Allow" in effects
