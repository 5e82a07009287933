"""Explainable request features: what the router knows about a request before choosing a model.

Every feature carries enough evidence to explain itself (``RequestFeatures.explain()``), and none holds
prompt text or PII values: a feature record is safe to log and to store as provenance.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Difficulty",
    "DifficultySignal",
    "LanguageGuess",
    "PiiFinding",
    "PiiKind",
    "RequestFeatures",
]


class PiiKind(StrEnum):
    """Kinds of personal data the detector looks for."""

    EMAIL = "email"
    PHONE = "phone"
    PAYMENT_CARD = "payment_card"
    IBAN = "iban"
    US_SSN = "us_ssn"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PiiFinding(_Frozen):
    """Where one piece of personal data was found; never the value itself."""

    kind: PiiKind
    """What kind of data."""
    message_index: int | None = Field(default=None, ge=0)
    """Index of the message in ``messages`` the text belongs to; None for text outside the messages
    (tool definitions, the answer's schema, ``stop``)."""
    location: str | None = None
    """Which text, as a path into the request, when it is not the message's scanned text (its content
    and tool call arguments): ``tools[0].function.description``, ``messages[2].name``,
    ``response_format.json_schema.schema.properties.*.const``, ``stop[1]``. Property names and other
    keys chosen by the caller show as ``*`` and a finding in a key ends in ``.<key>``, so the path never
    quotes the request."""
    start: int = Field(ge=0)
    """Offset of the first character within that text."""
    end: int = Field(ge=0)
    """Offset one past the last character."""

    @model_validator(mode="after")
    def _placed(self) -> PiiFinding:
        if self.message_index is None and self.location is None:
            raise ValueError("a finding needs a message_index, a location or both")
        return self


class LanguageGuess(_Frozen):
    """The dominant language of the user's text, from its script and common words."""

    code: str
    """ISO 639-1 code (``en``, ``de``, ``ja`` …) or ``und`` when undetermined."""
    script: str
    """Dominant script: ``latin``, ``cyrillic``, ``cjk``, ``arabic`` …"""
    confidence: float = Field(ge=0, le=1)
    """How sure the detector is, 0 to 1."""
    evidence: str
    """Why, in a few words (e.g. ``12 of 40 words are German stop words``)."""


class DifficultySignal(_Frozen):
    """One cheap signal that feeds the difficulty score."""

    name: str
    """Signal name: ``length``, ``code``, ``math``, ``multi_step``, ``questions``, ``depth`` …"""
    value: float = Field(ge=0, le=1)
    """The signal's strength, 0 to 1."""
    weight: float = Field(ge=0, le=1)
    """The most this signal alone can add to the score."""
    detail: str
    """What was observed (e.g. ``3 fenced code blocks``)."""


class Difficulty(_Frozen):
    """How hard the request looks, 0 (trivial) to 1 (hard), with the signals behind the score."""

    score: float = Field(ge=0, le=1)
    """Noisy-OR of the signals: ``1 - prod(1 - weight * value)``."""
    signals: tuple[DifficultySignal, ...]
    """The signals that produced the score."""


class RequestFeatures(_Frozen):
    """Everything the decision engine reads from a request, each feature explainable."""

    prompt_tokens: int = Field(ge=0)
    """Estimated input tokens: messages, tool definitions, schema and images, without a tokenizer."""
    prompt_chars: int = Field(ge=0)
    """Characters of text across all messages."""
    message_count: int = Field(ge=1)
    """Messages in the conversation."""
    user_turns: int = Field(ge=0)
    """User messages in the conversation (conversation depth)."""
    image_count: int = Field(ge=0)
    """Image parts across all messages."""
    tool_count: int = Field(ge=0)
    """Tools offered to the model."""
    response_format: Literal["text", "json_object", "json_schema"]
    """The answer format the request asks for."""
    language: LanguageGuess
    """The dominant language of the user's text."""
    pii: tuple[PiiFinding, ...]
    """Personal data found in the request, by kind and place."""
    difficulty: Difficulty
    """Difficulty estimate with its signals."""

    @property
    def has_images(self) -> bool:
        """Whether any message carries an image."""
        return self.image_count > 0

    @property
    def has_tools(self) -> bool:
        """Whether the request offers tools."""
        return self.tool_count > 0

    @property
    def pii_kinds(self) -> frozenset[PiiKind]:
        """The kinds of personal data found."""
        return frozenset(finding.kind for finding in self.pii)

    def explain(self) -> list[str]:
        """One line per feature, saying what was found and why."""
        lines = [
            f"prompt_tokens ≈ {self.prompt_tokens}"
            f" ({self.prompt_chars} chars in {self.message_count} messages)",
            f"images: {self.image_count}, tools: {self.tool_count}, response_format: {self.response_format}",
            f"language: {self.language.code} ({self.language.script},"
            f" confidence {self.language.confidence:.2f}; {self.language.evidence})",
        ]
        if self.pii:
            kinds = ", ".join(
                f"{kind.value}×{sum(1 for f in self.pii if f.kind is kind)}"
                for kind in sorted(self.pii_kinds)
            )
            lines.append(f"pii: {kinds}")
        else:
            lines.append("pii: none found")
        signals = ", ".join(
            f"{s.name}={s.value:.2f}×{s.weight:g} ({s.detail})" for s in self.difficulty.signals
        )
        lines.append(f"difficulty: {self.difficulty.score:.2f} [{signals}]")
        return lines
