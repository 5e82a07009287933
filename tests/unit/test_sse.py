"""The server-sent events parser: fields, comments, line ends and chunks split anywhere."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from modelrouter.providers.sse import SseEvent, SseParser, iter_events

STREAM = (
    b": a comment first\n"
    b"event: message_start\n"
    b'data: {"type": "message_start"}\n'
    b"\n"
    b"data: first line\n"
    b"data:second line\n"
    b"data:  two spaces keep one\n"
    b"id: 7\n"
    b"retry: 100\n"
    b"unknown: field\n"
    b"\n"
    b"event: ping\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    SseEvent(data='{"type": "message_start"}', event="message_start"),
    SseEvent(data="first line\nsecond line\n two spaces keep one", event="message", id="7"),
    SseEvent(data="[DONE]", event="message", id="7"),
]


def events_of(chunks: list[bytes]) -> list[SseEvent]:
    return list(iter_events(chunks))


def test_fields_comments_and_multi_line_data() -> None:
    # Given a stream with a comment, named events, multi-line data, an id and unknown fields
    # When it is parsed in one chunk
    events = events_of([STREAM])

    # Then comments and unknown fields are ignored, data lines are joined, an event without data is
    # not dispatched, and the id sticks to the following events
    assert events == EXPECTED


def test_crlf_and_cr_line_ends_are_line_ends() -> None:
    # Given the same stream with CRLF line ends, and with CR line ends
    crlf = STREAM.replace(b"\n", b"\r\n")
    cr = STREAM.replace(b"\n", b"\r")

    # When they are parsed, then they mean the same
    assert events_of([crlf]) == EXPECTED
    assert events_of([cr]) == EXPECTED


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    # Given a CR at the end of one chunk and its LF at the start of the next
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]

    # When they are parsed, then no empty line was seen between the two data lines
    assert events_of(chunks) == [SseEvent(data="a\nb")]


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    # Given the stream (with a multi-byte character and CRLF line ends) cut anywhere
    stream = STREAM.replace(b"first", "prémière".encode()).replace(b"\n", b"\r\n")
    bounds = [0, *sorted(cuts), len(stream)]
    chunks = [stream[start:end] for start, end in itertools.pairwise(bounds)]

    # When the chunks are fed one by one
    events = events_of(chunks)

    # Then the events are those of the whole stream, characters intact
    assert events == events_of([stream])
    assert events[1].data.startswith("prémière line")


def test_events_are_dispatched_as_soon_as_their_empty_line_arrives() -> None:
    # Given a parser
    parser = SseParser()

    # When an event arrives in pieces, then it is dispatched on its empty line only
    assert parser.feed(b"data: hel") == []
    assert parser.feed(b"lo\n") == []
    assert parser.feed(b"\ndata: next") == [SseEvent(data="hello")]


def test_an_unfinished_event_at_the_end_is_discarded() -> None:
    # Given a stream whose last event has no closing empty line
    # When it ends, then only the finished event is dispatched
    assert events_of([b"data: done\n\ndata: cut off\n"]) == [SseEvent(data="done")]


def test_a_byte_order_mark_and_a_field_without_colon() -> None:
    # Given a stream starting with a BOM and a bare "data" field (an empty data line)
    stream = "\ufeffdata\ndata: x\n\n".encode()

    # When it is parsed, then the BOM is dropped and the bare field is an empty line of data
    assert events_of([stream]) == [SseEvent(data="\nx")]


def test_invalid_utf8_becomes_replacement_characters() -> None:
    # Given data that is not UTF-8, when it is parsed, then it does not raise
    assert events_of([b"data: \xff\xfe\n\n"]) == [SseEvent(data="\ufffd\ufffd")]
