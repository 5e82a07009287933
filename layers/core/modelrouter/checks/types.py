"""Results of answer checks, and the interface of an external guardrail service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from modelrouter.policy.check_specs import BedrockGuardrailCheck

__all__ = ["CheckAction", "CheckResult", "GuardrailService", "GuardrailVerdict"]

CheckAction = Literal["accept", "redact", "repair", "retry", "escalate", "fail", "reject"]
"""What the executor does next: ``accept`` or ``redact`` (return the answer, changed for a redaction),
``repair`` (the same model again, told what was wrong), ``retry`` (the same model again, as asked),
``escalate`` (the next candidate), ``fail`` or ``reject`` (the request fails: a check failed on a route
that says fail, or a rule rejected the answer)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check on one answer."""

    name: str
    """Check name: ``json_schema``, ``json_object``, ``rules``, ``guardrails``, ``bedrock_guardrail``."""
    passed: bool
    """Whether the answer passed (a redacted answer passes)."""
    action: CheckAction
    """What the executor does next."""
    detail: str
    """What was found, without answer text or PII values."""
    rule: str | None = None
    """``rules`` check: the rule that fired, or whose expression failed on the answer (``None``: the
    check's ``default`` or ``on_error`` applied to the answer as a whole)."""


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
