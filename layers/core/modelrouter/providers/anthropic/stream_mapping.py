"""A Messages API stream to the provider stream events; pure, no I/O.

The events, each an SSE event whose data carries its ``type``:

* ``message_start``: the message's id, model and usage so far (input and cache tokens);
* ``content_block_start``: a ``text`` block, or a ``tool_use`` block → a :class:`ToolCallDelta`
  with its id and name and empty arguments (its index counts the ``tool_use`` blocks only);
* ``content_block_delta``: ``text_delta`` → :class:`TextDelta`; ``input_json_delta`` → a
  :class:`ToolCallDelta` with the ``partial_json`` fragment; thinking deltas are left out;
* ``content_block_stop``: a tool call whose input never streamed gets ``{}``, as a complete
  answer's would;
* ``message_delta``: the stop reason (mapped as for a complete answer) and the output tokens;
* ``message_stop`` → the :class:`StreamEnd`; ``ping`` and unknown events are ignored; ``error`` →
  the mapped provider error.

With a forced JSON tool (the JSON-schema answer mode), that tool's input fragments are the answer
text (:class:`TextDelta`) and its stop is ``stop``, as :func:`~.mapping.parse_response` makes them.
A call of a custom tool comes whole, as a custom call, when its block ends (:class:`ToolBlocks`).
A stream that ends without ``message_stop`` was cut off (:class:`MalformedResponseError`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from modelrouter.providers.anthropic.errors import error_from_event
from modelrouter.providers.anthropic.mapping import PROVIDER, finish_reason_of, usage_of
from modelrouter.providers.errors import MalformedResponseError
from modelrouter.providers.sse import SseEvent, json_data
from modelrouter.providers.tool_blocks import ToolBlocks
from modelrouter.providers.types import StreamEnd, StreamEvent, TextDelta, Usage

__all__ = ["MessageEventReader"]


class MessageEventReader:
    """Turns the Messages API's stream events into provider stream events, one SSE event at a time."""

    def __init__(
        self,
        *,
        json_tool: str | None = None,
        default_model: str = "",
        secrets: tuple[str, ...] = (),
        custom_tools: frozenset[str] = frozenset(),
    ) -> None:
        """``json_tool`` names the forced JSON tool; ``secrets`` are kept out of error messages;
        ``custom_tools`` names the request's custom tools."""
        self._tools = ToolBlocks(json_tool, custom_tools)
        self._model = default_model
        self._secrets = secrets
        self._response_id: str | None = None
        self._usage: Usage | None = None
        self._stop_reason: str | None = None
        self.finished = False
        """True once ``message_stop`` was read: the last event returned was the :class:`StreamEnd`."""

    def read(self, event: SseEvent) -> list[StreamEvent]:
        """The events of one SSE event.

        Raises:
            ProviderError: an ``error`` event, mapped.
            MalformedResponseError: data that is not a JSON object, or a tool call without id or name.
        """
        if self.finished:
            return []
        data = json_data(event, PROVIDER)
        kind = data.get("type") or event.event
        if kind == "error":
            raise error_from_event(data, secrets=self._secrets)
        if kind == "message_start" and isinstance(data.get("message"), dict):
            self._start(data["message"])
        elif kind == "content_block_start" and isinstance(data.get("content_block"), dict):
            return self._block_start(_index(data), data["content_block"])
        elif kind == "content_block_delta" and isinstance(data.get("delta"), dict):
            return self._delta(_index(data), data["delta"])
        elif kind == "content_block_stop":
            return self._tools.stop(_index(data))
        elif kind == "message_delta":
            self._message_delta(data)
        elif kind == "message_stop":
            self.finished = True
            return [self._end()]
        return []

    def end_of_stream(self) -> StreamEnd:
        """The stream ended without ``message_stop``.

        Raises:
            MalformedResponseError: always: the answer was cut off.
        """
        raise MalformedResponseError("stream ended without message_stop", provider=PROVIDER)

    def _start(self, message: dict[str, Any]) -> None:
        if isinstance(message.get("id"), str) and message["id"]:
            self._response_id = message["id"]
        if isinstance(message.get("model"), str) and message["model"]:
            self._model = message["model"]
        if isinstance(message.get("usage"), dict):
            self._usage = usage_of(message["usage"])

    def _block_start(self, index: int, block: dict[str, Any]) -> list[StreamEvent]:
        if block.get("type") == "text" and isinstance(block.get("text"), str) and block["text"]:
            return [TextDelta(block["text"])]
        if block.get("type") != "tool_use":
            return []
        call_id, name = block.get("id"), block.get("name")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise MalformedResponseError(f"tool_use block {index} has no id or name", provider=PROVIDER)
        return self._tools.start(index, call_id, name)

    def _delta(self, index: int, delta: dict[str, Any]) -> list[StreamEvent]:
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
            return [TextDelta(delta["text"])]
        fragment = delta.get("partial_json")
        if kind != "input_json_delta" or not isinstance(fragment, str):
            return []
        return self._tools.fragment(index, fragment)

    def _message_delta(self, data: dict[str, Any]) -> None:
        delta = data.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
            self._stop_reason = delta["stop_reason"]
        usage = data.get("usage")
        if isinstance(usage, dict):  # cumulative counts: they replace what message_start said
            known = self._usage or Usage()
            latest = usage_of(usage)
            self._usage = replace(
                known,
                **{
                    name: getattr(latest, name)
                    for name, key in _USAGE_KEYS.items()
                    if isinstance(usage.get(key), int)
                },
            )

    def _end(self) -> StreamEnd:
        finish = finish_reason_of(self._stop_reason, self._tools.calls > 0)
        if self._tools.answered and finish == "tool_calls":
            finish = "stop"
        return StreamEnd(
            finish_reason=finish,
            usage=self._usage,
            reported_model=self._model,
            response_id=self._response_id,
        )


_USAGE_KEYS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_tokens": "cache_read_input_tokens",
    "cache_write_tokens": "cache_creation_input_tokens",
}
""":class:`Usage` fields and the Messages API usage keys they are read from."""


def _index(data: dict[str, Any]) -> int:
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise MalformedResponseError("content block event without an index", provider=PROVIDER)
    return index
