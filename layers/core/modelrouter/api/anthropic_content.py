"""The content of Anthropic Messages requests: text, image, tool-use, tool-result and thinking blocks, and
the user, assistant and system turns that hold them. Part of :mod:`modelrouter.api.anthropic_request`.

Every model is strict: unknown fields are errors and values are not coerced. Each declares in
:attr:`AnthropicModel.IGNORED` the fields it accepts but the router cannot honour (prompt-cache markers,
citations …), which :func:`~modelrouter.api.anthropic_request.ignored_fields` reports.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelrouter.request_messages import ImageUrl

__all__ = [
    "AnthropicModel",
    "AssistantTurn",
    "Base64Source",
    "CacheControl",
    "ImageBlock",
    "RedactedThinkingBlock",
    "SystemTurn",
    "TextBlock",
    "ThinkingBlock",
    "ToolResultBlock",
    "ToolUseBlock",
    "Turn",
    "UrlSource",
    "UserTurn",
]


class AnthropicModel(BaseModel):
    """Base of every request model: unknown fields are errors, values are not coerced, instances frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    IGNORED: ClassVar[frozenset[str]] = frozenset()
    """Fields accepted but not honoured by the router (reported when given a non-default value)."""


class CacheControl(AnthropicModel):
    """A prompt-cache breakpoint (providers cache on their own terms; the marker is not passed on)."""

    type: Literal["ephemeral"]
    """Always ``ephemeral``."""
    ttl: Literal["5m", "1h"] | None = None
    """How long the cache entry lives."""


class TextBlock(AnthropicModel):
    """A text content block."""

    IGNORED = frozenset({"cache_control", "citations"})
    type: Literal["text"]
    """Always ``text``."""
    text: str
    """The text."""
    cache_control: CacheControl | None = None
    """Prompt-cache breakpoint (ignored)."""
    citations: list[dict[str, Any]] | None = None
    """Citations of an earlier answer (ignored)."""


class Base64Source(AnthropicModel):
    """An image sent inline."""

    type: Literal["base64"]
    """Always ``base64``."""
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    """The image's media type."""
    data: str = Field(min_length=1, pattern=r"^[A-Za-z0-9+/=\s]+$")
    """The image, base64-encoded."""


class UrlSource(AnthropicModel):
    """An image by URL: ``https://`` only, as on the router's OpenAI path."""

    type: Literal["url"]
    """Always ``url``."""
    url: str
    """The image URL."""

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        try:
            ImageUrl(url=value)  # the router's one rule for image URLs
        except ValidationError:
            raise ValueError("image url must be an https:// URL") from None
        if not value.lower().startswith("https:"):
            raise ValueError("image url must be an https:// URL")
        return value


class ImageBlock(AnthropicModel):
    """An image content block."""

    IGNORED = frozenset({"cache_control", "transformations"})
    type: Literal["image"]
    """Always ``image``."""
    source: Annotated[Base64Source | UrlSource, Field(discriminator="type")]
    """Where the image is."""
    cache_control: CacheControl | None = None
    """Prompt-cache breakpoint (ignored)."""
    transformations: dict[str, Any] | None = None
    """Server-side image transformations (ignored)."""


class ToolUseBlock(AnthropicModel):
    """A tool call of an earlier assistant turn."""

    IGNORED = frozenset({"cache_control", "caller", "toolset_name"})
    type: Literal["tool_use"]
    """Always ``tool_use``."""
    id: str = Field(min_length=1)
    """The call's id, which the ``tool_result`` block answering it names."""
    name: str = Field(min_length=1)
    """The tool called."""
    input: dict[str, Any]
    """The call's arguments."""
    cache_control: CacheControl | None = None
    """Prompt-cache breakpoint (ignored)."""
    caller: dict[str, Any] | None = None
    """Who made the call, for server tools (ignored)."""
    toolset_name: str | None = None
    """The toolset of the tool (ignored)."""


class ToolResultBlock(AnthropicModel):
    """The result of a tool call, sent back in a user turn."""

    IGNORED = frozenset({"cache_control", "is_error", "toolset_name"})
    type: Literal["tool_result"]
    """Always ``tool_result``."""
    tool_use_id: str = Field(min_length=1)
    """The ``id`` of the ``tool_use`` block this answers."""
    content: str | list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]] = ""
    """The tool's output: text, or text and image blocks."""
    is_error: bool = False
    """Whether the tool failed (no equivalent: the text says so or not)."""
    cache_control: CacheControl | None = None
    """Prompt-cache breakpoint (ignored)."""
    toolset_name: str | None = None
    """The toolset of the tool (ignored)."""


class ThinkingBlock(AnthropicModel):
    """The model's visible reasoning in an earlier turn (not sent on: other models cannot check it)."""

    type: Literal["thinking"]
    """Always ``thinking``."""
    thinking: str
    """The reasoning text."""
    signature: str
    """Anthropic's signature of it."""


class RedactedThinkingBlock(AnthropicModel):
    """Encrypted reasoning of an earlier turn (not sent on)."""

    type: Literal["redacted_thinking"]
    """Always ``redacted_thinking``."""
    data: str
    """The encrypted reasoning."""


UserBlock = Annotated[TextBlock | ImageBlock | ToolResultBlock, Field(discriminator="type")]
AssistantBlock = Annotated[
    TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock, Field(discriminator="type")
]


class UserTurn(AnthropicModel):
    """A user turn: text, images and tool results."""

    role: Literal["user"]
    """Always ``user``."""
    content: str | list[UserBlock]
    """Text, or content blocks."""


class AssistantTurn(AnthropicModel):
    """An earlier assistant turn (or a prefill, when it is the last)."""

    role: Literal["assistant"]
    """Always ``assistant``."""
    content: str | list[AssistantBlock]
    """Text, or content blocks."""


class SystemTurn(AnthropicModel):
    """Instructions inside the conversation."""

    role: Literal["system"]
    """Always ``system``."""
    content: str | list[TextBlock]
    """Text, or text blocks."""


Turn = Annotated[UserTurn | AssistantTurn | SystemTurn, Field(discriminator="role")]
