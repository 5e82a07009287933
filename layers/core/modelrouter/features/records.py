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
    "DocumentInfo",
    "ImageInfo",
    "LanguageGuess",
    "PiiFinding",
    "PiiKind",
    "RequestFeatures",
    "TopicGuess",
]


class PiiKind(StrEnum):
    """Kinds of personal data the detector looks for."""

    EMAIL = "email"
    PHONE = "phone"
    PAYMENT_CARD = "payment_card"
    IBAN = "iban"
    US_SSN = "us_ssn"
    PERSON_NAME = "person_name"
    """A name next to a personal label (``Name:``, ``Surname:``, ``Customer:``, ``my name is``)."""
    DATE_OF_BIRTH = "date_of_birth"
    """A date next to a birth label (``DOB``, ``date of birth``, ``born on``, ``Geburtsdatum``)."""
    POSTAL_ADDRESS = "postal_address"
    """A street address, a postcode with its town, or a labelled address line."""


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


class ImageInfo(_Frozen):
    """One image of the request, as far as it can be known without decoding or fetching it."""

    source: Literal["inline", "url"]
    """``inline``: a base64 data URI (size and dimensions read from its header); ``url``: a link,
    never fetched, so nothing more is known."""
    media_type: str | None = None
    """The media type the bytes are (``image/png``), from their signature; None when unknown."""
    encoded_bytes: int | None = Field(default=None, ge=0)
    """Size of the image file in bytes (inline images)."""
    width: int | None = Field(default=None, ge=1)
    """Width in pixels, from the header."""
    height: int | None = Field(default=None, ge=1)
    """Height in pixels, from the header."""

    @property
    def pixels(self) -> int | None:
        """Width × height, when both are known."""
        return self.width * self.height if self.width is not None and self.height is not None else None


class DocumentInfo(_Frozen):
    """One document (file content part) of the request."""

    source: Literal["inline", "file_id"]
    """``inline``: a base64 data URI; ``file_id``: a provider's file id (nothing more is known)."""
    media_type: str | None = None
    """The declared media type (``application/pdf``)."""
    encoded_bytes: int | None = Field(default=None, ge=0)
    """Size of the file in bytes (inline files)."""
    pages: int | None = Field(default=None, ge=0)
    """Pages, where cheap to know (PDF page objects); None otherwise."""


class TopicGuess(_Frozen):
    """What the request is about, from the policy's topic classifier."""

    label: str | None
    """The most likely topic, or None when the classifier's confidence is below its threshold."""
    confidence: float = Field(ge=0, le=1)
    """The classifier's probability of its most likely topic."""
    classifier: str
    """The classifier artifact's key (``support-topics``)."""
    evidence: str = ""
    """Why, in a few words (the words that weighed most), without quoting the prompt at length."""


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
    images: tuple[ImageInfo, ...] = ()
    """Each image of the request (``image_count`` of them), with its size and dimensions when known."""
    documents: tuple[DocumentInfo, ...] = ()
    """Each document (file content part) of the request."""
    topic: TopicGuess | None = None
    """The topic, when the policy has a topic classifier."""

    @property
    def has_images(self) -> bool:
        """Whether any message carries an image."""
        return self.image_count > 0

    @property
    def image_bytes(self) -> int:
        """Encoded size of the inline images, summed."""
        return sum(image.encoded_bytes or 0 for image in self.images)

    @property
    def image_max_pixels(self) -> int | None:
        """Width × height of the largest image whose dimensions are known; None when none is."""
        known = [pixels for image in self.images if (pixels := image.pixels) is not None]
        return max(known) if known else None

    @property
    def document_count(self) -> int:
        """Documents across all messages."""
        return len(self.documents)

    @property
    def document_bytes(self) -> int:
        """Size of the inline documents, summed."""
        return sum(document.encoded_bytes or 0 for document in self.documents)

    @property
    def document_pages(self) -> int | None:
        """Pages of the documents whose page count is known, summed; None when none is known."""
        known = [document.pages for document in self.documents if document.pages is not None]
        return sum(known) if known else None

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
        lines.extend(self._media_lines())
        if self.topic is not None:
            label = self.topic.label or "none above the threshold"
            evidence = f"; {self.topic.evidence}" if self.topic.evidence else ""
            lines.append(
                f"topic: {label} (confidence {self.topic.confidence:.2f},"
                f" classifier {self.topic.classifier}{evidence})"
            )
        signals = ", ".join(
            f"{s.name}={s.value:.2f}×{s.weight:g} ({s.detail})" for s in self.difficulty.signals
        )
        lines.append(f"difficulty: {self.difficulty.score:.2f} [{signals}]")
        return lines

    def _media_lines(self) -> list[str]:
        lines: list[str] = []
        if self.images:
            largest = self.image_max_pixels
            size = f"largest {largest / 1e6:.1f} MP" if largest is not None else "dimensions unknown"
            lines.append(f"image detail: {self.image_bytes} bytes inline, {size}")
        if self.documents:
            pages = self.document_pages
            types = ", ".join(sorted({d.media_type or d.source for d in self.documents}))
            page_text = f"{pages} pages" if pages is not None else "pages unknown"
            lines.append(
                f"documents: {self.document_count} ({types}; {self.document_bytes} bytes inline, {page_text})"
            )
        return lines
