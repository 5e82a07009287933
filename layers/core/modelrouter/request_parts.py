"""The content parts of chat messages: text, images, input audio, files and refusals.

Part of :mod:`modelrouter.request` (which re-exports every name here); kept apart so each module stays
small. Every model is strict, like OpenAI's API: unknown fields are rejected and nothing is coerced.
The shapes are those the pinned ``openai`` package sends (``ChatCompletionContentPartParam`` and the
assistant's refusal part); ``tests/unit/test_openai_sdk_fields.py`` keeps them in step with it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AssistantContentPart",
    "CacheBreakpoint",
    "ContentPart",
    "FileData",
    "FilePart",
    "ImagePart",
    "ImageUrl",
    "InputAudio",
    "InputAudioPart",
    "RefusalPart",
    "StrictModel",
    "TextPart",
]


class StrictModel(BaseModel):
    """Base of every request model: unknown fields are errors, instances are frozen, and types are
    strict (``"100"`` is not an int, ``1`` is not a bool; an int is still a valid float)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


_DATA_IMAGE = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,", re.IGNORECASE)


class CacheBreakpoint(StrictModel):
    """An explicit prompt-cache breakpoint after a content part (OpenAI's ``prompt_cache_breakpoint``)."""

    mode: Literal["explicit"]
    """Always ``explicit``."""
    ttl: Literal["30m", "12h"] | None = None
    """The least time the cached prefix should live; the request's ``prompt_cache_options.ttl`` when
    omitted."""


class _Part(StrictModel):
    prompt_cache_breakpoint: CacheBreakpoint | None = None
    """Write a prompt-cache breakpoint after this part (OpenAI-compatible models only)."""


class TextPart(_Part):
    """A text content part."""

    type: Literal["text"]
    """Always ``text``."""
    text: str
    """The text."""


class ImageUrl(StrictModel):
    """Where an image is: an ``https://`` URL or a ``data:image/...;base64,`` URI."""

    url: str = Field(min_length=1)
    """The image URL or data URI."""
    detail: Literal["auto", "low", "high", "original"] = "auto"
    """OpenAI's detail hint; providers without it ignore it."""

    @field_validator("url")
    @classmethod
    def _https_or_data(cls, value: str) -> str:
        # Anything else (file:, http:, ftp:, a bare path) would be fetched by a provider, or worse.
        if _DATA_IMAGE.match(value):
            return value
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() != "https" or not parts.hostname:
            raise ValueError("image url must be an https:// URL or a data:image/...;base64, URI")
        return value


class ImagePart(_Part):
    """An image content part."""

    type: Literal["image_url"]
    """Always ``image_url``."""
    image_url: ImageUrl
    """The image."""


class InputAudio(StrictModel):
    """Audio sent as input: base64 data and its format."""

    data: str = Field(min_length=1)
    """Base64-encoded audio."""
    format: Literal["wav", "mp3"]
    """The audio's format."""


class InputAudioPart(_Part):
    """An audio content part (OpenAI-compatible models only)."""

    type: Literal["input_audio"]
    """Always ``input_audio``."""
    input_audio: InputAudio
    """The audio."""


class FileData(StrictModel):
    """A file given inline (``file_data``, a base64 data URI) or by an OpenAI file id."""

    file_data: str | None = None
    """The file as a ``data:<media type>;base64,`` URI."""
    file_id: str | None = None
    """The id of a file uploaded to the provider (OpenAI-compatible models only)."""
    filename: str | None = None
    """The file's name, shown to the model."""

    @model_validator(mode="after")
    def _data_or_id(self) -> FileData:
        if self.file_data is None and self.file_id is None:
            raise ValueError("a file needs file_data or file_id")
        return self


class FilePart(_Part):
    """A file content part (a PDF or text document)."""

    type: Literal["file"]
    """Always ``file``."""
    file: FileData
    """The file."""


class RefusalPart(StrictModel):
    """A refusal in an earlier assistant turn, as a content part."""

    type: Literal["refusal"]
    """Always ``refusal``."""
    refusal: str
    """The refusal message."""


ContentPart = Annotated[TextPart | ImagePart | InputAudioPart | FilePart, Field(discriminator="type")]
"""A part of a user message."""

AssistantContentPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]
"""A part of an assistant message."""
