"""Field labels before personal data (``Name:``, ``Anschrift =``), found backwards from their separator.

A label-led value needs its label: "Name: Jane Doe" is personal data, "Jane Doe" alone is not for this
scan. Searching every label word forwards would test each position of the text against a hundred words;
instead the text's lower-cased bytes are reversed once and a regular expression that starts with the
literal separator (``:`` or ``=``, which ``re`` jumps to in C) reads the label backwards from it, through
a trie of the reversed labels, so each separator costs one pass over at most the longest label. Prose
without separators costs two scans in C.

Labels are phrases from :mod:`~modelrouter.features.pii_words`: a space in a phrase stands for one space,
underscore, hyphen or dot, or none (``first name``, ``first_name``, ``firstname``); letters match either
case (ASCII through the lower-cased bytes, others through both spellings), and accented phrases also
match without their accents.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from modelrouter.features.pii_text import Prepared
from modelrouter.features.pii_words import ADDRESS_LABELS, NAME_LABELS, POSTCODE_LABELS, ROLE_LABELS

__all__ = ["UPPER_LETTERS", "KycText", "Label", "find_labels", "label_pattern", "previous_word"]

UPPER_LETTERS = "A-Z" + "".join(chr(code) for code in range(0xC0, 0x250) if chr(code).isupper())
"""Capital Latin letters (ASCII, Latin-1 and Latin Extended-A and -B), for a character class."""

_SEPARATOR = " "
_SEPARATOR_PATTERN = rb"[ _\-.]?"
_END = ""
_LABEL_KINDS = {
    "name": NAME_LABELS,
    "role": ROLE_LABELS,
    "address": ADDRESS_LABELS,
    "postcode": POSTCODE_LABELS,
}
_BEFORE_SEPARATOR = rb"[\"'\x60 \t]{0,3}"
"""What may stand between a label and its separator (``Nom :``, ``"full_name":``)."""
_JOINERS = " _-"
_PREVIOUS_WORD_CHARS = 32

Trie = dict[str, "Trie"]


def _spellings(phrase: str) -> set[str]:
    """The phrase, and without its accents (``prénom``, ``prenom``; ``straße``, ``strasse``)."""
    plain = unicodedata.normalize("NFKD", phrase.replace("ß", "ss"))
    return {phrase, "".join(char for char in plain if not unicodedata.combining(char))}


def _token(char: str, reverse: bool) -> bytes:
    if char == _SEPARATOR:
        return _SEPARATOR_PATTERN
    if char.isdigit():
        return b"0"  # the scan reads digits as zeros
    spellings = sorted({char.encode(), char.upper().encode()} if not char.isascii() else {char.encode()})
    escaped = [re.escape(spelling[::-1] if reverse else spelling) for spelling in spellings]
    return escaped[0] if len(escaped) == 1 else b"(?:" + b"|".join(escaped) + b")"


def _trie_pattern(trie: Trie, reverse: bool) -> bytes:
    """A pattern for the phrases in ``trie``: longer phrases first, so the longest label matches."""
    branches = [_token(char, reverse) + _trie_pattern(child, reverse) for char, child in trie.items() if char]
    if _END in trie:
        branches.append(b"")
    if len(branches) == 1:
        return branches[0]
    return b"(?:" + b"|".join(branches) + b")"


def label_pattern(phrases: Iterable[str], *, reverse: bool = False) -> bytes:
    """A pattern over lower-cased UTF-8 bytes matching any of ``phrases`` (read backwards if ``reverse``),
    built as a trie so a position costs one test per character, not one per phrase."""
    trie: Trie = {}
    for phrase in phrases:
        for spelling in _spellings(phrase):
            node = trie
            for char in reversed(spelling) if reverse else spelling:
                node = node.setdefault(char, {})
            node[_END] = {}
    return _trie_pattern(trie, reverse)


def _reversed_labels(separator: bytes) -> re.Pattern[bytes]:
    groups = b"|".join(
        b"(?P<" + kind.encode() + b">" + label_pattern(phrases, reverse=True) + b")"
        for kind, phrases in _LABEL_KINDS.items()
    )
    return re.compile(re.escape(separator) + _BEFORE_SEPARATOR + b"(?:" + groups + rb")(?![a-z0_\x80-\xff])")


_REVERSED = (_reversed_labels(b":"), _reversed_labels(b"="))


class KycText:
    """A prepared text with what the label and date scans read: its lower-cased bytes (digits zeroed),
    reversed on first use, and byte offsets turned into character offsets."""

    __slots__ = ("_reversed", "lowered", "prepared")

    def __init__(self, prepared: Prepared) -> None:
        """Read ``prepared``."""
        self.prepared = prepared
        self.lowered = prepared.zeroed.lower()
        """The UTF-8 bytes with digits as ``0`` and ASCII letters in lower case (the same length)."""
        self._reversed: bytes | None = None

    @property
    def text(self) -> str:
        """The text."""
        return self.prepared.text

    @property
    def reversed(self) -> bytes:
        """:attr:`lowered` backwards."""
        if self._reversed is None:
            self._reversed = self.lowered[::-1]
        return self._reversed

    def chars(self, offsets: list[int]) -> list[int]:
        """The character offsets of byte ``offsets`` (at character boundaries, in any order)."""
        order = sorted(range(len(offsets)), key=offsets.__getitem__)
        to_chars: Callable[[int], int] = self.prepared.char_offsets()
        converted = [0] * len(offsets)
        for index in order:
            converted[index] = to_chars(offsets[index])
        return converted


Label = tuple[str, int, int]
"""A label: its kind (``name``, ``role``, ``address`` or ``postcode``), where it starts, and where the
labelled value may start (just after the separator), as character offsets."""


def find_labels(scanned: KycText) -> list[Label]:
    """Every label followed by ``:`` or ``=``, in text order."""
    lowered = scanned.lowered
    if lowered.find(b":") < 0 and lowered.find(b"=") < 0:
        return []
    size = len(lowered)
    kinds: list[str] = []
    offsets: list[int] = []
    for pattern in _REVERSED:
        for match in pattern.finditer(scanned.reversed):
            kinds.append(match.lastgroup or "")
            offsets.append(size - match.end())
            offsets.append(size - match.start())
    chars = scanned.chars(offsets)
    return sorted(zip(kinds, chars[::2], chars[1::2], strict=True), key=lambda label: label[1])


def previous_word(text: str, start: int) -> str:
    """The word just before ``start`` on its line, joined by at most one space, underscore or hyphen
    (lower case; empty when punctuation or nothing comes before)."""
    end = start - 1 if start and text[start - 1] in _JOINERS else start
    begin = end
    while (
        begin > end - _PREVIOUS_WORD_CHARS
        and begin
        and (text[begin - 1].isalpha() or text[begin - 1] in "'\u2019")
    ):
        begin -= 1
    return text[begin:end].lower()
