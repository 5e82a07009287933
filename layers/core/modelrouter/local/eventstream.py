"""AWS event-stream binary messages (``application/vnd.amazon.eventstream``), encoded; pure, no I/O.

What Bedrock's ``ConverseStream`` answers with, so local mode's simulated Bedrock can stream to a real
``bedrock-runtime`` client. One message is::

    total length (uint32) | headers length (uint32) | CRC32 of those 8 bytes (uint32)
    headers: name length (uint8) | name | type 7 = string | value length (uint16) | value   (repeated)
    payload | CRC32 of everything before it (uint32)

all big-endian. Only string headers are written: they are all the protocol's ``:event-type``,
``:exception-type``, ``:content-type`` and ``:message-type`` need.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONTENT_TYPE",
    "MAX_HEADER_VALUE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "encode_event",
    "encode_exception",
    "encode_message",
]

CONTENT_TYPE = "application/vnd.amazon.eventstream"
"""The HTTP ``content-type`` of an event stream."""
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
"""The protocol's (and botocore's) largest payload."""
MAX_HEADER_VALUE_BYTES = 32_767
"""The largest string header value (a signed 16-bit length)."""

_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_STRING = 7
"""Header value type of a UTF-8 string."""
_JSON = "application/json"


def encode_event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """An ``event`` message of type ``event_type`` (``messageStart``, ``contentBlockDelta`` …) whose
    payload is ``payload`` as JSON."""
    headers = {":event-type": event_type, ":content-type": _JSON, ":message-type": "event"}
    return encode_message(headers, _json(payload))


def encode_exception(exception_type: str, message: str) -> bytes:
    """An ``exception`` message (``throttlingException``, ``modelStreamErrorException`` …) saying
    ``message``."""
    headers = {":exception-type": exception_type, ":content-type": _JSON, ":message-type": "exception"}
    return encode_message(headers, _json({"message": message}))


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One framed message with string ``headers`` (in their order) and ``payload``.

    Raises:
        ValueError: a header name over 255 bytes, a value over :data:`MAX_HEADER_VALUE_BYTES`, or a
            payload over :data:`MAX_PAYLOAD_BYTES`.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = _PRELUDE.pack(_PRELUDE.size + _CRC.size + len(encoded) + len(payload) + _CRC.size, len(encoded))
    message = prelude + _CRC.pack(zlib.crc32(prelude)) + encoded + payload
    return message + _CRC.pack(zlib.crc32(message))


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    if not 0 < len(name_bytes) <= 255:
        raise ValueError(f"header name {name!r} must be 1 to 255 bytes")
    if len(value_bytes) > MAX_HEADER_VALUE_BYTES:
        raise ValueError(f"header {name!r} value exceeds {MAX_HEADER_VALUE_BYTES} bytes")
    return (
        struct.pack(">B", len(name_bytes))
        + name_bytes
        + struct.pack(">BH", _STRING, len(value_bytes))
        + value_bytes
    )


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
