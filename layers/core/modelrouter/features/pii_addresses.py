"""Postal addresses: street lines and postcodes, extended over the rest of the address, and labelled lines.

An address is found two ways:

* from a part that stands out on its own (:func:`~modelrouter.features.pii_streets.find_streets`: a
  street line, a postcode with its town, a PO box), read on over what follows on its line as long as it
  reads as an address (``27 Harcourt Road, Leeds LS6 2BH``, ``Calle de Alcalá 45, 3º B, 28014 Madrid``);
* after an address label and ``:`` or ``=`` (``Address:``, ``Anschrift:``, ``Domicilio:``, ``ZIP:``, in
  :data:`~modelrouter.features.pii_words.ADDRESS_LABELS`), when what follows has a number and a name
  (``Anschrift: Am Lindenhof 3, 22303 Hamburg``, ``Wohnort: 60311 Frankfurt am Main``), or for a
  postcode label a postcode (``ZIP: 75201``). A label after a word that makes it another kind of address
  (``IP address:``, ``MAC address:``, ``email address:``) is ignored.

Reading on takes capitalised words, house numbers and postcodes (``12B``, ``NW1``, ``6XE``,
``94043-1351``, ``3º``), unit words (``Apt``, ``Suite``, ``Flat``, ``piso``) and the small words of street
names (``de``, ``la``, ``am``), one or two spaces or a comma apart. It stops at a line break, a tab, a
lower-case word, a field label (``DOB:``), an e-mail or a longer number (a phone), the end of a sentence,
or after :data:`MAX_ADDRESS_CHARS`. Overlapping or adjacent pieces are one finding.
"""

from __future__ import annotations

import re

from modelrouter.features.pii_labels import UPPER_LETTERS, KycText, Label, previous_word
from modelrouter.features.pii_streets import find_streets
from modelrouter.features.pii_words import ADDRESS_NOT_POSTAL

__all__ = ["MAX_ADDRESS_CHARS", "find_addresses"]

Span = tuple[int, int]

MAX_ADDRESS_CHARS = 200
"""The longest address finding (reading on and joining stop there), well below the longest finding the
streaming guard holds back for."""
_MAX_TOKENS = 16
_MAX_WORD_CHARS = 24
_UPPER = UPPER_LETTERS
_SEPARATOR = r"(?:,?[ ]{1,2}|,)"
_NUMBER = (
    r"(?:\d{1,5}[-/]\d{1,5}[A-Za-z]?|\d{5}-\d{4}|\d{1,5}[A-Za-z]{0,2}|\d{1,2}[º°ª](?:[A-Za-z]|\d{1,2}[º°ª])?"
    r"|[A-Z]{1,2}\d[A-Z\d]?|\d[A-Z]{2}|[A-Z]-\d{4,5}|#\d{1,5}[A-Za-z]?|[Nn][º°o]\.?[ ]?\d{1,4})"
    r"(?![\w/@:\-]|\.\w)"
)
"""House numbers, postcodes and their halves, floors and flats."""
_ABBREVIATION = (
    r"(?:St|Str|Ave|Av|Avda|Rd|Dr|Blvd|Apt|Mt|Ft|Pl|Bd|Sq|No|Ln|Ct|Hwy|Pkwy|Ste|Pza|Ctra|Fl|Rm|Bldg|[NSEWC])\."
    r"(?=[ ,])|C/"
)
_WORD = (
    rf"(?>[{_UPPER}][^\W\d_]{{0,{_MAX_WORD_CHARS}}}(?:['\u2019\-][^\W\d_]{{1,{_MAX_WORD_CHARS}}}){{0,2}})"
    r"(?![\w'\u2019\-:@/])"
)
"""A capitalised word (not a field label: ``City:``)."""
_GLUE = (
    r"(?:de|du|des|la|le|les|am|an|der|den|dem|del|y|e|à|au|aux|sur|en|im|zum|zur|bis|ter|et|rue|avenue"
    r"|boulevard|bd|place|chemin|allée|impasse|quai|cours|route|apt|apartment|suite|unit|flat|floor"
    r"|room|piso|planta|puerta|étage|etage|whg|wohnung|stock|box|nº|n°)(?![\w'\u2019])"
)
"""Small words inside an address that neither start nor end one."""
_TOKEN = rf"(?:{_NUMBER}|{_ABBREVIATION}|{_WORD})"
_MORE = rf"(?:(?:{_SEPARATOR}{_GLUE})*{_SEPARATOR}{_TOKEN}){{0,{_MAX_TOKENS}}}"
_READ_ON = re.compile(_MORE)
"""What follows an address part and still reads as the address (ends on a token, never on glue)."""
_VALUE = re.compile(rf"(?:{_GLUE}[ ])*{_TOKEN}{_MORE}")
"""A labelled address value."""
_HAS_NAME = re.compile(rf"[{_UPPER}][^\W\d_]")
_POSTCODE = re.compile(r"\d{4,5}(?:-\d{3,4})?(?!\w)|[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}|[A-Z]-\d{4,5}")
"""What a postcode label's value starts with: ``75201``, ``1100-053``, ``M1 4BT``, ``D-10115``."""
_JOINED_BY = " ,"


def _clipped(text: str, start: int, end: int) -> int:
    """``end``, or the last word end before ``start + MAX_ADDRESS_CHARS`` if it is further."""
    if end - start <= MAX_ADDRESS_CHARS:
        return end
    cut = text.rfind(" ", start, start + MAX_ADDRESS_CHARS)
    if cut <= start:
        return start + MAX_ADDRESS_CHARS
    return cut - (text[cut - 1] == ",")


def _labelled(text: str, kind: str, label: int, value: int) -> Span | None:
    """The address after an address or postcode label, if what follows reads as one."""
    while value < len(text) and text[value] in " \t\"'":
        value += 1
    match = _VALUE.match(text, value)
    if match is None or not any(char.isdigit() for char in match.group()):
        return None
    if (_HAS_NAME.search(match.group()) if kind != "postcode" else _POSTCODE.match(text, value)) is None:
        return None
    if previous_word(text, label) in ADDRESS_NOT_POSTAL:
        return None
    return value, _clipped(text, value, match.end())


def find_addresses(scanned: KycText, labels: list[Label]) -> list[Span]:
    """``(start, end)`` of every postal address in the text, in text order, apart."""
    text = scanned.text
    found: list[Span] = []
    for start, end in find_streets(scanned):
        if found and end <= found[-1][1]:
            continue  # inside the address before: read on only once
        read = _READ_ON.match(text, end)
        found.append((start, _clipped(text, start, read.end() if read else end)))
    for kind, label, value in labels:
        if kind in ("address", "postcode"):
            span = _labelled(text, kind, label, value)
            if span is not None:
                found.append(span)
    return _joined(text, found)


def _joined(text: str, spans: list[Span]) -> list[Span]:
    """The spans in order; those that overlap or are only spaces and commas apart are one, up to
    :data:`MAX_ADDRESS_CHARS` (past it, the next starts where the one before ends)."""
    joined: list[Span] = []
    for span in sorted(spans):
        start, end = span
        if joined and not text[joined[-1][1] : start].strip(_JOINED_BY):
            first, last = joined[-1]
            if end - first <= MAX_ADDRESS_CHARS:
                joined[-1] = (first, max(end, last))
                continue
            start = max(start, last)
            while start < end and text[start] in _JOINED_BY:
                start += 1
            if start >= end:
                continue
        joined.append((start, end))
    return joined
