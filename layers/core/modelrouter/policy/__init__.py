"""The routing policy language: models, loader, cross-reference checks and JSON Schema.

The models are imported eagerly. The loader (PyYAML), the reference checks and the schema export are
imported on first use, so code that only decides with an already loaded policy does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelrouter.policy.catalog import ModelSpec, Pricing, SecretRef
from modelrouter.policy.check_specs import BedrockGuardrailCheck, Checks, GuardrailsCheck, JsonSchemaCheck
from modelrouter.policy.common import (
    AnswerFormat,
    Capability,
    DataClassification,
    ProviderKind,
    classification_rank,
)
from modelrouter.policy.document import Defaults, Policy
from modelrouter.policy.execution import Cooldown, Execution
from modelrouter.policy.learned import ArtifactRef, LearnedDifficulty, LearnedRouting, RouterPin
from modelrouter.policy.routes import Intents, Limits, Route, Strategy, TokenRange, UnitRange, Variant, When
from modelrouter.policy.tenants import Budget, Pinning, Tenant

if TYPE_CHECKING:
    from modelrouter.policy.cross_references import PolicyCheckResult, check_references
    from modelrouter.policy.loader import LoadedPolicy, load_policy_file, parse_policy

__all__ = [
    "AnswerFormat",
    "ArtifactRef",
    "BedrockGuardrailCheck",
    "Budget",
    "Capability",
    "Checks",
    "Cooldown",
    "DataClassification",
    "Defaults",
    "Execution",
    "GuardrailsCheck",
    "Intents",
    "JsonSchemaCheck",
    "LearnedDifficulty",
    "LearnedRouting",
    "Limits",
    "LoadedPolicy",
    "ModelSpec",
    "Pinning",
    "Policy",
    "PolicyCheckResult",
    "Pricing",
    "ProviderKind",
    "Route",
    "RouterPin",
    "SecretRef",
    "Strategy",
    "Tenant",
    "TokenRange",
    "UnitRange",
    "Variant",
    "When",
    "check_references",
    "classification_rank",
    "load_policy_file",
    "parse_policy",
]

_LAZY = {
    "LoadedPolicy": "modelrouter.policy.loader",
    "load_policy_file": "modelrouter.policy.loader",
    "parse_policy": "modelrouter.policy.loader",
    "PolicyCheckResult": "modelrouter.policy.cross_references",
    "check_references": "modelrouter.policy.cross_references",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
