"""Image type and pixel dimensions from the first bytes of a PNG, GIF, JPEG or WebP file; pure.

Nothing is decoded past the header: PNG's ``IHDR``, GIF's logical screen, WebP's ``VP8``/``VP8L``/
``VP8X`` chunk, and for JPEG the markers up to the first start-of-frame (``SOFn``), within the prefix
given (:data:`JPEG_SCAN_BYTES`) and at most :data:`MAX_JPEG_SEGMENTS` segments: past either the
dimensions are unknown. Claimed sizes are clamped to :data:`MAX_IMAGE_SIDE`; a zero side is unknown.
Every reader takes any bytes (truncated, hostile) and answers None rather than raising.
"""

from __future__ import annotations

import re
import struct
from typing import Final

__all__ = [
    "IMAGE_HEADER_BYTES",
    "JPEG",
    "JPEG_SCAN_BYTES",
    "MAX_IMAGE_SIDE",
    "MAX_JPEG_SEGMENTS",
    "image_dimensions",
    "sniff_image",
]

IMAGE_HEADER_BYTES: Final = 32
"""Bytes that hold the type and dimensions of a PNG, GIF or WebP file (WebP's VP8 frame header ends
at byte 30)."""
JPEG_SCAN_BYTES: Final = 256 * 1024
"""How far into a JPEG file its start-of-frame is looked for: past the Exif, ICC and XMP segments a
camera or editor writes first (each at most 64 KiB). Beyond it the dimensions are unknown."""
MAX_JPEG_SEGMENTS: Final = 1_024
"""JPEG segments read before giving up (a real file has a few dozen before its frame header)."""
MAX_IMAGE_SIDE: Final = 65_535
"""The largest side believed, in pixels: JPEG's and WebP's limit, beyond what any provider accepts. A
header that claims more (PNG allows 2³¹ - 1) is clamped to it, so one forged header cannot claim
exapixels."""
JPEG: Final = "image/jpeg"
"""The media type of a JPEG file."""

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_GIF_SIGNATURES: Final = (b"GIF87a", b"GIF89a")
_JPEG_SIGNATURE: Final = b"\xff\xd8\xff"
_VP8_START_CODE: Final = b"\x9d\x01\x2a"
_VP8L_SIGNATURE: Final = 0x2F
_VP8L_SIDE_BITS: Final = 14
_VP8_SIDE_MASK: Final = 0x3FFF
_JPEG_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0–7: no length follows
_JPEG_END: Final = frozenset({0xD9, 0xDA})  # EOI, SOS: past the headers without a frame
_JPEG_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC are not frames
_JPEG_FILL: Final = re.compile(rb"\xff+")
_JPEG_SEGMENT_MIN: Final = 2  # a segment's length counts its own two bytes

Dimensions = tuple[int | None, int | None]


def sniff_image(head: bytes) -> str | None:
    """The media type ``head`` (a file's first bytes) starts like: PNG, GIF, JPEG or WebP; else None."""
    if head.startswith(_PNG_SIGNATURE):
        return "image/png"
    if head.startswith(_GIF_SIGNATURES):
        return "image/gif"
    if head.startswith(_JPEG_SIGNATURE):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_dimensions(media_type: str, data: bytes) -> Dimensions | None:
    """Width and height in pixels from the header of an image of ``media_type`` (from
    :func:`sniff_image`) starting ``data``; None when the header is cut short or malformed."""
    reader = _READERS.get(media_type)
    try:
        found = reader(data) if reader is not None else None
    except (struct.error, IndexError):
        return None
    if found is None:
        return None
    width, height = found
    return _side(width), _side(height)


def _side(pixels: int) -> int | None:
    return min(pixels, MAX_IMAGE_SIDE) if pixels > 0 else None


def _png(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _gif(data: bytes) -> tuple[int, int] | None:
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == _VP8_START_CODE:
        width, height = struct.unpack("<HH", data[26:30])
        return width & _VP8_SIDE_MASK, height & _VP8_SIDE_MASK
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == _VP8L_SIGNATURE:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & _VP8_SIDE_MASK) + 1, ((bits >> _VP8L_SIDE_BITS) & _VP8_SIDE_MASK) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    """Walk the segments from after SOI to the first frame header; bounded by ``data`` and a count."""
    at = 2
    for _ in range(MAX_JPEG_SEGMENTS):
        fill = _JPEG_FILL.match(data, at)
        if fill is None or fill.end() >= len(data):
            return None
        marker, at = data[fill.end()], fill.end() + 1
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            return width, height
        if marker in _JPEG_END or marker == 0:
            return None
        if marker in _JPEG_STANDALONE:
            continue
        (length,) = struct.unpack(">H", data[at : at + 2])
        if length < _JPEG_SEGMENT_MIN:
            return None
        at += length
    return None


_READERS = {"image/png": _png, "image/gif": _gif, JPEG: _jpeg, "image/webp": _webp}
