"""The normalized chat request: OpenAI's Chat Completions shape, validated.

This is the one internal contract every provider maps from, so prompts and tool contracts stay the
same whichever model answers. Unknown fields are rejected (as OpenAI does) so that a typo never
silently changes behaviour, and types are strict (as OpenAI's are): ``"100"`` or ``true`` is not a
``max_tokens``. Use :func:`parse_chat_request` to turn untrusted JSON into a :class:`ChatRequest`; it
raises :class:`~modelrouter.errors.InvalidRequestError` naming the field. Untrusted input stays inside:
nesting is limited, lone surrogates are refused, and images are only ``https:`` URLs or ``data:`` URIs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from modelrouter.errors import InvalidRequestError
from modelrouter.jsonlimits import MAX_REQUEST_DEPTH, MAX_SCHEMA_DEPTH, json_depth, json_value_problems
from modelrouter.problems import Problem, problems_from_validation_error
from modelrouter.request_messages import (
    AssistantMessage,
    DeveloperMessage,
    ImagePart,
    Message,
    StrictModel,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)

__all__ = [
    "AssistantMessage",
    "ChatRequest",
    "DeveloperMessage",
    "FunctionDefinition",
    "ImagePart",
    "JsonSchemaSpec",
    "Message",
    "ResponseFormat",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolDefinition",
    "ToolMessage",
    "UserMessage",
    "parse_chat_request",
]


def _schema_within_depth(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and json_depth(value, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
        raise ValueError(f"JSON Schema nested deeper than {MAX_SCHEMA_DEPTH} levels")
    return value


class FunctionDefinition(StrictModel):
    """A function the model may call."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    """Function name: letters, digits, ``_`` and ``-``, at most 64."""
    description: str | None = None
    """What the function does, for the model."""
    parameters: dict[str, Any] | None = None
    """JSON Schema of the arguments (at most :data:`~modelrouter.jsonlimits.MAX_SCHEMA_DEPTH` deep)."""
    strict: bool | None = None
    """OpenAI structured-outputs flag, passed through where supported."""

    _parameters_depth = field_validator("parameters")(_schema_within_depth)


class ToolDefinition(StrictModel):
    """A tool (function) offered to the model."""

    type: Literal["function"]
    """Always ``function``."""
    function: FunctionDefinition
    """The function."""


class NamedToolChoiceFunction(StrictModel):
    """Names the function the model must call."""

    name: str
    """Function name."""


class NamedToolChoice(StrictModel):
    """Forces a call of one named function."""

    type: Literal["function"]
    """Always ``function``."""
    function: NamedToolChoiceFunction
    """Which function."""


class JsonSchemaSpec(StrictModel):
    """The schema an answer must follow (``response_format.json_schema``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    """Schema name."""
    description: str | None = None
    """What the answer is for."""
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    """The JSON Schema (Draft 2020-12) itself, under the key ``schema``; at most
    :data:`~modelrouter.jsonlimits.MAX_SCHEMA_DEPTH` deep (its size and references are checked when
    it is compiled: :func:`~modelrouter.checks.json_answer.compile_schema`)."""
    strict: bool | None = None
    """OpenAI structured-outputs flag."""

    _schema_depth = field_validator("json_schema")(_schema_within_depth)


class ResponseFormatText(StrictModel):
    """Plain text answers (the default)."""

    type: Literal["text"]
    """Always ``text``."""


class ResponseFormatJsonObject(StrictModel):
    """Any JSON object."""

    type: Literal["json_object"]
    """Always ``json_object``."""


class ResponseFormatJsonSchema(StrictModel):
    """A JSON answer that must validate against a schema."""

    type: Literal["json_schema"]
    """Always ``json_schema``."""
    json_schema: JsonSchemaSpec
    """The schema."""


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJsonObject | ResponseFormatJsonSchema, Field(discriminator="type")
]


class StreamOptions(StrictModel):
    """Options for streamed responses."""

    include_usage: bool | None = None
    """Send a final chunk with token usage."""


