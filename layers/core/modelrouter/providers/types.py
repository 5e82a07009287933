"""What every provider adapter takes and returns: one contract whichever model answers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import ProviderKind
from modelrouter.request import ChatRequest

__all__ = [
    "FinishReason",
    "Provider",
    "ProviderCall",
    "ProviderResult",
    "ResultToolCall",
    "StreamEnd",
    "StreamEvent",
    "StreamingProvider",
    "TextDelta",
    "ToolCallDelta",
    "ToolKind",
    "Usage",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]
ToolKind = Literal["function", "custom"]
"""A function tool (JSON arguments) or a custom tool (one string of input)."""


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One call to one model."""

    model: ModelSpec
    """The catalog entry: provider model id, endpoint, key reference, capabilities."""
    request: ChatRequest
    """The normalized request (the executor may have appended repair turns)."""
    max_output_tokens: int
    """``max_tokens`` to send (from the decision's candidate)."""
    timeout_s: float
    """Seconds this call may take; adapters must not block longer."""
    request_id: str
    """The router's request id, passed to providers that accept metadata."""
    first_byte_timeout_s: float | None = None
    """Longest wait for the first byte of the answer (and between bytes); None: ``timeout_s``.

    For a stream, ``timeout_s`` bounds the whole stream and this bounds the wait for its first byte
    and every gap between bytes (a stalled stream is a timeout)."""


@dataclass(frozen=True, slots=True)
class ResultToolCall:
    """A tool call in the answer, OpenAI-shaped."""

    id: str
    """Tool call id."""
    name: str
    """Function name."""
    arguments: str
    """Arguments as a JSON string; a custom tool's input as it is."""
    kind: ToolKind = "function"
    """A function or a custom tool's call."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, normalized: ``input_tokens`` excludes cached prompt tokens."""

    input_tokens: int = 0
    """Prompt tokens billed at the normal input price."""
    output_tokens: int = 0
    """Answer tokens."""
    cache_read_tokens: int = 0
    """Prompt tokens read from the provider's prompt cache."""
    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's prompt cache."""


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """A normalized answer."""

    content: str | None
    """Answer text (for JSON-schema requests: the JSON text), or None with only tool calls."""
    tool_calls: tuple[ResultToolCall, ...] = ()
    """Tool calls the model made."""
    finish_reason: FinishReason = "stop"
    """Why the model stopped."""
    usage: Usage = field(default_factory=Usage)
    """Token counts as reported."""
    reported_model: str = ""
    """The model id and version the provider says answered."""
    response_id: str | None = None
    """The provider's response id."""
    provider_latency_ms: float | None = None
    """Latency the provider reported, where it reports one."""
    logprobs: Mapping[str, Any] | None = None
    """The answer's token log probabilities (``choices[0].logprobs``), where asked for and reported."""
    annotations: tuple[Mapping[str, Any], ...] = ()
    """Annotations of the answer's text (web search citations), as the provider sent them."""
    response_fields: Mapping[str, Any] = field(default_factory=dict)
    """Fields of the provider's response returned to the client as they are (``service_tier``,
    ``moderation``)."""


class Provider(Protocol):
    """A provider adapter: maps the contract to one API and back. Implementations do the I/O."""

    kind: ProviderKind
    """The provider kind this adapter serves."""

    def complete(self, call: ProviderCall) -> ProviderResult:
        """Call the model; raise a :class:`~modelrouter.providers.errors.ProviderError` on failure."""
        ...


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text, as the provider streamed it."""

    text: str
    """The new text (never empty)."""
    logprobs: tuple[Mapping[str, Any], ...] = ()
    """The log probabilities of this text's tokens, where asked for and reported."""


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call: the first piece of each call carries its id and name."""

    index: int
    """Position of the tool call in the answer (0, 1, …)."""
    id: str | None
    """Tool call id (first piece only)."""
    name: str | None
    """Function name (first piece only)."""
    arguments: str
    """The next fragment of the arguments' JSON text, or of a custom tool's input (may be empty)."""
    kind: ToolKind = "function"
    """A function or a custom tool's call."""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The stream ended cleanly: always the last event of a stream that did not raise."""

    finish_reason: FinishReason
    """Why the model stopped."""
    usage: Usage | None
    """Token counts the provider reported; None when it reported none."""
    reported_model: str = ""
    """The model id and version the provider says answered."""
    response_id: str | None = None
    """The provider's response id."""
    provider_latency_ms: float | None = None
    """Latency the provider reported, where it reports one (Bedrock's ``metrics.latencyMs``)."""


StreamEvent = TextDelta | ToolCallDelta | StreamEnd
"""What a provider stream yields."""


class StreamingProvider(Protocol):
    """A provider adapter that can stream (every built-in adapter can)."""

    def stream(self, call: ProviderCall) -> Iterator[StreamEvent]:
        """Stream the answer: a generator that sends the request on its first ``next()``.

        It yields :class:`TextDelta` and :class:`ToolCallDelta` events as they arrive and ends with
        exactly one :class:`StreamEnd`. Every failure, before the first event or in the middle of the
        stream, is raised as a :class:`~modelrouter.providers.errors.ProviderError` (an error event
        of the provider's protocol, a broken or stalled connection, a stream that ends without its
        terminal event). ``close()`` stops reading and closes the connection at once; the generator's
        ``finally`` does it whatever way iteration stops.
        """
        ...
