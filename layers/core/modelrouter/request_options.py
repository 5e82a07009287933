"""The option objects of a chat request: answer format, streaming, audio, prediction, web search,
moderation and prompt caching.

Part of :mod:`modelrouter.request` (which re-exports every name here). Shapes are those of the pinned
``openai`` package's ``CompletionCreateParamsBase``; ``tests/unit/test_openai_sdk_fields.py`` keeps
them in step with it. Which provider honours which option is declared next to each provider's
mapping (``HONOURED_FIELDS``) and listed in ``docs/api.md``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from modelrouter.jsonlimits import MAX_SCHEMA_DEPTH, json_depth
from modelrouter.request_parts import StrictModel, TextPart

__all__ = [
    "MAX_LOGIT_BIAS",
    "MAX_METADATA_KEYS",
    "MAX_TOP_LOGPROBS",
    "ApproximateLocation",
    "AudioOutput",
    "JsonSchemaSpec",
    "LogitBias",
    "Metadata",
    "Moderation",
    "ModerationMode",
    "ModerationPolicy",
    "Prediction",
    "PromptCacheOptions",
    "ReasoningEffort",
    "ResponseFormat",
    "ResponseFormatJsonObject",
    "ResponseFormatJsonSchema",
    "ResponseFormatText",
    "ServiceTier",
    "StreamOptions",
    "UserLocation",
    "VoiceId",
    "WebSearchOptions",
]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
"""How much a reasoning model should think."""
ServiceTier = Literal["auto", "default", "flex", "scale", "priority", "fast"]
"""OpenAI's processing tiers."""
MAX_METADATA_KEYS = 16
"""OpenAI's limit on ``metadata`` pairs."""
MAX_LOGIT_BIAS = 100
"""The largest ``logit_bias`` value (and the smallest is its negative)."""
MAX_TOP_LOGPROBS = 20
"""The most alternatives ``top_logprobs`` may ask for."""


def _token_biases(value: dict[str, int]) -> dict[str, int]:
    for token, bias in value.items():
        if not token.isdigit():
            raise ValueError(f"logit_bias keys are token ids (digits), not {token[:20]!r}")
        if not -MAX_LOGIT_BIAS <= bias <= MAX_LOGIT_BIAS:
            raise ValueError(f"logit_bias values are from -{MAX_LOGIT_BIAS} to {MAX_LOGIT_BIAS}")
    return value


LogitBias = Annotated[dict[str, int], AfterValidator(_token_biases)]
"""Token id (digits, as a string) to a bias from -100 to 100."""
Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]],
    Field(max_length=MAX_METADATA_KEYS),
]
"""At most 16 pairs of strings: keys up to 64 characters, values up to 512 (OpenAI's rule)."""


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

    @field_validator("json_schema")
    @classmethod
    def _schema_depth(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and json_depth(value, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
            raise ValueError(f"JSON Schema nested deeper than {MAX_SCHEMA_DEPTH} levels")
        return value


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
"""Text, any JSON object, or JSON following a schema."""


class StreamOptions(StrictModel):
    """Options for streamed responses."""

    include_usage: bool | None = None
    """Send a final chunk with token usage."""
    include_obfuscation: bool | None = None
    """OpenAI's random padding of stream events; the router sends none, whatever this says."""


class VoiceId(StrictModel):
    """A custom voice, by id."""

    id: str
    """The voice's id."""


class AudioOutput(StrictModel):
    """How to speak an audio answer (``audio``)."""

    format: Literal["wav", "aac", "mp3", "flac", "opus", "pcm16"]
    """The audio format."""
    voice: str | VoiceId
    """A built-in voice by name, or a custom voice by id."""


class Prediction(StrictModel):
    """Predicted output: text the answer is expected to repeat largely (``prediction``)."""

    type: Literal["content"]
    """Always ``content``."""
    content: str | list[TextPart]
    """The predicted text, or text parts."""


class ApproximateLocation(StrictModel):
    """Where the user roughly is."""

    city: str | None = None
    """City, free text."""
    country: str | None = None
    """Two-letter ISO country code."""
    region: str | None = None
    """Region, free text."""
    timezone: str | None = None
    """IANA time zone."""


class UserLocation(StrictModel):
    """The user's approximate location, for web search."""

    type: Literal["approximate"]
    """Always ``approximate``."""
    approximate: ApproximateLocation
    """The location."""


class WebSearchOptions(StrictModel):
    """Web search by the model (``web_search_options``; OpenAI search models)."""

    search_context_size: Literal["low", "medium", "high"] | None = None
    """How much of the context window search results may use."""
    user_location: UserLocation | None = None
    """Where the user roughly is."""


class ModerationMode(StrictModel):
    """What moderation does with one side of the exchange."""

    mode: Literal["score", "block"]
    """Only score, or block what is flagged."""


class ModerationPolicy(StrictModel):
    """Moderation of the input and of the output."""

    input: ModerationMode | None = None
    """For the request's input."""
    output: ModerationMode | None = None
    """For the generated output."""


class Moderation(StrictModel):
    """Moderation run by the provider on the request and its answer (``moderation``)."""

    model: str = Field(min_length=1)
    """The moderation model, e.g. ``omni-moderation-latest``."""
    policy: ModerationPolicy | None = None
    """What to do with input and output."""


class PromptCacheOptions(StrictModel):
    """Prompt caching options (``prompt_cache_options``)."""

    mode: Literal["implicit", "explicit"] | None = None
    """Whether the provider adds an implicit breakpoint."""
    ttl: Literal["30m"] | None = None
    """The least time cached prefixes live."""
