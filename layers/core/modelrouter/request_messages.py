"""The messages of a chat request: content parts, tool calls, and the five roles.

Part of :mod:`modelrouter.request` (which re-exports every name here); kept apart so each module stays
small. Every model is strict, like OpenAI's API: unknown fields are rejected and nothing is coerced.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AssistantMessage",
    "ContentPart",
    "DeveloperMessage",
    "FunctionCall",
    "ImagePart",
    "ImageUrl",
    "Message",
    "StrictModel",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolMessage",
    "UserMessage",
]


class StrictModel(BaseModel):
    """Base of every request model: unknown fields are errors, instances are frozen, and types are
    strict (``"100"`` is not an int, ``1`` is not a bool; an int is still a valid float)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


_DATA_IMAGE = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,", re.IGNORECASE)


class TextPart(StrictModel):
    """A text content part."""

    type: Literal["text"]
    """Always ``text``."""
    text: str
    """The text."""


class ImageUrl(StrictModel):
    """Where an image is: an ``https://`` URL or a ``data:image/...;base64,`` URI."""

    url: str = Field(min_length=1)
    """The image URL or data URI."""
    detail: Literal["auto", "low", "high"] = "auto"
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


class ImagePart(StrictModel):
    """An image content part."""

    type: Literal["image_url"]
    """Always ``image_url``."""
    image_url: ImageUrl
    """The image."""


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class FunctionCall(StrictModel):
    """The function an assistant asked to call, with JSON-encoded arguments."""

    name: str
    """Function name."""
    arguments: str
    """Arguments as a JSON string, exactly as the model produced them."""


class ToolCall(StrictModel):
    """A tool call made by the assistant in an earlier turn."""

    id: str
    """Identifier the matching tool message refers to."""
    type: Literal["function"] = "function"
    """Always ``function``."""
    function: FunctionCall
    """The call."""


class _MessageBase(StrictModel):
    name: str | None = None
    """Optional participant name."""

    def text(self) -> str:
        """All text of this message, parts joined by newlines (images contribute nothing)."""
        content: Any = getattr(self, "content", None)
        if content is None:
            return ""
        if isinstance(content, str):
            return content
        return "\n".join(part.text for part in content if isinstance(part, TextPart))

    def images(self) -> int:
        """How many image parts this message carries."""
        content: Any = getattr(self, "content", None)
        if isinstance(content, list):
            return sum(1 for part in content if isinstance(part, ImagePart))
        return 0


class SystemMessage(_MessageBase):
    """Instructions from the application."""

    role: Literal["system"]
    """Always ``system``."""
    content: str | list[TextPart]
    """Text, or text parts."""


class DeveloperMessage(_MessageBase):
    """OpenAI's newer name for system instructions; treated like ``system``."""

    role: Literal["developer"]
    """Always ``developer``."""
    content: str | list[TextPart]
    """Text, or text parts."""


class UserMessage(_MessageBase):
    """A user turn: text and images."""

    role: Literal["user"]
    """Always ``user``."""
    content: str | list[ContentPart]
    """Text, or text and image parts."""


class AssistantMessage(_MessageBase):
    """An earlier assistant turn: text, tool calls, or both."""

    role: Literal["assistant"]
    """Always ``assistant``."""
    content: str | list[TextPart] | None = None
    """Text, if the turn had any."""
    tool_calls: list[ToolCall] | None = None
    """Tool calls the assistant made."""
    refusal: str | None = None
    """A refusal message, if the model refused."""

    @model_validator(mode="after")
    def _has_content_or_calls(self) -> AssistantMessage:
        if self.content is None and not self.tool_calls:
            raise ValueError("an assistant message needs content or tool_calls")
        return self


class ToolMessage(_MessageBase):
    """The result of a tool call, sent back to the model."""

    role: Literal["tool"]
    """Always ``tool``."""
    content: str | list[TextPart]
    """The tool's output."""
    tool_call_id: str = Field(min_length=1)
    """The ``id`` of the tool call this answers."""


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]
