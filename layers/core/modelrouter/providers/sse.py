"""Server-sent events (``text/event-stream``) from bytes as they arrive; pure, no I/O.

Follows the WHATWG HTML "event stream interpretation": lines end with CRLF, LF or CR (a CR at the
end of one chunk and an LF at the start of the next are one line end); a leading byte-order mark is
dropped; ``:`` lines are comments; ``event:`` names the event; ``data:`` lines are joined by
newlines; ``id:`` is kept; one space after the colon is not part of the value; other fields are
ignored; an empty line dispatches the event (none without data). At the end of the stream an event
without its closing empty line is discarded, as the standard says. UTF-8 characters split across
chunks are decoded whole; invalid bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from modelrouter.providers.errors import MalformedResponseError

__all__ = ["DEFAULT_EVENT", "SseEvent", "SseParser", "iter_events", "json_data"]

DEFAULT_EVENT = "message"
"""The event name of an event without an ``event:`` field."""

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event."""

    data: str
    """The ``data:`` lines joined by newlines."""
    event: str = DEFAULT_EVENT
    """The ``event:`` field, or ``message``."""
    id: str | None = None
    """The last ``id:`` seen so far in the stream, if any."""


class SseParser:
    """Incremental parser: :meth:`feed` bytes in any chunking, get the events they complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """The events completed by ``chunk`` (often none, sometimes several)."""
        text = self._decoder.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        self._buffer += text
        return self._drain(final=False)

    def finish(self) -> list[SseEvent]:
        """The end of the stream: the events still complete; an event not closed by an empty line
        (and an unterminated last line) is discarded."""
        self._buffer += self._decoder.decode(b"", final=True)
        events = self._drain(final=True)
        self._buffer, self._event, self._data = "", "", []
        return events

    def _drain(self, *, final: bool) -> list[SseEvent]:
        events: list[SseEvent] = []
        buffer, position = self._buffer, 0
        while (end := _LINE_END.search(buffer, position)) is not None:
            if not final and end.group() == "\r" and end.end() == len(buffer):
                break  # the LF of a CRLF may come in the next chunk
            event = self._line(buffer[position : end.start()])
            position = end.end()
            if event is not None:
                events.append(event)
        self._buffer = buffer[position:]
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event = self._data, self._event
        self._event, self._data = "", []
        if not data:
            return None
        return SseEvent(data="\n".join(data), event=event or DEFAULT_EVENT, id=self._last_id)


def iter_events(chunks: Iterable[bytes]) -> Iterator[SseEvent]:
    """The events of a stream of byte chunks, each as soon as its closing empty line arrives."""
    parser = SseParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.finish()


def json_data(event: SseEvent, provider: str) -> dict[str, Any]:
    """The event's data as a JSON object.

    Raises:
        MalformedResponseError: the data is not JSON, or not an object.
    """
    try:
        data = json.loads(event.data)
    except ValueError:
        raise MalformedResponseError("stream event is not JSON", provider=provider) from None
    if not isinstance(data, dict):
        raise MalformedResponseError("stream event is not a JSON object", provider=provider)
    return data
