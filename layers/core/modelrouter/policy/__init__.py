"""The routing policy language: models, loader, cross-reference checks and JSON Schema."""

from __future__ import annotations

from modelrouter.policy.catalog import ModelSpec, Pricing, SecretRef
from modelrouter.policy.checks import BedrockGuardrailCheck, Checks, GuardrailsCheck, JsonSchemaCheck
from modelrouter.policy.common import (
    AnswerFormat,
    Capability,
    DataClassification,
    ProviderKind,
    classification_rank,
)
from modelrouter.policy.document import Defaults, Policy
from modelrouter.policy.loader import LoadedPolicy, load_policy_file, parse_policy
from modelrouter.policy.references import PolicyCheckResult, check_references
from modelrouter.policy.routes import Intents, Limits, Route, Strategy, TokenRange, UnitRange, Variant, When
from modelrouter.policy.tenants import Budget, Pinning, Tenant

__all__ = [
    "AnswerFormat",
    "BedrockGuardrailCheck",
    "Budget",
    "Capability",
    "Checks",
    "DataClassification",
    "Defaults",
    "GuardrailsCheck",
    "Intents",
    "JsonSchemaCheck",
    "Limits",
    "LoadedPolicy",
    "ModelSpec",
    "Pinning",
    "Policy",
    "PolicyCheckResult",
    "Pricing",
    "ProviderKind",
    "Route",
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
