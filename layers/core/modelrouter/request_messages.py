"""The messages of a chat request: the six roles, with their content parts and tool calls.

Part of :mod:`modelrouter.request` (which re-exports every name here); kept apart so each module stays
small. Every model is strict, like OpenAI's API: unknown fields are rejected and nothing is coerced.
Content parts live in :mod:`modelrouter.request_parts`, tools and tool calls in
:mod:`modelrouter.request_tools`. The deprecated ``function`` role and an assistant's ``function_call``
are accepted here and turned into tool messages and tool calls when the request is validated
(:mod:`modelrouter.request_legacy`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from modelrouter.request_parts import (
    AssistantContentPart,
    ContentPart,
    FilePart,
    ImagePart,
    ImageUrl,
    InputAudioPart,
    RefusalPart,
    StrictModel,
    TextPart,
)
from modelrouter.request_tools import AnyToolCall, CustomToolCall, FunctionCall, ToolCall

__all__ = [
    "AssistantAudio",
    "AssistantMessage",
    "ContentPart",
    "CustomToolCall",
    "DeveloperMessage",
    "FilePart",
    "FunctionCall",
    "FunctionMessage",
    "ImagePart",
    "ImageUrl",
    "InputAudioPart",
    "Message",
    "RefusalPart",
    "StrictModel",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolMessage",
    "UserMessage",
]


class _MessageBase(StrictModel):
    name: str | None = None
    """Optional participant name."""

    def text(self) -> str:
        """All text of this message, text parts joined by newlines (other parts contribute nothing)."""
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
    """A user turn: text, images, audio and files."""

    role: Literal["user"]
    """Always ``user``."""
    content: str | list[ContentPart]
    """Text, or text, image, input audio and file parts."""


class AssistantAudio(StrictModel):
    """A reference to an audio answer of an earlier turn."""

    id: str
    """The provider's id of that audio."""


class AssistantMessage(_MessageBase):
    """An earlier assistant turn: text, tool calls, or both."""

    role: Literal["assistant"]
    """Always ``assistant``."""
    content: str | list[AssistantContentPart] | None = None
    """Text (or text and refusal parts), if the turn had any."""
    tool_calls: list[AnyToolCall] | None = None
    """Tool calls the assistant made."""
    refusal: str | None = None
    """A refusal message, if the model refused."""
    audio: AssistantAudio | None = None
    """The audio answer of that turn, by id (OpenAI-compatible models only)."""
    function_call: FunctionCall | None = None
    """A call of the deprecated ``functions`` (turned into a tool call when the request is validated)."""

    @model_validator(mode="after")
    def _has_content_or_calls(self) -> AssistantMessage:
        if self.content is None and not self.tool_calls and self.function_call is None and self.audio is None:
            raise ValueError("an assistant message needs content or tool_calls (or function_call, or audio)")
        return self


class ToolMessage(_MessageBase):
    """The result of a tool call, sent back to the model."""

    role: Literal["tool"]
    """Always ``tool``."""
    content: str | list[TextPart]
    """The tool's output."""
    tool_call_id: str = Field(min_length=1)
    """The ``id`` of the tool call this answers."""


class FunctionMessage(StrictModel):
    """The result of a deprecated ``function_call`` (turned into a tool message when the request is
    validated)."""

    role: Literal["function"]
    """Always ``function``."""
    name: str
    """The function that was called."""
    content: str | None
    """Its output."""

    def text(self) -> str:
        """The output."""
        return self.content or ""

    def images(self) -> int:
        """Never any images."""
        return 0


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]
"""One message of a conversation."""
