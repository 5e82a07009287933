"""Text helpers shared by feature extraction and route matching, tuned for CPython's C fast paths.

Two facts drive them. ``str.translate`` looks up a dict per character once the text is not ASCII (about
50 ns each) while ``bytes.translate`` is a table lookup; and UTF-8 never uses an ASCII byte inside a
multi-byte character, so ASCII bytes can be rewritten or dropped without breaking any character.

There are two tokenizers on purpose. :func:`lower_words` keeps ``step-by-step`` and ``c#`` whole, for
the feature detectors' cue words. :func:`words_of` splits at every character that is not a letter or
digit, the same boundary route keywords are matched on, so "all of a keyword's words occur" is a
necessary condition of a keyword match and can safely reject keywords before any scan.
"""

from __future__ import annotations

import re

__all__ = ["letter_count", "lower_words", "non_ascii", "words_of"]

# `-`, `_` and `#` stay: they hold words such as ``step-by-step``, ``snake_case`` and ``c#`` together.
_PUNCTUATION_TO_SPACE = bytes.maketrans(b"!\"$%&'()*+,./:;<=>?@[\\]^`{|}~", b" " * 29)
_ASCII = bytes(range(128))
_ASCII_NON_LETTERS = bytes(byte for byte in range(128) if not chr(byte).isalpha())


def lower_words(text: str) -> list[str]:
    """The lower-cased, whitespace-separated words of ``text``, with ASCII punctuation removed."""
    encoded = text.lower().encode("utf-8", "surrogatepass")
    return encoded.translate(_PUNCTUATION_TO_SPACE).decode("utf-8", "surrogatepass").split()


def non_ascii(text: str) -> str:
    """The characters of ``text`` outside ASCII, in order (empty for ASCII text)."""
    if text.isascii():
        return ""
    return text.encode("utf-8", "surrogatepass").translate(None, _ASCII).decode("utf-8", "surrogatepass")


def letter_count(text: str) -> int:
    """How many ASCII letters ``text`` has."""
    return len(text.encode("ascii", "ignore").translate(None, _ASCII_NON_LETTERS))


# Every ASCII byte that is not a letter or digit becomes a space.
_ASCII_SEPARATORS = bytes(byte if byte < 128 and chr(byte).isalnum() else ord(" ") for byte in range(256))
_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> frozenset[str]:
    """The distinct runs of letters and digits in ``text`` (case is kept; lower the text first)."""
    if text.isascii():
        return frozenset(text.encode("ascii").translate(_ASCII_SEPARATORS).decode("ascii").split())
    return frozenset(_WORD.findall(text))
