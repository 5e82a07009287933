"""The loop every provider stream runs: provider events in, provider stream events out; no I/O.

Each provider has a pure reader that translates its own events (SSE events, Bedrock's parsed event
dicts) one at a time; :func:`translate` drives it over the events as they arrive and releases the
connection as soon as the terminal event is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from modelrouter.providers.types import StreamEnd, StreamEvent

__all__ = ["EventReader", "translate"]

_E_contra = TypeVar("_E_contra", contravariant=True)
_E = TypeVar("_E")


class EventReader(Protocol[_E_contra]):
    """A provider's pure translation of its stream's events into provider stream events."""

    finished: bool
    """True once the provider's terminal event was read (the last events returned end with a
    :class:`StreamEnd`)."""

    def read(self, event: _E_contra) -> list[StreamEvent]:
        """The provider stream events of one event; raise a ``ProviderError`` for an error event."""
        ...

    def end_of_stream(self) -> StreamEnd:
        """The events ended before the terminal one: the end if that is still a clean end, else raise."""
        ...


def translate(
    events: Iterator[_E], reader: EventReader[_E], close: Callable[[], object]
) -> Iterator[StreamEvent]:
    """The provider stream events of ``events``, as ``reader`` translates them.

    ``close`` (closing the response) is called as soon as the terminal event is read, before the
    :class:`StreamEnd` is yielded, and whatever way iteration stops (``close()``, an error).
    """
    try:
        for event in events:
            produced = reader.read(event)
            if reader.finished:
                close()
            yield from produced
            if reader.finished:
                return
        yield reader.end_of_stream()
    finally:
        close()
