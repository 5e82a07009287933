"""The normalized chat request: OpenAI's Chat Completions shape, validated.

This is the one internal contract every provider maps from, so prompts and tool contracts stay the
same whichever model answers. Unknown fields are rejected (as OpenAI does) so that a typo never
silently changes behaviour, and types are strict (as OpenAI's are): ``"100"`` or ``true`` is not a
``max_tokens``. Use :func:`parse_chat_request` to turn untrusted JSON into a :class:`ChatRequest`; it
raises :class:`~modelrouter.errors.InvalidRequestError` naming the field. Untrusted input stays inside:
nesting is limited, lone surrogates are refused, and images are only ``https:`` URLs or ``data:`` URIs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal, TypeVar

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from modelrouter.errors import InvalidRequestError
from modelrouter.jsonlimits import load_request_object
from modelrouter.problems import Problem, problems_from_validation_error
from modelrouter.request_legacy import legacy_problem, modernized
from modelrouter.request_messages import (
    AssistantAudio,
    AssistantMessage,
    CustomToolCall,
    DeveloperMessage,
    FilePart,
    FunctionMessage,
    ImagePart,
    ImageUrl,
    InputAudioPart,
    Message,
    RefusalPart,
    StrictModel,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from modelrouter.request_options import (
    MAX_TOP_LOGPROBS,
    AudioOutput,
    JsonSchemaSpec,
    LogitBias,
    Metadata,
    Moderation,
    Prediction,
    PromptCacheOptions,
    ReasoningEffort,
    ResponseFormat,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    ResponseFormatText,
    ServiceTier,
    StreamOptions,
    WebSearchOptions,
)
from modelrouter.request_tool_choice import (
    AllowedToolsChoice,
    NamedCustomToolChoice,
    NamedToolChoice,
    ToolChoice,
    ToolUse,
    tool_choice_problem,
    tool_use,
)
from modelrouter.request_tools import (
    AnyTool,
    CustomTool,
    FunctionCallOption,
    FunctionDefinition,
    LegacyFunction,
    ToolDefinition,
)

__all__ = [
    "AllowedToolsChoice",
    "AssistantAudio",
    "AssistantMessage",
    "ChatRequest",
    "CustomTool",
    "CustomToolCall",
    "DeveloperMessage",
    "FilePart",
    "FunctionDefinition",
    "FunctionMessage",
    "ImagePart",
    "ImageUrl",
    "InputAudioPart",
    "JsonSchemaSpec",
    "Message",
    "NamedCustomToolChoice",
    "NamedToolChoice",
    "RefusalPart",
    "RequestBody",
    "ResponseFormat",
    "ResponseFormatJsonObject",
    "ResponseFormatJsonSchema",
    "ResponseFormatText",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolDefinition",
    "ToolMessage",
    "ToolUse",
    "UserMessage",
    "parse_chat_request",
]

PartT = TypeVar("PartT")
"""A content part type, for :meth:`ChatRequest.content_parts`."""

MAX_STOP_SEQUENCES = 4
"""OpenAI's limit on ``stop`` sequences."""


