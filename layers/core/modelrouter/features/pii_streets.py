"""The parts of a postal address that stand out on their own: street lines, postcodes, PO boxes.

Every part has a number, so one pass in C over the UTF-8 bytes with every digit zeroed (case kept, see
:class:`~modelrouter.features.pii_text.Prepared`) finds them from their digits, and Python only sees
likely candidates:

* a house number, a street name and a street type (``221B Baker Street``, ``2210 W Sunset Blvd``,
  ``350 Fifth Avenue``), or a number and a French type before the name (``8 rue des Lilas``,
  ``12 bis avenue Jean Jaurès``);
* a street name and a house number after it: German (``Lindenstraße 12``, ``Friedrichstr. 123``,
  ``Spandauer Str. 4``, ``Am Lindenhof 3`` before a postcode) and Spanish, Italian or Portuguese with the
  type first (``Calle de Alcalá 45``, ``C/ Gran Vía 28``, ``Rua Augusta 100``): the number is found
  after a capitalised word, and the street name is read back from it;
* a US state and ZIP code after a city (``Springfield, IL 62701``), a UK postcode (``NW1 6XE``, with
  the town before it), a PO box (``PO Box 1234``).

Numbers after words that are not streets (``Chapter 5 Drive Systems``, ``Route 66``, ``Calle 13``) are
left alone: a street needs its name and its type. :mod:`~modelrouter.features.pii_addresses` extends each
part over the rest of the address (town, postcode).
"""

from __future__ import annotations

import re

from modelrouter.features.pii_labels import KycText
from modelrouter.features.pii_words import (
    DE_PLACE_WORDS,
    DE_STREET_SUFFIXES,
    DE_STREET_WORDS,
    ES_TYPES,
    FR_TYPES,
    FR_TYPES_LOWER_ONLY,
    STREET_TYPES,
    US_STATES,
)

__all__ = ["find_streets"]

Span = tuple[int, int]

_UPPER = rb"(?:[A-Z]|\xc3[\x80-\x96\x98-\x9e]|[\xc4\xc5][\x80-\xbf])"
_LETTER = rb"(?:[A-Za-z]|[\xc3-\xc5][\x80-\xbf])"
_CAPITALISED = _UPPER + _LETTER + rb"*+(?:(?:['\-]|\xe2\x80\x99)" + _LETTER + rb"++)*+"
_NUMBER_START = rb"(?<![0-9A-Za-z.,/#\-]0)"
_TYPES = STREET_TYPES.encode()
_EN = (
    _NUMBER_START
    + rb"0{0,4}(?:[A-Za-z](?![A-Za-z]))?(?:-0{1,5}[A-Za-z]?)?,?[ ]{1,2}(?:(?:[NSEW]|N[EW]|S[EW])\.?[ ])?"
    + rb"(?:(?:"
    + _CAPITALISED
    + rb"|0{1,3}(?:st|nd|rd|th))[ ]){1,4}(?:"
    + _TYPES
    + b"|"
    + _TYPES.lower()
    + rb")(?![A-Za-z\x80-\xbf'])\.?"
)
_FR = (
    _NUMBER_START
    + rb"0{0,3}(?:[ ]?(?:bis|ter|quater)(?![A-Za-z]))?,?[ ]{1,2}(?:(?i:"
    + FR_TYPES.encode()
    + b")|"
    + FR_TYPES_LOWER_ONLY.encode()
    + rb")(?![A-Za-z\x80-\xbf])\.?(?=[ ](?:(?:des|de|du|la|les|le|l'|d')[ ]?){0,3}(?:"
    + _UPPER
    + _LETTER
    + rb"|0))"
)
_ZIP = rb"(?<![0-9]0)(?:(?<=[A-Z]{2} 0)|(?<=[A-Z]{2}  0))0{4}(?:-0{4})?(?![0-9A-Za-z])"
_UK = rb"(?<=[A-Z]0)(?:[A-Z0])?[ ]0[ABD-HJLNP-UW-Z]{2}(?![0-9A-Za-z])"
_BOX = rb"(?<![0-9]0)(?:(?<=[Bb][Oo][Xx] 0)|(?<=[Bb][Oo][Xx]  0))0{0,5}(?![0-9])"
# A house number after a word with a capital letter followed by lower-case letters (or a dot) only.
_AFTER_WORD = (
    rb"(?<![0-9]0)(?:"
    + b"|".join(
        rb"(?<=[A-Z\xc3-\xc5][a-z\x80-\xc5.]{" + str(size).encode() + rb"} 0)" for size in range(1, 17)
    )
    + rb")0{0,3}[A-Za-z]?(?![0-9A-Za-z(])"
)
# Most digits start none of the parts: a number that is glued to nothing the parts need is passed over
# by one test (a letter, dot or "box" and a space before it, a letter just before it, or a word after it).
_GATE = (
    rb"(?<![0-9]0)(?:(?<=[A-Za-z.\x80-\xff] 0)|(?<=[A-Za-z.\x80-\xff]  0)|(?<=[A-Z]0)"
    rb"|(?=0{0,4}(?:[A-Za-z](?![A-Za-z]))?(?:-0{1,5}[A-Za-z]?)?(?:[ ]?(?:bis|ter|quater))?,?[ ]{1,2}"
    rb"[A-Za-z\xc3-\xc5]))"
)
_PARTS = re.compile(
    b"0"
    + _GATE
    + b"(?:(?P<en>"
    + _EN
    + b")|(?P<fr>"
    + _FR
    + b")|(?P<zip>"
    + _ZIP
    + b")|(?P<uk>"
    + _UK
    + b")|(?P<box>"
    + _BOX
    + b")|(?P<after>"
    + _AFTER_WORD
    + b"))"
)

