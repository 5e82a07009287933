"""The AWS event-stream encoder: botocore's own decoder reads what it writes."""

from __future__ import annotations

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer, EventStreamMessage
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.local.eventstream import encode_event, encode_exception, encode_message


def decoded(data: bytes) -> list[EventStreamMessage]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_an_event_decodes_with_its_headers_and_json_payload() -> None:
    # Given an encoded event with non-ASCII text
    data = encode_event("contentBlockDelta", {"delta": {"text": "Grüße"}, "contentBlockIndex": 0})

    # When botocore decodes it
    [message] = decoded(data)

    # Then the headers and payload are as written, and it is an event (status 200)
    assert message.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert message.payload == '{"delta":{"text":"Grüße"},"contentBlockIndex":0}'.encode()
    assert message.to_response_dict()["status_code"] == 200


def test_an_exception_decodes_as_an_error_message() -> None:
    # Given an encoded exception
    data = encode_exception("throttlingException", "Too many tokens, please wait.")

    # When botocore decodes it
    [message] = decoded(data)

    # Then it names its type and message, and botocore treats it as an error (status 400)
    assert message.headers[":exception-type"] == "throttlingException"
    assert message.headers[":message-type"] == "exception"
    assert message.payload == b'{"message":"Too many tokens, please wait."}'
    assert message.to_response_dict()["status_code"] == 400


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=20), st.dictionaries(st.text(max_size=8), st.text(max_size=40))
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=1, max_value=64),
)
def test_messages_in_a_row_decode_whatever_the_chunking(
    events: list[tuple[str, dict[str, str]]], chunk_size: int
) -> None:
    # Given several encoded events in one byte stream, fed in chunks of any size
    data = b"".join(encode_event(name, payload) for name, payload in events)
    buffer = EventStreamBuffer()
    messages: list[EventStreamMessage] = []
    for start in range(0, len(data), chunk_size):
        buffer.add_data(data[start : start + chunk_size])
        messages.extend(buffer)

    # Then every one decodes, in order
    assert [m.headers[":event-type"] for m in messages] == [name for name, _ in events]


def test_a_corrupted_byte_fails_the_checksum() -> None:
    # Given an encoded message with one payload byte changed
    data = bytearray(encode_message({":message-type": "event"}, b"payload"))
    data[-6] ^= 0xFF

    # When botocore decodes it, then the message checksum catches it
    with pytest.raises(ChecksumMismatch):
        decoded(bytes(data))


def test_oversized_header_values_are_refused() -> None:
    # Given a header value longer than the protocol allows, when it is encoded, then it is refused
    with pytest.raises(ValueError, match="exceeds"):
        encode_message({":event-type": "x" * 40_000}, b"")
