"""What every provider adapter takes and returns: one contract whichever model answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import ProviderKind
from modelrouter.request import ChatRequest

__all__ = ["FinishReason", "Provider", "ProviderCall", "ProviderResult", "ResultToolCall", "Usage"]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


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
    """Longest wait for the first byte of the answer (and between bytes); None: ``timeout_s``."""


@dataclass(frozen=True, slots=True)
class ResultToolCall:
    """A tool call in the answer, OpenAI-shaped."""

    id: str
    """Tool call id."""
    name: str
    """Function name."""
    arguments: str
    """Arguments as a JSON string."""


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


class Provider(Protocol):
    """A provider adapter: maps the contract to one API and back. Implementations do the I/O."""

    kind: ProviderKind
    """The provider kind this adapter serves."""

    def complete(self, call: ProviderCall) -> ProviderResult:
        """Call the model; raise a :class:`~modelrouter.providers.errors.ProviderError` on failure."""
        ...
