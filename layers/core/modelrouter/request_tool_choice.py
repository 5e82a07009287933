"""Tool choices: by mode, by name, or as an ``allowed_tools`` subset; and the tools a provider offers.

Part of :mod:`modelrouter.request` (which re-exports every name here). Providers without
``allowed_tools`` or custom tool choices read :func:`tool_use`: the tools the model may call this turn
and whether one must be called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from modelrouter.request_parts import StrictModel
from modelrouter.request_tools import CustomTool, ToolDefinition

__all__ = [
    "AllowedTools",
    "AllowedToolsChoice",
    "NamedCustomToolChoice",
    "NamedToolChoice",
    "NamedToolChoiceFunction",
    "ToolChoice",
    "ToolUse",
    "tool_choice_problem",
    "tool_use",
]


class NamedToolChoiceFunction(StrictModel):
    """Names a function."""

    name: str
    """Function name."""


class NamedToolChoice(StrictModel):
    """Forces a call of one named function."""

    type: Literal["function"]
    """Always ``function``."""
    function: NamedToolChoiceFunction
    """Which function."""

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.function.name


class NamedCustomToolChoice(StrictModel):
    """Forces a call of one named custom tool."""

    type: Literal["custom"]
    """Always ``custom``."""
    custom: NamedToolChoiceFunction
    """Which custom tool."""

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.custom.name


class AllowedTools(StrictModel):
    """A subset of the tools the model may use this turn."""

    mode: Literal["auto", "required"]
    """``auto``: may call one of them; ``required``: must."""
    tools: list[Annotated[NamedToolChoice | NamedCustomToolChoice, Field(discriminator="type")]] = Field(
        min_length=1
    )
    """The allowed tools, by type and name."""


class AllowedToolsChoice(StrictModel):
    """Restricts this turn to some of the tools (the others stay in the prompt, for caching)."""

    type: Literal["allowed_tools"]
    """Always ``allowed_tools``."""
    allowed_tools: AllowedTools
    """Which tools, and whether one must be called."""


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[NamedToolChoice | NamedCustomToolChoice | AllowedToolsChoice, Field(discriminator="type")]
)
"""Whether and which tool the model must call."""


@dataclass(frozen=True, slots=True)
class ToolUse:
    """A request's tools as a provider without ``allowed_tools`` or custom tools needs them."""

    tools: tuple[ToolDefinition | CustomTool, ...]
    """The tools the model may call this turn (an ``allowed_tools`` choice narrows them)."""
    mode: Literal["auto", "required", "none"] | None
    """Whether a tool must be called; None: the provider's default."""
    name: str | None = None
    """The one tool that must be called, if the choice names one."""


def tool_use(tools: list[ToolDefinition | CustomTool] | None, choice: ToolChoice | None) -> ToolUse:
    """The tools offered and the choice, with ``allowed_tools`` applied to the list."""
    offered = tuple(tools or ())
    if isinstance(choice, AllowedToolsChoice):
        allowed = {(ref.type, ref.name) for ref in choice.allowed_tools.tools}
        narrowed = tuple(tool for tool in offered if (tool.type, tool.function.name) in allowed)
        return ToolUse(narrowed, choice.allowed_tools.mode)
    if isinstance(choice, NamedToolChoice | NamedCustomToolChoice):
        return ToolUse(offered, "required", choice.name)
    return ToolUse(offered, choice)


def tool_choice_problem(
    tools: list[ToolDefinition | CustomTool] | None, choice: ToolChoice | None
) -> str | None:
    """Why ``choice`` does not fit ``tools`` (it names a tool that is not offered), or None."""
    offered = {(tool.type, tool.function.name) for tool in tools or ()}
    if isinstance(choice, AllowedToolsChoice):
        named = [(ref.type, ref.name) for ref in choice.allowed_tools.tools]
    elif isinstance(choice, NamedToolChoice | NamedCustomToolChoice):
        named = [(choice.type, choice.name)]
    else:
        return None
    missing = [f"{kind} '{name}'" for kind, name in named if (kind, name) not in offered]
    if missing:
        return f"tool_choice: names {', '.join(missing)}, which is not in tools"
    return None
