"""Text made ready for the personal-data scans: disguises undone, digits zeroed, offsets mapped back.

A value can be hidden from a pattern without changing what a model reads: full-width, Arabic-Indic or
mathematical digits, zero-width and other invisible characters inside a number, no-break and thin
spaces, typographic dashes. :func:`normalize` maps each such
character to its plain ASCII look-alike (what NFKC would give, one character for one) or drops it when
it is invisible, so a scan of the result finds the value; :class:`Normalized` turns offsets in the
result back into offsets in the original text, so redaction still cuts the original in the right place.

Plain ASCII text, the common case, is returned as it is at the cost of one ``str.isascii`` call.

:class:`Prepared` holds what every number-shaped scan runs on: the UTF-8 bytes with each digit turned
into ``0``, so a pattern can start with a literal and ``re`` jumps from digit to digit in C.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Normalized", "Prepared", "normalize"]

_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")

# The first code point of each run of ten decimal digits that NFKC or int() reads as 0-9.
_DIGIT_ZEROS = (
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
)  # fmt: skip


def _table() -> dict[int, str | None]:
    # Invisible format characters are dropped: soft hyphen, Mongolian vowel separator, zero-width
    # space/non-joiner/joiner, bidi marks, embeddings and isolates, word joiner and invisible operators,
    # zero-width no-break space (BOM).
    invisible = (0x00AD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065))
    table: dict[int, str | None] = dict.fromkeys((*invisible, *range(0x2066, 0x206A), 0xFEFF))
    # Full-width digits, letters and the signs that join or split them (plus, hyphen, full stop, solidus,
    # at, reverse solidus, low line, vertical line); not the brackets and other punctuation of CJK prose.
    full_width = (
        *range(0xFF10, 0xFF1A),
        *range(0xFF20, 0xFF3B),
        *range(0xFF41, 0xFF5B),
        0xFF3C,
        0xFF3F,
        0xFF5C,
    )
    table.update({code: chr(code - 0xFEE0) for code in (*full_width, *range(0xFF0B, 0xFF10))})
    del table[0xFF0C]  # the full-width comma
    table.update(dict.fromkeys((0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000), " "))
    table.update(dict.fromkeys((*range(0x2010, 0x2016), 0x2043, 0x2212, 0xFE58, 0xFE63), "-"))
    table.update(dict.fromkeys((0x2024, 0xFE52), "."))  # one-dot leader, small full stop
    table[0xFE6B] = "@"  # small commercial at
    for zero in _DIGIT_ZEROS:
        table.update({zero + digit: str(digit) for digit in range(10)})
    return table


_TABLE = _table()


def _ranges(codes: list[int]) -> str:
    """A character class body for ``codes``, as ranges (``re`` tests a few ranges faster than many
    single characters)."""
    spans: list[list[int]] = []
    for code in sorted(codes):
        if spans and code == spans[-1][1] + 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(
        re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "") for low, high in spans
    )


_CHANGED = re.compile(f"[{_ranges(list(_TABLE))}]+")  # a run of characters the table changes
_DROPPED = re.compile(f"[{_ranges([code for code, value in _TABLE.items() if value is None])}]")


@dataclass(frozen=True, slots=True)
class Normalized:
    """The text to scan, and how to map its offsets back to the original."""

    text: str
    """The normalized text (the original itself when nothing needed changing)."""
    _shifts: tuple[int, ...] = ()
    """For each dropped character, in order, where it would sit in :attr:`text` (its offset minus the
    characters dropped before it)."""

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of ``text[start:end]`` (characters dropped inside it are part of it)."""
        if not self._shifts:
            return start, end
        return start + bisect_right(self._shifts, start), end + bisect_right(self._shifts, end - 1)


def _translated(run: re.Match[str]) -> str:
    return run.group().translate(_TABLE)


def normalize(text: str) -> Normalized:
    """``text`` with look-alike digits, letters, spaces, dashes and dots made ASCII and invisible
    characters dropped; every other character is kept as it is."""
    if text.isascii():
        return Normalized(text)
    normalized = _CHANGED.sub(_translated, text)
    if len(normalized) == len(text):
        return Normalized(normalized)
    dropped = [match.start() for match in _DROPPED.finditer(text)]
    return Normalized(normalized, tuple(offset - index for index, offset in enumerate(dropped)))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A text and its UTF-8 bytes with every digit turned into ``0``, for the number-shaped scans."""

    text: str
    """The text."""
    encoded: bytes
    """Its UTF-8 bytes (lone surrogates passed through)."""
    zeroed: bytes
    """:attr:`encoded` with every ASCII digit turned into ``0``."""
    has_digits: bool
    """Whether the text has any ASCII digit (else no number-shaped scan need run)."""

    @classmethod
    def of(cls, text: str) -> Prepared:
        """Prepare ``text``."""
        encoded = text.encode("utf-8", "surrogatepass")
        zeroed = encoded.translate(_DIGITS_TO_ZERO)
        return cls(text, encoded, zeroed, zeroed.find(b"0") >= 0)  # find: a memchr, not a scan

    def char_offsets(self) -> Callable[[int], int]:
        """A converter of byte offsets at character boundaries, given in increasing order, to
        character offsets (one pass over the text however many offsets are converted)."""
        if len(self.encoded) == len(self.text):
            return _same
        encoded = self.encoded
        byte_mark = char_mark = 0

        def to_chars(offset: int) -> int:
            nonlocal byte_mark, char_mark
            char_mark += len(encoded[byte_mark:offset].decode("utf-8", "surrogatepass"))
            byte_mark = offset
            return char_mark

        return to_chars


def _same(offset: int) -> int:
    return offset
