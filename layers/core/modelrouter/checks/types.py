"""Results of answer checks, and the interface of an external guardrail service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from modelrouter.policy.checks import BedrockGuardrailCheck

__all__ = ["CheckAction", "CheckResult", "GuardrailService", "GuardrailVerdict"]

CheckAction = Literal["accept", "redact", "repair", "escalate", "fail"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check on one answer."""

    name: str
    """Check name: ``json_schema``, ``json_object``, ``guardrails``, ``bedrock_guardrail``."""
    passed: bool
    """Whether the answer passed (a redacted answer passes)."""
    action: CheckAction
    """What the executor does next."""
    detail: str
    """What was found, without answer text or PII values."""


@dataclass(frozen=True, slots=True)
class GuardrailVerdict:
    """What an external guardrail said about an answer."""

    intervened: bool
    """The guardrail blocked or changed the answer."""
    detail: str
    """Why (policy names, assessments), without the answer text."""


class GuardrailService(Protocol):
    """An external guardrail, such as Amazon Bedrock Guardrails ``ApplyGuardrail``."""

    def apply(self, check: BedrockGuardrailCheck, text: str, timeout_s: float) -> GuardrailVerdict:
        """Assess ``text`` as model output; raise a ProviderError if the service fails."""
        ...