class ChatRequest(StrictModel):
    """A chat completion request, as an OpenAI client sends it: every field of the pinned ``openai``
    package's ``chat.completions.create``. Which provider honours which field: ``docs/api.md``."""

    model: str = Field(default="auto", min_length=1)
    """``auto`` (the policy decides), a route name, or a model id, where the policy allows pinning."""
    messages: list[Message] = Field(min_length=1)
    """The conversation so far; at least one message."""
    tools: list[AnyTool] | None = None
    """Function and custom tools the model may call."""
    tool_choice: ToolChoice | None = None
    """Whether and which tool the model must call."""
    parallel_tool_calls: bool | None = None
    """Allow several tool calls in one turn."""
    functions: list[LegacyFunction] | None = None
    """Deprecated ``tools``: offered as function tools."""
    function_call: Literal["none", "auto"] | FunctionCallOption | None = None
    """Deprecated ``tool_choice``: applied as one."""
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
    """Return server-sent events (``null`` is ``false``)."""
    stream_options: StreamOptions | None = None
    """Streaming options."""
    n: int = Field(default=1, ge=1, le=1)
    """Number of choices; only 1 is supported (an int: ``true`` and ``1.0`` are not; ``null`` is 1)."""
    seed: int | None = None
    """Sampling seed, where the provider supports one."""
    user: str | None = Field(default=None, max_length=256)
    """End-user identifier; providers that take one get it hashed, never raw."""
    safety_identifier: str | None = Field(default=None, max_length=128)
    """A stable (ideally hashed) end-user id for the provider's abuse detection."""
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Passed through where supported."""
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Passed through where supported."""
    logit_bias: LogitBias | None = None
    """Token id (as a string) to a bias from -100 to 100."""
    logprobs: bool | None = None
    """Return the log probabilities of the answer's tokens."""
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    """How many most likely alternatives to return per token (needs ``logprobs: true``)."""
    reasoning_effort: ReasoningEffort | None = None
    """How much a reasoning model should think; mapped to thinking budgets where that is how a
    provider says it."""
    verbosity: Literal["low", "medium", "high"] | None = None
    """How long the answer should be."""
    service_tier: ServiceTier | None = None
    """The provider's processing tier."""
    store: bool | None = None
    """Whether the provider stores the completion (for its distillation and evals products)."""
    modalities: list[Literal["text", "audio"]] | None = None
    """Output types; the router answers with text only."""
    audio: AudioOutput | None = None
    """Voice and format of an audio answer; the router answers with text only."""
    prediction: Prediction | None = None
    """Predicted output, to speed up answers that repeat much of it."""
    prompt_cache_key: str | None = None
    """Groups requests that share a prompt prefix in the provider's cache."""
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    """Deprecated: the longest time the provider may keep cached prefixes."""
    prompt_cache_options: PromptCacheOptions | None = None
    """Prompt caching options."""
    web_search_options: WebSearchOptions | None = None
    """Web search by the model (OpenAI search models)."""
    moderation: Moderation | None = None
    """Moderation by the provider of input and output."""
    metadata: Metadata | None = None
    """Routing metadata: ``data_classification``, ``region``, ``tags`` (comma-separated), and free keys;
    string values only, as OpenAI's. Near misses of the routing keys are reported in
    ``router.ignored_fields``."""

    _legacy_answer: bool = PrivateAttr(default=False)
    _overridden: frozenset[str] = PrivateAttr(default=frozenset())
    _sent: frozenset[str] | None = PrivateAttr(default=None)

    @field_validator("stream", "n", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any, info: Any) -> Any:
        if value is None:
            return cls.model_fields[info.field_name].default
        return value

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ChatRequest:
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs: needs logprobs: true")
        if legacy := legacy_problem(self):
            raise ValueError(f"{legacy[0]}: {legacy[1]}")
        if problem := tool_choice_problem(self.tools, self.tool_choice):
            raise ValueError(problem)
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _modernize(cls, data: Any, handler: Any) -> ChatRequest:
        request: ChatRequest = handler(data)
        return modernized(request)

    @property
    def tool_use(self) -> ToolUse:
        """The tools the model may call this turn and the choice, for providers without
        ``allowed_tools`` (the choice narrows the list)."""
        return tool_use(self.tools, self.tool_choice)

    @property
    def legacy_functions(self) -> bool:
        """Whether the request offers the deprecated ``functions`` and no tools of its own: its answer
        then uses ``function_call``."""
        return self._legacy_answer

    @property
    def sent_fields(self) -> frozenset[str]:
        """The fields the client sent (not those the router derived from them, such as the tools of
        ``functions``)."""
        return self._sent if self._sent is not None else frozenset(self.model_fields_set)

    @property
    def overridden(self) -> frozenset[str]:
        """Fields the client sent that another field overrides: ``function_call`` beside ``tool_choice``."""
        return self._overridden

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

    def content_parts(self, kind: type[PartT]) -> Iterator[PartT]:
        """Every content part of type ``kind`` (``ImagePart``, ``FilePart`` …) across the messages, in
        order."""
        for message in self.messages:
            content = getattr(message, "content", None)
            if isinstance(content, list):
                yield from (part for part in content if isinstance(part, kind))

    def last_user_text(self) -> str:
        """The text of the latest user message: what the current turn asks for."""
        for message in reversed(self.messages):
            if isinstance(message, UserMessage):
                return message.text()
        return ""


RequestBody = bytes | str | Mapping[str, Any]
"""A request body: raw JSON, or a JSON object already parsed (the Anthropic request's translation)."""


def parse_chat_request(body: RequestBody) -> ChatRequest:
    """Validate an untrusted request body into a :class:`ChatRequest`.

    Raises:
        InvalidRequestError: the body is not JSON, not an object, nested deeper than
            :data:`~modelrouter.jsonlimits.MAX_REQUEST_DEPTH`, has a string with a lone surrogate, or
            does not validate; the error's ``problems`` name each field at fault (``messages[1].role``).
    """
    body = load_request_object(body)
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as error:
        raise InvalidRequestError([_located(p) for p in problems_from_validation_error(error)]) from None


def _located(problem: Problem) -> Problem:
    """A whole-request problem whose message starts with the field at fault (``tool_choice: …``), at
    that field."""
    field, colon, message = problem.message.partition(": ")
    if problem.path or not colon or field not in ChatRequest.model_fields:
        return problem
    return Problem(field, message, problem.line)