_POSTCODE_AFTER = re.compile(r"\d{1,4}[a-zA-Z]?,?[ ]{1,2}\d{5}[ ]\w")
_BOX_BEFORE = re.compile(r"(?i:\bp\.?[ ]?o\.?[ ]?box|\bpost[ ]office[ ]box)[ ]{1,2}\Z")
_BOX_REACH = 20
_STREET_REACH = 64
_MAX_STREET_WORDS = 6
_CITY_REACH = 48
_MAX_CITY_WORDS = 3
_MIN_STEM = 3
"""Letters a one-word German street name has before its ending (``Spring 12`` is no street)."""
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "el", "y", "d'", "da", "do", "dos"})


def _capitalised(word: str) -> bool:
    if not word[:1].isupper():
        return False
    return word.isalpha() or word.replace("-", "").replace("'", "").replace("\u2019", "").isalpha()


def _words_before(text: str, end: int, reach: int, count: int) -> list[str]:
    """The last ``count`` words before ``end`` (within ``reach``), split at single spaces; the first
    may be cut off at the edge of the reach."""
    return text[max(0, end - reach) : end].rsplit(" ", count)[-count:]


def _german_street_word(word: str) -> bool:
    """``Lindenstraße``, ``Mozartstr.``: a capitalised word with a street ending after 3 letters."""
    lowered = word.lower()
    if not lowered.endswith(DE_STREET_SUFFIXES):
        return False
    suffix = next(suffix for suffix in DE_STREET_SUFFIXES if lowered.endswith(suffix))
    return len(word) - len(suffix) >= _MIN_STEM and _capitalised(word.rstrip("."))


def _street_before(text: str, number: int) -> int | None:
    """Where the street name before the house number at ``number`` (after one space) starts, if one
    does: ``Lindenstraße``, ``Spandauer Str.``, ``Calle de Alcalá``, ``Am Lindenhof`` before a postcode."""
    end = number - 1
    words = _words_before(text, end, _STREET_REACH, _MAX_STREET_WORDS)
    last = words[-1]
    if _german_street_word(last):
        return end - len(last)
    if last in DE_STREET_WORDS and len(words) > 1 and _capitalised(words[-2]):
        return end - len(" ".join(words[-2:]))
    if not _capitalised(last):
        return None
    length = len(last)
    for index in range(len(words) - 2, -1, -1):  # back from the number, over the street's name
        word = words[index]
        length += len(word) + 1
        if word.rstrip(".") in ES_TYPES:
            return end - length
        if tuple(words[index:-1]) in DE_PLACE_WORDS and _POSTCODE_AFTER.match(text, number) is not None:
            return end - length  # "Am Montag 3" is no street: a place name needs a postcode after
        if not (_capitalised(word) or word in _NAME_PARTICLES):
            return None
    return None


def _city_before(text: str, start: int, *, comma: bool = False) -> int | None:
    """Where the town before a postcode or state at ``start`` begins (``London``, ``New York,``), with a
    comma after it if ``comma``."""
    head = text[max(0, start - _CITY_REACH) : start]
    stripped = head.rstrip(" ")
    spaces = len(head) - len(stripped)
    has_comma = stripped.endswith(",")
    if spaces not in (1, 2) or (comma and not has_comma):
        return None
    words = _words_before(stripped, len(stripped) - has_comma, _CITY_REACH, _MAX_CITY_WORDS)
    taken = 0
    for word in reversed(words):
        if not _capitalised(word):
            break
        taken += 1
    if not taken:
        return None
    return start - spaces - has_comma - len(" ".join(words[-taken:]))


def _state_and_zip(text: str, start: int) -> int | None:
    """Where ``City, ST`` before the ZIP code at ``start`` begins, if the state is one."""
    state = start - (3 if text[start - 2] != " " else 4)
    if text[state : state + 2] not in US_STATES or (state and text[state - 1].isalnum()):
        return None
    return _city_before(text, state, comma=True)  # "Springfield, IL 62701", not "Client ID 99812"


def _uk_postcode(text: str, start: int) -> int | None:
    """Where a UK postcode whose first digit is at ``start`` begins, with its town if one is before."""
    outward = start - 1
    if outward and text[outward - 1].isascii() and text[outward - 1].isupper():
        outward -= 1
    if outward and (text[outward - 1].isalnum() or text[outward - 1] in "-_"):
        return None
    town = _city_before(text, outward)
    return outward if town is None else town


def _part_start(text: str, kind: str, start: int) -> int | None:
    """Where the address part the scan found at ``start`` begins, or None if it is not one."""
    if kind in ("en", "fr"):
        return start
    if kind == "after":
        return _street_before(text, start)
    if kind == "box":
        box = _BOX_BEFORE.search(text, max(0, start - _BOX_REACH), start)
        return None if box is None else box.start()
    if kind == "zip":
        return _state_and_zip(text, start)
    return _uk_postcode(text, start)


def find_streets(scanned: KycText) -> list[Span]:
    """``(start, end)`` of every street line, postcode with its town and PO box, in text order."""
    if not scanned.prepared.has_digits:
        return []
    matches = list(_PARTS.finditer(scanned.prepared.zeroed))
    offsets = scanned.chars([offset for match in matches for offset in match.span()])
    text = scanned.text
    found: list[Span] = []
    for index, match in enumerate(matches):
        start = _part_start(text, match.lastgroup or "", offsets[2 * index])
        if start is not None:
            found.append((start, offsets[2 * index + 1]))
    return found
