"""Answer checks a route runs after each model call (executed by the execution layer)."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import Field

from modelrouter.policy.common import Regex, StrictModel

__all__ = ["BedrockGuardrailCheck", "Checks", "GuardrailsCheck", "JsonSchemaCheck"]


class JsonSchemaCheck(StrictModel):
    """How a JSON-schema answer that fails to parse or validate is handled (the check always runs)."""

    on_failure: Literal["repair", "escalate"] = "repair"
    """``repair``: ask the same model again with the validation errors; ``escalate``: next candidate."""
    max_repairs: int = Field(default=1, ge=0, le=3)
    """Repair attempts on the same model before escalating."""


class GuardrailsCheck(StrictModel):
    """Local guardrails over the answer text."""

    blocked_terms: list[str] = Field(default_factory=list)
    """Case-insensitive terms that must not appear in an answer."""
    blocked_patterns: list[Regex] = Field(default_factory=list)
    """Regular expressions that must not match an answer."""
    pii: Literal["allow", "redact", "block"] = "allow"
    """What to do with personal data in an answer."""
    max_chars: int | None = Field(default=None, ge=1)
    """Longest acceptable answer."""
    require_citation: Regex | None = None
    """A pattern every answer must contain (e.g. ``\\[doc:\\d+\\]``)."""
    on_failure: Literal["escalate", "fail"] = "escalate"
    """On a blocked answer: try the next candidate, or fail the request. Never return it."""

    @cached_property
    def compiled_blocked_patterns(self) -> tuple[re.Pattern[str], ...]:
        """``blocked_patterns``, compiled once per policy."""
        return tuple(re.compile(pattern) for pattern in self.blocked_patterns)

    @cached_property
    def compiled_citation(self) -> re.Pattern[str] | None:
        """``require_citation``, compiled once per policy."""
        return re.compile(self.require_citation) if self.require_citation is not None else None


class BedrockGuardrailCheck(StrictModel):
    """An Amazon Bedrock Guardrail applied to the answer with ``ApplyGuardrail``."""

    id: str = Field(min_length=1)
    """Guardrail identifier or ARN."""
    version: str = Field(pattern=r"^(DRAFT|\d+)$")
    """Guardrail version (a number, or DRAFT)."""
    region: str | None = None
    """Region of the guardrail; the router's region when omitted."""


class Checks(StrictModel):
    """Which checks run on the answers of a route."""

    json_schema: JsonSchemaCheck = Field(default_factory=JsonSchemaCheck)
    """Handling of answers to ``response_format: json_schema`` requests."""
    guardrails: GuardrailsCheck | None = None
    """Local guardrails."""
    bedrock_guardrail: BedrockGuardrailCheck | None = None
    """An Amazon Bedrock Guardrail."""

    def whole_answer_only(self) -> list[str]:
        """The checks that cannot judge a partial answer (empty: all can run while it streams)."""
        needs: list[str] = []
        if self.bedrock_guardrail is not None:
            needs.append("bedrock_guardrail")
        if self.guardrails is not None:
            if self.guardrails.require_citation is not None:
                needs.append("guardrails.require_citation")
            from modelrouter.checks.incremental import holdback_chars  # not at import: it loads the PII scan

            if self.guardrails.require_citation is None and holdback_chars(self.guardrails) is None:
                needs.append("a blocked pattern of unbounded length")
        return needs
