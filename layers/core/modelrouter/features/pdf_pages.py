"""How many pages a PDF has, where that is cheap to know; pure.

One linear pass over the bytes finds the objects (ended by ``endobj``) of the page tree: the root
``/Type /Pages`` object (the one without a ``/Parent``) states the document's page count in
``/Count``; with incremental updates the last root written is the current one. A file read whole whose
page tree root is not found is counted by its ``/Type /Page`` objects, if it ends (an ``%%EOF``
marker: it is not cut short) and has no compressed object streams (``/Type /ObjStm``, PDF 1.5+): the
objects inside those cannot be read without inflating them, so such a file's page count is unknown
(None) unless its root is outside them. A file too large to read whole is read as a head and a tail
window (the page tree root is usually near one end). Counts are clamped to :data:`MAX_PDF_PAGES`, and
a file with more than :data:`MAX_PDF_TOKENS` of the markers looked for is not counted at all (the time
spent stays bounded whatever the file holds).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_PDF_PAGES", "MAX_PDF_TOKENS", "PDF_END_WITHIN", "PDF_HEADER_WITHIN", "pdf_pages"]

MAX_PDF_PAGES: Final = 100_000
"""The largest page count believed; a larger ``/Count`` is clamped to it."""
MAX_PDF_TOKENS: Final = 100_000
"""The most page-tree markers (``endobj``, ``/Type /Page`` …) read from one file: a real file has about
four per page; past this the page count is unknown."""
PDF_HEADER_WITHIN: Final = 1_024
"""The ``%PDF-`` header must start within this many bytes (as readers allow), else it is no PDF."""
PDF_END_WITHIN: Final = 1_024
"""A whole file ends with ``%%EOF`` within its last this many bytes; one that does not may be cut short,
so its page objects are not counted."""

_TOKENS: Final = re.compile(
    rb"endobj|/Type\s*/(?P<type>Pages|Page|ObjStm)(?![\w#])|/Parent(?![\w#])|/Count\s+(?P<count>\d{1,12})"
)


class _PageTree:
    """What one pass over some bytes of a PDF found."""

    def __init__(self) -> None:
        self.roots: list[int] = []
        self.pages = 0
        self.object_streams = False
        self.tokens = 0

    @property
    def exhausted(self) -> bool:
        """Whether more than :data:`MAX_PDF_TOKENS` markers were met (the scan stopped)."""
        return self.tokens > MAX_PDF_TOKENS

    def scan(self, data: bytes, *, clean_start: bool) -> None:
        """Read ``data``; ``clean_start``: it starts at the file's start, not inside an object."""
        whole_object = clean_start
        is_pages = has_parent = False
        count: int | None = None
        for token in _TOKENS.finditer(data):
            self.tokens += 1
            if self.exhausted:
                return
            kind = token["type"]
            if token.group() == b"endobj":
                if whole_object and is_pages and not has_parent and count is not None:
                    self.roots.append(count)
                whole_object, is_pages, has_parent, count = True, False, False, None
            elif kind == b"Pages":
                is_pages = True
            elif kind == b"Page":
                self.pages += 1
            elif kind == b"ObjStm":
                self.object_streams = True
            elif token["count"] is not None:
                count = int(token["count"]) if count is None else count
            else:
                has_parent = True


def pdf_pages(head: bytes, tail: bytes | None = None) -> int | None:
    """The page count of the PDF whose bytes are ``head`` (the whole file), or ``head`` and ``tail``
    (its first and last bytes, when it is too large to read whole); None when not cheaply known."""
    if head.find(b"%PDF-", 0, PDF_HEADER_WITHIN) < 0:
        return None
    tree = _PageTree()
    tree.scan(head, clean_start=True)
    if tail is not None:
        tree.scan(tail, clean_start=False)
    if tree.exhausted:
        return None
    if tree.roots:
        return min(tree.roots[-1], MAX_PDF_PAGES)
    ends = b"%%EOF" in head[-PDF_END_WITHIN:]
    if tail is None and ends and not tree.object_streams and tree.pages:
        return min(tree.pages, MAX_PDF_PAGES)
    return None
