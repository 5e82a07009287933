"""A ``converse_stream`` event stream to the provider stream events; pure, no boto3.

The events, as botocore parses them (one-key dicts):

* ``messageStart``: nothing to pass on;
* ``contentBlockStart`` with ``start.toolUse`` → a :class:`ToolCallDelta` with its ``toolUseId`` and
  ``name`` and empty arguments (its index counts the tool-use blocks only);
* ``contentBlockDelta``: ``delta.text`` → :class:`TextDelta`; ``delta.toolUse.input`` → a
  :class:`ToolCallDelta` with that input fragment; reasoning and citation deltas are left out;
* ``contentBlockStop``: a tool call whose input never streamed gets ``{}``, as in a complete answer;
* ``messageStop``: the stop reason, mapped by :func:`~.mapping.finish_reason_of` (a malformed-output
  stop raises :class:`MalformedResponseError` there);
* ``metadata`` (after ``messageStop``): usage with cache read/write tokens and ``metrics.latencyMs``
  → the :class:`StreamEnd`.

With the forced schema tool (the JSON-schema answer mode), that tool's input fragments are the
answer text and its stop is ``stop``, as :func:`~.mapping.from_converse_response` makes them; a
custom tool's call comes whole when its block ends. A
stream that ends after ``messageStop`` without ``metadata`` ends cleanly without usage; one that ends
before ``messageStop`` was cut off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelrouter.providers.bedrock.error_mapping import PROVIDER, error_from_client_error
from modelrouter.providers.bedrock.mapping import finish_reason_of, forced_schema_tool, usage_of
from modelrouter.providers.errors import MalformedResponseError
from modelrouter.providers.tool_blocks import ToolBlocks
from modelrouter.providers.types import FinishReason, ProviderCall, StreamEnd, StreamEvent, TextDelta, Usage
from modelrouter.request_tools import custom_tool_names

__all__ = ["EXCEPTION_EVENTS", "ConverseStreamReader"]
EXCEPTION_EVENTS = frozenset(
    {
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "serviceUnavailableException",
    }
)
"""The exception events of ``ConverseStream`` (botocore raises them; a parsed one is mapped too)."""


class ConverseStreamReader:
    """Turns ``converse_stream`` events into provider stream events, one event at a time."""

    def __init__(self, call: ProviderCall, response_id: str | None = None) -> None:
        """``response_id`` is the request id of the ``converse_stream`` response."""
        self._tools = ToolBlocks(forced_schema_tool(call.request), custom_tool_names(call.request.tools))
        self._model = call.model.model_id
        self._response_id = response_id
        self._stop_reason: str | None = None
        self.finished = False
        """True once ``metadata`` after ``messageStop`` was read: the :class:`StreamEnd` was returned."""

    def read(self, event: Mapping[str, Any]) -> list[StreamEvent]:
        """The provider stream events of one parsed event.

        Raises:
            ProviderError: an exception event, mapped like a ``converse`` error.
            MalformedResponseError: a malformed-output stop, or a tool use without id or name.
        """
        if self.finished:
            return []
        for name in EXCEPTION_EVENTS & event.keys():
            body = event[name] if isinstance(event[name], Mapping) else {}
            raise error_from_client_error(name, str(body.get("message", "")), None)
        if isinstance(start := event.get("contentBlockStart"), Mapping):
            return self._block_start(_index(start), start.get("start"))
        if isinstance(delta := event.get("contentBlockDelta"), Mapping):
            return self._delta(_index(delta), delta.get("delta"))
        if isinstance(stop := event.get("contentBlockStop"), Mapping):
            return self._tools.stop(_index(stop))
        if isinstance(message_stop := event.get("messageStop"), Mapping):
            self._stop_reason = str(message_stop.get("stopReason", ""))
            self._finish()  # raises now for a malformed-output stop
        elif isinstance(metadata := event.get("metadata"), Mapping) and self._stop_reason is not None:
            self.finished = True
            return [self._end(metadata)]
        return []

    def end_of_stream(self) -> StreamEnd:
        """The stream ended without ``metadata``: its end when ``messageStop`` came.

        Raises:
            MalformedResponseError: no ``messageStop`` came.
        """
        if self._stop_reason is None:
            raise MalformedResponseError("Bedrock stream ended without messageStop", provider=PROVIDER)
        self.finished = True
        return self._end({})

    def _block_start(self, index: int, start: Any) -> list[StreamEvent]:
        use = start.get("toolUse") if isinstance(start, Mapping) else None
        if not isinstance(use, Mapping):
            return []
        use_id, name = use.get("toolUseId"), use.get("name")
        if not isinstance(use_id, str) or not isinstance(name, str):
            raise MalformedResponseError(f"tool use block {index} has no id or name", provider=PROVIDER)
        return self._tools.start(index, use_id, name)

    def _delta(self, index: int, delta: Any) -> list[StreamEvent]:
        if not isinstance(delta, Mapping):
            return []
        if isinstance(delta.get("text"), str) and delta["text"]:
            return [TextDelta(delta["text"])]
        use = delta.get("toolUse")
        fragment = use.get("input") if isinstance(use, Mapping) else None
        return self._tools.fragment(index, fragment) if isinstance(fragment, str) else []

    def _finish(self) -> FinishReason:
        tools = self._tools
        return finish_reason_of(self._stop_reason or "", tool_calls=tools.calls > 0, answered=tools.answered)

    def _end(self, metadata: Mapping[str, Any]) -> StreamEnd:
        usage: Usage | None = usage_of(metadata["usage"]) if "usage" in metadata else None
        metrics = metadata.get("metrics")
        latency = metrics.get("latencyMs") if isinstance(metrics, Mapping) else None
        return StreamEnd(
            finish_reason=self._finish(),
            usage=usage,
            reported_model=self._model,
            response_id=self._response_id,
            provider_latency_ms=float(latency) if isinstance(latency, int | float) else None,
        )


def _index(event: Mapping[str, Any]) -> int:
    index = event.get("contentBlockIndex")
    if not isinstance(index, int) or isinstance(index, bool):
        raise MalformedResponseError("content block event without contentBlockIndex", provider=PROVIDER)
    return index
