"""File content parts as documents, for providers that take documents inline; pure.

OpenAI's ``file`` part carries a file as a ``data:<media type>;base64,`` URI (``file_data``) or by an
OpenAI file id. Anthropic and Bedrock take documents inline only: a part with ``file_data`` of a type
they read becomes their document block; one they cannot read (an id, another type) is left out and
reported in ``router.ignored_fields`` as ``messages.content.file``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from modelrouter.request import ChatRequest, FilePart

__all__ = ["InlineFile", "document_name", "inline_file", "unreadable_files"]

_DATA_URI: Final = re.compile(
    r"^data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,(?P<data>.*)$", re.DOTALL
)
_NAME_CHARS: Final = re.compile(r"[^A-Za-z0-9\-()\[\] ]+")
_NAME_DIGEST_CHARS: Final = 8


@dataclass(frozen=True, slots=True)
class InlineFile:
    """A file given inline: its media type, its base64 text and its name, if it has one."""

    media_type: str
    """The media type, lower-cased (``application/pdf``)."""
    data: str
    """The content, base64-encoded."""
    filename: str | None
    """The file's name, as the client gave it."""

    def content(self) -> bytes:
        """The decoded content (empty when the base64 text is not valid)."""
        try:
            return base64.b64decode(re.sub(r"\s+", "", self.data), validate=True)
        except (binascii.Error, ValueError):
            return b""


def inline_file(part: FilePart) -> InlineFile | None:
    """The part's file when it is given inline as a base64 data URI, else None."""
    match = _DATA_URI.match(part.file.file_data or "")
    if match is None or not match["data"]:
        return None
    return InlineFile(match["type"].lower(), match["data"], part.file.filename)


def unreadable_files(request: ChatRequest, media_types: Iterable[str]) -> bool:
    """Whether a file part is not an inline file of one of ``media_types`` (it is left out)."""
    readable = frozenset(media_types)
    for part in request.content_parts(FilePart):
        inline = inline_file(part)
        if inline is None or inline.media_type not in readable:
            return True
    return False


def document_name(file: InlineFile) -> str:
    """A document name Bedrock accepts (letters, digits, single spaces, hyphens, parentheses,
    brackets), unique per content: the file's name without its extension, and a digest."""
    stem = (file.filename or "document").rsplit(".", 1)[0]
    cleaned = " ".join(_NAME_CHARS.sub(" ", stem).split())[:64] or "document"
    digest = hashlib.sha256(file.data.encode()).hexdigest()[:_NAME_DIGEST_CHARS]
    return f"{cleaned} {digest}"
