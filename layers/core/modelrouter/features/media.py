"""The images and documents of a request as routing signals: size, type, pixels and pages; pure.

Read from the request alone, in bounded time and memory whatever it holds:

* An inline image (a ``data:image/…;base64,`` URI) has its file size computed from the base64 length
  (nothing is decoded for it), its type from its bytes' signature and its width and height from its
  header, decoding only a bounded prefix (:mod:`modelrouter.features.image_headers`).
* An image given by URL is only counted: **the router never fetches a URL from a request.**
* A file part (a document) has its declared media type and its size from the base64 length; a PDF's
  page count is read where cheap (:mod:`modelrouter.features.pdf_pages`): the whole file up to
  :data:`PDF_SCAN_BYTES`, else a head and a tail window of :data:`PDF_WINDOW_BYTES`. A file given by
  an OpenAI file id is only counted.

Bad base64, truncated or forged headers make the affected facts unknown (None), never an error.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Final

from modelrouter.features.image_headers import (
    IMAGE_HEADER_BYTES,
    JPEG,
    JPEG_SCAN_BYTES,
    image_dimensions,
    sniff_image,
)
from modelrouter.features.pdf_pages import pdf_pages
from modelrouter.features.records import DocumentInfo, ImageInfo
from modelrouter.request import ChatRequest, FilePart, ImagePart

__all__ = [
    "PDF_MEDIA_TYPE",
    "PDF_SCAN_BYTES",
    "PDF_WINDOW_BYTES",
    "base64_image_info",
    "document_info",
    "image_info",
    "request_documents",
    "request_images",
]

PDF_MEDIA_TYPE: Final = "application/pdf"
"""The media type whose page count is read."""
PDF_SCAN_BYTES: Final = 8 * 1024 * 1024
"""A PDF up to this size is decoded and scanned whole for its page count."""
PDF_WINDOW_BYTES: Final = 1024 * 1024
"""A larger PDF is scanned in its first and its last this many bytes only."""

_DATA_URI: Final = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,", re.IGNORECASE)
_WHITESPACE: Final = re.compile(r"\s")
_QUANTUM_CHARS: Final = 4  # four base64 characters encode three bytes
_QUANTUM_BYTES: Final = 3
_PADDING_MAX: Final = 2  # at most two '=' end the text


@dataclass(frozen=True, slots=True)
class _Base64:
    """Base64 text, decoded only in the pieces asked for."""

    text: str
    """The base64 characters, whitespace removed."""

    @classmethod
    def after(cls, uri: str, start: int) -> _Base64:
        """The base64 text of ``uri`` from ``start`` (the end of its ``data:…;base64,`` prefix)."""
        text = uri[start:]
        return cls(_WHITESPACE.sub("", text) if _WHITESPACE.search(text) else text)

    @property
    def size(self) -> int:
        """Bytes the text decodes to, from its length and padding alone."""
        end = self.text[-_PADDING_MAX:]
        padding = len(end) - len(end.rstrip("="))
        return max(0, len(self.text) * _QUANTUM_BYTES // _QUANTUM_CHARS - padding)

    def head(self, limit: int) -> bytes | None:
        """The first ``limit`` bytes (fewer if the file is shorter); None when they are not base64."""
        return self._decode(0, _chars_for(limit))

    def tail(self, limit: int) -> bytes | None:
        """About the last ``limit`` bytes; None when they are not base64."""
        start = max(0, len(self.text) - _chars_for(limit))
        return self._decode(start - start % _QUANTUM_CHARS, len(self.text))

    def _decode(self, start: int, end: int) -> bytes | None:
        piece = self.text[start:end]
        if end >= len(self.text):
            piece += "=" * (-len(piece) % _QUANTUM_CHARS)
        try:
            return base64.b64decode(piece, validate=True)
        except (binascii.Error, ValueError):
            return None


def _chars_for(limit: int) -> int:
    return math.ceil(limit / _QUANTUM_BYTES) * _QUANTUM_CHARS


def image_info(part: ImagePart) -> ImageInfo:
    """What can be known of one image part without fetching or decoding it."""
    url = part.image_url.url
    prefix = _DATA_URI.match(url)
    if prefix is None:
        return ImageInfo(source="url")
    return _inline_image(_Base64.after(url, prefix.end()))


def base64_image_info(encoded: str) -> ImageInfo:
    """What can be known of an image given as base64 text (an Anthropic or Converse image block's data)
    without decoding more than its header."""
    return _inline_image(_Base64.after(encoded, 0))


def _inline_image(data: _Base64) -> ImageInfo:
    head = data.head(IMAGE_HEADER_BYTES)
    if head is None:
        return ImageInfo(source="inline")
    media_type = sniff_image(head)
    if media_type is None:
        return ImageInfo(source="inline", encoded_bytes=data.size)
    header = data.head(JPEG_SCAN_BYTES) if media_type == JPEG else head
    width, height = image_dimensions(media_type, header or b"") or (None, None)
    return ImageInfo(
        source="inline", media_type=media_type, encoded_bytes=data.size, width=width, height=height
    )


def document_info(part: FilePart) -> DocumentInfo:
    """What can be known of one file part: its declared type, its size and, for a PDF, its pages."""
    file_data = part.file.file_data
    if file_data is None:
        return DocumentInfo(source="file_id")
    prefix = _DATA_URI.match(file_data)
    if prefix is None:
        return DocumentInfo(source="inline")
    media_type = prefix["type"].lower()
    data = _Base64.after(file_data, prefix.end())
    pages = _pdf_pages(data) if media_type == PDF_MEDIA_TYPE else None
    return DocumentInfo(source="inline", media_type=media_type, encoded_bytes=data.size, pages=pages)


def _pdf_pages(data: _Base64) -> int | None:
    if data.size <= PDF_SCAN_BYTES:
        whole = data.head(PDF_SCAN_BYTES)
        return pdf_pages(whole) if whole is not None else None
    head, tail = data.head(PDF_WINDOW_BYTES), data.tail(PDF_WINDOW_BYTES)
    return pdf_pages(head, tail) if head is not None and tail is not None else None


def request_images(request: ChatRequest) -> tuple[ImageInfo, ...]:
    """Every image part of the request's messages, in order (as many as ``image_count``)."""
    return tuple(image_info(part) for part in request.content_parts(ImagePart))


def request_documents(request: ChatRequest) -> tuple[DocumentInfo, ...]:
    """Every file part of the request's messages, in order."""
    return tuple(document_info(part) for part in request.content_parts(FilePart))
