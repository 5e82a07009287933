"""Tools in a chat request: function and custom tools, and the calls an assistant made.

Part of :mod:`modelrouter.request` (which re-exports every name here). Shapes are those of the pinned
``openai`` package: function tools, custom (free-form input) tools, and the deprecated ``functions`` /
``function_call`` pair; tool choices are in :mod:`modelrouter.request_tool_choice`.

A custom tool takes one string instead of a JSON object. Where a provider only knows function tools
it is offered as a function of one string argument, ``input`` (:data:`CUSTOM_INPUT_KEY`), with the
grammar, if any, in its description: :attr:`CustomTool.function` is that view, and
:attr:`CustomToolCall.function` the matching view of a call, so code that reads tools and calls as
functions (token estimates, personal-data scans, providers) reads custom ones the same way.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator

from modelrouter.jsonlimits import MAX_SCHEMA_DEPTH, json_depth
from modelrouter.request_parts import StrictModel

__all__ = [
    "CUSTOM_INPUT_KEY",
    "AnyTool",
    "AnyToolCall",
    "CustomCall",
    "CustomTool",
    "CustomToolCall",
    "CustomToolSpec",
    "FunctionCall",
    "FunctionCallOption",
    "FunctionDefinition",
    "LegacyFunction",
    "ToolCall",
    "ToolDefinition",
    "custom_tool_names",
]

CUSTOM_INPUT_KEY = "input"
"""The one argument of a custom tool offered as a function."""

_NAME = r"^[a-zA-Z0-9_-]{1,64}$"


def _schema_within_depth(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and json_depth(value, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
        raise ValueError(f"JSON Schema nested deeper than {MAX_SCHEMA_DEPTH} levels")
    return value


class LegacyFunction(StrictModel):
    """A function of the deprecated ``functions`` list."""

    name: str = Field(pattern=_NAME)
    """Function name: letters, digits, ``_`` and ``-``, at most 64."""
    description: str | None = None
    """What the function does, for the model."""
    parameters: dict[str, Any] | None = None
    """JSON Schema of the arguments (at most :data:`~modelrouter.jsonlimits.MAX_SCHEMA_DEPTH` deep)."""

    _parameters_depth = field_validator("parameters")(_schema_within_depth)


class FunctionDefinition(LegacyFunction):
    """A function the model may call."""

    strict: bool | None = None
    """OpenAI structured-outputs flag, passed through where supported."""


class ToolDefinition(StrictModel):
    """A function tool offered to the model."""

    type: Literal["function"]
    """Always ``function``."""
    function: FunctionDefinition
    """The function."""


class CustomFormatText(StrictModel):
    """Unconstrained free-form text input."""

    type: Literal["text"]
    """Always ``text``."""


class Grammar(StrictModel):
    """A grammar the input must follow."""

    definition: str
    """The grammar."""
    syntax: Literal["lark", "regex"]
    """How the grammar is written."""


class CustomFormatGrammar(StrictModel):
    """Input constrained by a grammar."""

    type: Literal["grammar"]
    """Always ``grammar``."""
    grammar: Grammar
    """The grammar."""


class CustomToolSpec(StrictModel):
    """A custom tool: a name, a description and the format of its one string input."""

    name: str = Field(pattern=_NAME)
    """Tool name: letters, digits, ``_`` and ``-``, at most 64."""
    description: str | None = None
    """What the tool does, for the model."""
    format: Annotated[CustomFormatText | CustomFormatGrammar, Field(discriminator="type")] | None = None
    """Free text (the default) or a grammar."""


class CustomTool(StrictModel):
    """A custom tool offered to the model: it is called with one string, not a JSON object."""

    type: Literal["custom"]
    """Always ``custom``."""
    custom: CustomToolSpec
    """The tool."""

    @property
    def function(self) -> FunctionDefinition:
        """This tool as a function of one string argument, ``input`` (for providers without custom
        tools); a grammar is stated in the description."""
        spec = self.custom
        notes = [spec.description] if spec.description else []
        if isinstance(spec.format, CustomFormatGrammar):
            grammar = spec.format.grammar
            notes.append(
                f"`{CUSTOM_INPUT_KEY}` must match this {grammar.syntax} grammar:\n{grammar.definition}"
            )
        schema = {
            "type": "object",
            "properties": {CUSTOM_INPUT_KEY: {"type": "string"}},
            "required": [CUSTOM_INPUT_KEY],
        }
        return FunctionDefinition(name=spec.name, description="\n\n".join(notes) or None, parameters=schema)


def _kind(value: Any) -> str:
    """The ``type`` of a tool or tool call, raw or parsed (``function`` when a raw call omits it)."""
    if isinstance(value, dict):
        kind = value.get("type", "function")
        return kind if isinstance(kind, str) else ""
    return str(getattr(value, "type", ""))


AnyTool = Annotated[
    Annotated[ToolDefinition, Tag("function")] | Annotated[CustomTool, Tag("custom")], Discriminator(_kind)
]
"""A function or custom tool."""


class FunctionCall(StrictModel):
    """The function an assistant asked to call, with JSON-encoded arguments."""

    name: str
    """Function name."""
    arguments: str
    """Arguments as a JSON string, exactly as the model produced them."""


class ToolCall(StrictModel):
    """A function tool call made by the assistant in an earlier turn."""

    id: str
    """Identifier the matching tool message refers to."""
    type: Literal["function"] = "function"
    """Always ``function``."""
    function: FunctionCall
    """The call."""


class CustomCall(StrictModel):
    """The custom tool an assistant called, with its input."""

    name: str
    """Tool name."""
    input: str
    """The input, as the model produced it."""


class CustomToolCall(StrictModel):
    """A custom tool call made by the assistant in an earlier turn."""

    id: str
    """Identifier the matching tool message refers to."""
    type: Literal["custom"]
    """Always ``custom``."""
    custom: CustomCall
    """The call."""

    @property
    def function(self) -> FunctionCall:
        """This call as a function call whose arguments are ``{"input": <input>}``."""
        arguments = json.dumps({CUSTOM_INPUT_KEY: self.custom.input}, ensure_ascii=False)
        return FunctionCall(name=self.custom.name, arguments=arguments)


AnyToolCall = Annotated[
    Annotated[ToolCall, Tag("function")] | Annotated[CustomToolCall, Tag("custom")], Discriminator(_kind)
]
"""A function or custom tool call."""


class FunctionCallOption(StrictModel):
    """Forces a call of one function (deprecated ``function_call``)."""

    name: str
    """Function name."""


def custom_tool_names(tools: list[ToolDefinition | CustomTool] | None) -> frozenset[str]:
    """The names of the custom tools among ``tools``."""
    return frozenset(tool.custom.name for tool in tools or () if isinstance(tool, CustomTool))
