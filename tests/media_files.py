"""Image and PDF files built by hand (``struct``, ``zlib``), as data URIs and content parts, for the
media feature tests: every header the router reads, at any claimed size, without an image library."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, *, pixels: bool = True) -> bytes:
    """An RGB PNG of ``width`` × ``height`` black pixels; ``pixels=False``: the header only (any size)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    rows = zlib.compress(b"".join(b"\0" + b"\0" * 3 * width for _ in range(height))) if pixels else b""
    return PNG_SIGNATURE + header + (png_chunk(b"IDAT", rows) if pixels else b"") + png_chunk(b"IEND", b"")


def gif(width: int, height: int) -> bytes:
    """A GIF89a whose logical screen is ``width`` × ``height``, with one 1×1 frame."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"  # 2-colour table
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b";"


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    """One JPEG segment: the marker and its length-prefixed payload."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(width: int, height: int, *, frame: int = 0xC0, before_frame: bytes = b"") -> bytes:
    """A greyscale JPEG's headers: JFIF, ``before_frame`` (more segments), the ``frame`` (SOF0
    baseline, SOF2 progressive …) of ``width`` × ``height``, a Huffman table and the scan header."""
    jfif = jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    quant = jpeg_segment(0xDB, b"\0" + bytes(range(1, 65)))
    sof = jpeg_segment(frame, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    huffman = jpeg_segment(0xC4, b"\0" + b"\x01" + b"\0" * 15 + b"\0")
    scan = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + jfif + before_frame + quant + sof + huffman + scan + b"\0\0\xff\xd9"


def riff_webp(chunk: bytes, data: bytes) -> bytes:
    """A WebP file (RIFF container) holding one chunk."""
    body = b"WEBP" + chunk + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8(width: int, height: int) -> bytes:
    """A lossy WebP (``VP8 ``) key frame header of ``width`` × ``height``."""
    frame_tag = b"\x10\x02\x00"  # key frame, version 0, shown, first partition size
    return riff_webp(b"VP8 ", frame_tag + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\0" * 10)


def webp_vp8l(width: int, height: int) -> bytes:
    """A lossless WebP (``VP8L``) header of ``width`` × ``height``."""
    bits = (width - 1) | (height - 1) << 14
    return riff_webp(b"VP8L", b"\x2f" + bits.to_bytes(4, "little") + b"\0" * 6)


def webp_vp8x(width: int, height: int) -> bytes:
    """An extended WebP (``VP8X``) header whose canvas is ``width`` × ``height``."""
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return riff_webp(b"VP8X", b"\x10\0\0\0" + canvas)


def data_uri(media_type: str, data: bytes) -> str:
    """``data`` as a base64 data URI."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def image_part(url: str, detail: str = "auto") -> dict[str, Any]:
    """An OpenAI image content part."""
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}


def file_part(media_type: str, data: bytes, filename: str = "document.pdf") -> dict[str, Any]:
    """An OpenAI file content part with the file inline."""
    return {"type": "file", "file": {"file_data": data_uri(media_type, data), "filename": filename}}


def user_turn(*parts: dict[str, Any], text: str = "Please read this.") -> dict[str, Any]:
    """A chat body of one user message: ``text`` and ``parts``."""
    return {"messages": [{"role": "user", "content": [{"type": "text", "text": text}, *parts]}]}


def pdf(objects: list[bytes], *, filler: bytes = b"", filler_after: int = 1) -> bytes:
    """A PDF of ``objects`` (numbered from 1), with ``filler`` (a comment, say) after the first
    ``filler_after`` of them."""
    written = [b"%d 0 obj\n%s\nendobj\n" % (number, obj) for number, obj in enumerate(objects, 1)]
    body = b"".join(written[:filler_after]) + filler + b"".join(written[filler_after:])
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def page_objects(pages: int, parent: int = 2) -> list[bytes]:
    """``pages`` page objects, children of object ``parent``."""
    return [b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] >>" % parent] * pages


def flat_pdf(pages: int) -> bytes:
    """A PDF whose page tree is one root (object 2) over ``pages`` pages (objects 3 …)."""
    kids = b" ".join(b"%d 0 R" % (3 + n) for n in range(pages))
    root = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", root, *page_objects(pages)])
