"""An OpenAI-compatible Chat Completions stream to the provider stream events; pure, no I/O.

The stream is ``chat.completion.chunk`` objects, one per SSE ``data:`` payload, ended by
``data: [DONE]``. Read here:

* ``choices[0].delta.content`` → :class:`TextDelta` (with the chunk's ``logprobs.content``, when the
  request asked for them); ``delta.tool_calls[i]`` → :class:`ToolCallDelta` (a custom tool's
  ``custom.input`` fragments as a custom call's)
  (the first piece of a call carries its id, ``call_<n>`` when the server sends none, and its name;
  later pieces carry argument fragments; servers that send a call's arguments as an object, such as
  Ollama, get them as JSON text; a piece without ``index`` starts a new call when it names one);
* ``finish_reason`` mapped as for a complete answer, a refusal without text is ``content_filter``;
* the usage chunk (``choices: []``, sent because of ``stream_options.include_usage``) → the
  :class:`StreamEnd`'s usage, normalized as for a complete answer;
* ``model`` and ``id`` of the chunks → ``reported_model`` and ``response_id``;
* an ``{"error": …}`` payload → the mapped provider error.

A stream that ends without ``[DONE]`` after a ``finish_reason`` ended cleanly (some compatible
servers omit it); one that ends with neither was cut off (:class:`MalformedResponseError`).
"""

from __future__ import annotations

import json
from typing import Any

from modelrouter.providers.errors import MalformedResponseError
from modelrouter.providers.openai.errors import error_from_event
from modelrouter.providers.openai.mapping import PROVIDER, finish_reason_of, request_body, usage_of
from modelrouter.providers.sse import SseEvent, json_data
from modelrouter.providers.types import (
    ProviderCall,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolKind,
    Usage,
)

__all__ = ["DONE", "ChunkReader", "stream_request_body"]

DONE = "[DONE]"
"""The data of the event that ends an OpenAI stream."""


def stream_request_body(call: ProviderCall) -> dict[str, Any]:
    """The Chat Completions body for streaming ``call``: the complete call's, with usage at the end."""
    return {**request_body(call), "stream": True, "stream_options": {"include_usage": True}}


class ChunkReader:
    """Turns the stream's events into provider stream events, one SSE event at a time."""

    def __init__(self, *, default_model: str = "", secrets: tuple[str, ...] = ()) -> None:
        """``default_model`` is reported when no chunk names one; ``secrets`` are kept out of errors."""
        self._default_model = default_model
        self._secrets = secrets
        self._model = ""
        self._response_id: str | None = None
        self._finish: str | None = None
        self._usage: Usage | None = None
        self._calls: dict[int, int] = {}
        self._kinds: dict[int, ToolKind] = {}
        self._unindexed = 0
        self._last_key: int | None = None
        self._texts = 0
        self._refused = False
        self.finished = False
        """True once ``[DONE]`` was read: the last event returned was the :class:`StreamEnd`."""

    def read(self, event: SseEvent) -> list[StreamEvent]:
        """The events of one SSE event (a :class:`StreamEnd` for ``[DONE]``).

        Raises:
            ProviderError: an error payload, mapped.
            MalformedResponseError: a payload that is not a JSON object, or an unreadable tool call.
        """
        if self.finished:
            return []
        if event.data.strip() == DONE:
            self.finished = True
            return [self._end()]
        chunk = json_data(event, PROVIDER)
        if chunk.get("error") is not None or event.event == "error":
            raise error_from_event(chunk, secrets=self._secrets)
        self._note(chunk)
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return []
        choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
        if choice is None:
            return []
        if isinstance(choice.get("finish_reason"), str):
            self._finish = choice["finish_reason"]
        delta = choice.get("delta")
        return self._delta(delta, choice.get("logprobs")) if isinstance(delta, dict) else []

    def end_of_stream(self) -> StreamEnd:
        """The stream ended without ``[DONE]``: its :class:`StreamEnd` when a ``finish_reason`` came.

        Raises:
            MalformedResponseError: neither ``[DONE]`` nor a ``finish_reason`` came.
        """
        if self._finish is None:
            raise MalformedResponseError("stream ended without a finish_reason or [DONE]", provider=PROVIDER)
        self.finished = True
        return self._end()

    def _note(self, chunk: dict[str, Any]) -> None:
        if not self._model and isinstance(chunk.get("model"), str):
            self._model = chunk["model"]
        if self._response_id is None and isinstance(chunk.get("id"), str) and chunk["id"]:
            self._response_id = chunk["id"]
        if isinstance(chunk.get("usage"), dict):
            self._usage = usage_of(chunk["usage"])

    def _delta(self, delta: dict[str, Any], logprobs: Any) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        text = _text(delta.get("content"))
        if text:
            self._texts += 1
            events.append(TextDelta(text, _token_logprobs(logprobs)))
        if delta.get("refusal"):
            self._refused = True
        pieces = delta.get("tool_calls")
        if pieces is not None and not isinstance(pieces, list):
            raise MalformedResponseError("delta.tool_calls is not a list", provider=PROVIDER)
        for piece in pieces or ():
            made = self._tool_piece(piece)
            if made is not None:
                events.append(made)
        return events

    def _tool_piece(self, piece: Any) -> ToolCallDelta | None:
        if not isinstance(piece, dict):
            raise MalformedResponseError("a tool call delta is not an object", provider=PROVIDER)
        kind: ToolKind = "custom" if piece.get("type") == "custom" or "custom" in piece else "function"
        raw_function = piece.get(kind)
        function: dict[str, Any] = raw_function if isinstance(raw_function, dict) else {}
        name, call_id = function.get("name"), piece.get("id")
        key = piece.get("index")
        if not isinstance(key, int) or isinstance(key, bool):
            if name or call_id or self._last_key is None:
                self._unindexed += 1
                key = -self._unindexed  # apart from every index a server sends
            else:
                key = self._last_key
        self._last_key = key
        arguments = _arguments(function.get("input" if kind == "custom" else "arguments"))
        if key in self._calls:
            index = self._calls[key]
            return ToolCallDelta(index, None, None, arguments, self._kinds[index]) if arguments else None
        if not isinstance(name, str) or not name:
            raise MalformedResponseError(
                f"tool call {len(self._calls)} starts without a function name", provider=PROVIDER
            )
        index = self._calls[key] = len(self._calls)
        self._kinds[index] = kind
        given_id = call_id if isinstance(call_id, str) and call_id else f"call_{index}"
        return ToolCallDelta(index, given_id, name, arguments, kind)

    def _end(self) -> StreamEnd:
        finish = finish_reason_of(self._finish, bool(self._calls))
        if self._refused and not self._texts:
            finish = "content_filter"
        return StreamEnd(
            finish_reason=finish,
            usage=self._usage,
            reported_model=self._model or self._default_model,
            response_id=self._response_id,
        )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # a few servers stream text parts
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _arguments(raw: Any) -> str:
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)


def _token_logprobs(raw: Any) -> tuple[dict[str, Any], ...]:
    """The token log probabilities of a chunk's ``logprobs`` (``{"content": [...]}``), if any."""
    content = raw.get("content") if isinstance(raw, dict) else None
    return tuple(item for item in content if isinstance(item, dict)) if isinstance(content, list) else ()