class ChatRequest(StrictModel):
    """A chat completion request, as an OpenAI client sends it."""

    model: str = Field(default="auto", min_length=1)
    """``auto`` (the policy decides), a route name, or a model id, where the policy allows pinning."""
    messages: list[Message] = Field(min_length=1)
    """The conversation so far; at least one message."""
    tools: list[ToolDefinition] | None = None
    """Tools the model may call."""
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    """Whether and which tool the model must call."""
    parallel_tool_calls: bool | None = None
    """Allow several tool calls in one turn."""
    response_format: ResponseFormat | None = None
    """Text, any JSON object, or JSON following a schema."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Upper bound on answer tokens."""
    max_completion_tokens: int | None = Field(default=None, ge=1)
    """OpenAI's newer name for ``max_tokens``; the smaller of the two applies."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature."""
    top_p: float | None = Field(default=None, gt=0, le=1)
    """Nucleus sampling."""
    stop: str | list[str] | None = None
    """Up to four stop sequences."""
    stream: bool = False
    """Return server-sent events."""
    stream_options: StreamOptions | None = None
    """Streaming options."""
    n: int = Field(default=1, ge=1, le=1)
    """Number of choices; only 1 is supported (an int: ``true`` and ``1.0`` are not accepted)."""
    seed: int | None = None
    """Sampling seed, where the provider supports one."""
    user: str | None = Field(default=None, max_length=256)
    """End-user identifier (stored hashed, never raw)."""
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Passed through where supported."""
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Passed through where supported."""
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    """Routing metadata: ``data_classification``, ``region``, ``tags`` (comma-separated), and free keys."""

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @model_validator(mode="after")
    def _tool_choice_needs_tools(self) -> ChatRequest:
        if isinstance(self.tool_choice, NamedToolChoice):
            names = {tool.function.name for tool in self.tools or ()}
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"tool_choice names '{self.tool_choice.function.name}', which is not in tools"
                )
        return self

    @property
    def answer_token_limit(self) -> int | None:
        """The requested upper bound on answer tokens (``max_tokens`` / ``max_completion_tokens``)."""
        limits = [limit for limit in (self.max_tokens, self.max_completion_tokens) if limit is not None]
        return min(limits) if limits else None

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The answer's JSON Schema, when ``response_format`` asks for one."""
        if isinstance(self.response_format, ResponseFormatJsonSchema):
            return self.response_format.json_schema.json_schema or {}
        return None

    def iter_texts(self) -> Iterator[tuple[int, str]]:
        """Yield ``(message index, text)`` for every message that has text."""
        for index, message in enumerate(self.messages):
            text = message.text()
            if text:
                yield index, text

    def last_user_text(self) -> str:
        """The text of the latest user message: what the current turn asks for."""
        for message in reversed(self.messages):
            if isinstance(message, UserMessage):
                return message.text()
        return ""


def parse_chat_request(body: bytes | str | Mapping[str, Any]) -> ChatRequest:
    """Validate an untrusted request body into a :class:`ChatRequest`.

    Raises:
        InvalidRequestError: the body is not JSON, not an object, nested deeper than
            :data:`~modelrouter.jsonlimits.MAX_REQUEST_DEPTH`, has a string with a lone surrogate, or
            does not validate; the error's ``problems`` name each field at fault (``messages[1].role``).
    """
    too_deep = Problem("", f"request body is nested deeper than {MAX_REQUEST_DEPTH} levels")
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InvalidRequestError([Problem("", f"request body is not valid JSON: {error}")]) from None
        except RecursionError:  # the decoder recursed out of stack: far deeper than the limit
            raise InvalidRequestError([too_deep]) from None
    if not isinstance(body, Mapping):
        raise InvalidRequestError([Problem("", "request body must be a JSON object")])
    problems = json_value_problems(body, max_depth=MAX_REQUEST_DEPTH, what="request body")
    if problems:
        raise InvalidRequestError(problems)
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as error:
        raise InvalidRequestError(problems_from_validation_error(error)) from None
