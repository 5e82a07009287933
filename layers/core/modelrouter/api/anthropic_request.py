"""Anthropic's Messages request (``POST /v1/messages``), validated strictly.

The fields are those of the pinned ``anthropic`` package's ``MessageCreateParams`` (and
``MessageCountTokensParams``), plus ``temperature``, ``top_p`` and ``top_k``, which Claude Code and
older SDKs still send, plus ``context_management`` and ``mcp_servers`` (Claude Code's beta calls). An
unknown field is a 400, as it is on Anthropic's API and on the router's OpenAI path. The turns and
content blocks are :mod:`modelrouter.api.anthropic_content`.

Each model declares in :attr:`AnthropicModel.IGNORED` the fields it accepts but the router cannot
honour; :func:`ignored_fields` lists the ones a request gave a value, for the response's
``router.ignored_fields``. Translation into the router's request is :mod:`modelrouter.api.anthropic_format`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from modelrouter.api.anthropic_content import AnthropicModel, CacheControl, TextBlock, Turn

__all__ = [
    "MAX_METADATA_KEYS",
    "MAX_STOP_SEQUENCES",
    "CountTokensRequest",
    "JsonOutputFormat",
    "MessagesRequest",
    "OutputConfig",
    "ServerTool",
    "Thinking",
    "ThinkingEnabled",
    "Tool",
    "ToolChoice",
    "ToolChoiceAny",
    "ToolChoiceAuto",
    "ToolChoiceNone",
    "ToolChoiceTool",
    "ignored_fields",
]

MAX_STOP_SEQUENCES = 4
"""At most this many ``stop_sequences``: the most every provider kind accepts (OpenAI's limit)."""
MAX_METADATA_KEYS = 16
"""At most this many ``metadata`` keys (the router's limit on its OpenAI path)."""
MAX_USER_ID_CHARS = 256
"""``metadata.user_id`` longer than this is refused (the router's ``user`` limit)."""
TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
"""Tool names every provider kind accepts."""
SERVER_TOOL_TYPE = r"^[a-z][a-z0-9_]*_\d{8}$"
"""Versioned server tool types (``web_search_20250305``): accepted, dropped and reported."""


class Tool(AnthropicModel):
    """A client tool the model may call."""

    IGNORED = frozenset(
        {"cache_control", "defer_loading", "input_examples", "allowed_callers", "eager_input_streaming"}
    )
    name: str = Field(pattern=TOOL_NAME_PATTERN)
    """Tool name: letters, digits, ``_`` and ``-``, at most 64."""
    input_schema: dict[str, Any]
    """JSON Schema of the tool's input."""
    description: str | None = None
    """What the tool does, for the model."""
    type: Literal["custom"] | None = None
    """``custom`` or absent."""
    strict: bool | None = None
    """Structured-outputs flag, passed on where supported."""
    cache_control: CacheControl | None = None
    """Prompt-cache breakpoint (ignored)."""
    defer_loading: bool | None = None
    """Tool-search deferral (ignored)."""
    input_examples: list[dict[str, Any]] | None = None
    """Example inputs (ignored)."""
    allowed_callers: list[str] | None = None
    """Who may call the tool (ignored)."""
    eager_input_streaming: bool | None = None
    """Fine-grained input streaming (ignored)."""


class ServerTool(BaseModel):
    """A tool Anthropic's servers run (web search, code execution …): no model behind the router has it,
    so it is dropped and reported."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    type: str = Field(pattern=SERVER_TOOL_TYPE)
    """The server tool's versioned type, e.g. ``web_search_20250305``."""
    name: str
    """Its name."""


def _tool_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "custom" if kind in {None, "custom"} else "server"


AnyTool = Annotated[
    Annotated[Tool, Tag("custom")] | Annotated[ServerTool, Tag("server")], Discriminator(_tool_kind)
]


class _ToolChoiceBase(AnthropicModel):
    disable_parallel_tool_use: bool | None = None
    """At most one tool call in the answer."""


class ToolChoiceAuto(_ToolChoiceBase):
    """The model decides whether to call a tool."""

    type: Literal["auto"]
    """Always ``auto``."""


class ToolChoiceAny(_ToolChoiceBase):
    """The model must call some tool."""

    type: Literal["any"]
    """Always ``any``."""


class ToolChoiceTool(_ToolChoiceBase):
    """The model must call the named tool."""

    type: Literal["tool"]
    """Always ``tool``."""
    name: str
    """The tool."""


class ToolChoiceNone(AnthropicModel):
    """The model must not call tools."""

    type: Literal["none"]
    """Always ``none``."""


ToolChoice = Annotated[
    ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone, Field(discriminator="type")
]


class ThinkingEnabled(AnthropicModel):
    """Extended thinking with a token budget."""

    type: Literal["enabled"]
    """Always ``enabled``."""
    budget_tokens: int = Field(ge=1024)
    """Tokens the model may think with (at least 1,024)."""
    display: Literal["summarized", "omitted"] | None = None
    """How thinking is shown."""


class ThinkingAdaptive(AnthropicModel):
    """The model decides how much to think."""

    type: Literal["adaptive"]
    """Always ``adaptive``."""
    display: Literal["summarized", "omitted"] | None = None
    """How thinking is shown."""


class ThinkingOther(AnthropicModel):
    """Thinking off, or only between tool calls."""

    type: Literal["disabled", "between_tools"]
    """``disabled`` or ``between_tools``."""


Thinking = Annotated[ThinkingEnabled | ThinkingAdaptive | ThinkingOther, Field(discriminator="type")]


class JsonOutputFormat(AnthropicModel):
    """Structured output: the answer is JSON following a schema."""

    type: Literal["json_schema"]
    """Always ``json_schema``."""
    schema_: dict[str, Any] = Field(alias="schema")
    """The JSON Schema, under the key ``schema``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class OutputConfig(AnthropicModel):
    """Output options."""

    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    """How much effort the model puts in (mapped to ``reasoning_effort``)."""
    format: JsonOutputFormat | None = None
    """The answer's JSON Schema (mapped to ``response_format``)."""


class CountTokensRequest(AnthropicModel):
    """``POST /v1/messages/count_tokens``: the conversation whose size is estimated."""

    IGNORED = frozenset({"cache_control", "speed", "user_profile_id", "workspace_id", "context_management",
                         "mcp_servers"})  # fmt: skip
    model: str = Field(min_length=1)
    """``auto`` (the policy decides), a route name, or a model id, where the policy allows pinning."""
    messages: list[Turn] = Field(min_length=1)
    """The conversation; at least one turn."""
    system: str | list[TextBlock] | None = None
    """System prompt: text, or text blocks."""
    tools: list[AnyTool] | None = None
    """Tools the model may call."""
    tool_choice: ToolChoice | None = None
    """Whether and which tool the model must call."""
    thinking: Thinking | None = None
    """Extended thinking."""
    output_config: OutputConfig | None = None
    """Output options."""
    cache_control: CacheControl | None = None
    """Top-level prompt-cache breakpoint (ignored)."""
    speed: Literal["standard", "fast"] | None = None
    """Inference speed mode (ignored)."""
    user_profile_id: str | None = None
    """Attribution to a user profile (ignored)."""
    workspace_id: str | None = None
    """Anthropic workspace (ignored)."""
    context_management: dict[str, Any] | None = None
    """Server-side context editing (Claude Code's beta calls; ignored)."""
    mcp_servers: list[dict[str, Any]] | None = None
    """Remote MCP servers (beta; ignored)."""

    @field_validator("tool_choice")
    @classmethod
    def _named_tool_is_offered(cls, value: Any, info: Any) -> Any:
        if isinstance(value, ToolChoiceTool):
            names = {tool.name for tool in info.data.get("tools") or () if isinstance(tool, Tool)}
            if value.name not in names:
                raise ValueError(f"tool_choice names '{value.name}', which is not in tools")
        return value


class MessagesRequest(CountTokensRequest):
    """``POST /v1/messages``: a conversation to answer."""

    IGNORED = CountTokensRequest.IGNORED | {"top_k", "service_tier", "inference_geo", "container",
                                            "diagnostics"}  # fmt: skip
    max_tokens: int = Field(ge=1)
    """Upper bound on answer tokens (required, as on Anthropic's API; at least 1)."""
    metadata: dict[str, str | None] | None = Field(default=None, max_length=MAX_METADATA_KEYS)
    """``user_id`` (the end user, stored hashed) and routing metadata: string values."""
    stop_sequences: list[str] | None = Field(default=None, max_length=MAX_STOP_SEQUENCES)
    """Text that ends the answer (at most four)."""
    stream: bool = False
    """Answer as server-sent events."""
    temperature: float | None = Field(default=None, ge=0, le=1)
    """Sampling temperature (0 to 1)."""
    top_p: float | None = Field(default=None, gt=0, le=1)
    """Nucleus sampling."""
    top_k: int | None = Field(default=None, ge=0)
    """Top-k sampling (no equivalent; ignored)."""
    service_tier: Literal["auto", "standard_only"] | None = None
    """Anthropic's capacity tier (ignored)."""
    inference_geo: str | None = None
    """Anthropic's inference region (ignored: residency comes from the policy)."""
    container: str | dict[str, Any] | None = None
    """Code-execution container (ignored)."""
    diagnostics: dict[str, Any] | None = None
    """Prompt-cache diagnostics (ignored)."""

    @field_validator("metadata")
    @classmethod
    def _user_id_fits(cls, value: dict[str, str | None] | None) -> dict[str, str | None] | None:
        user_id = (value or {}).get("user_id")
        if user_id is not None and len(user_id) > MAX_USER_ID_CHARS:
            raise ValueError(f"user_id is longer than {MAX_USER_ID_CHARS} characters")
        return value


def ignored_fields(model: BaseModel, path: str = "") -> Iterator[str]:
    """The paths (``top_k``, ``messages[].content[].cache_control``) of every field in ``model`` that was
    given a value other than its default but is in its class's :attr:`AnthropicModel.IGNORED`."""
    ignored: frozenset[str] = getattr(model, "IGNORED", frozenset())
    for name in sorted(model.model_fields_set):
        value = getattr(model, name)
        where = f"{path}.{name}" if path else name
        if name in ignored:
            if value is not None and value != type(model).model_fields[name].default:
                yield where
            continue
        yield from _ignored_in(value, where)


def _ignored_in(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        yield from ignored_fields(value, path)
    elif isinstance(value, list):
        for item in value:
            yield from _ignored_in(item, f"{path}[]")
