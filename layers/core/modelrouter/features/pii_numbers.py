"""Phone numbers and US social security numbers.

One pass finds every number-shaped candidate in the prepared text (digits zeroed, see
:class:`~modelrouter.features.pii_text.Prepared`); validity rules and a phone or SSN word just before a
bare number decide what it is. Numbers that are usually something else are left alone: years, prices,
dates, versions, and bare digit runs (order ids) unless a phone word such as "call" or "tel", or for
nine digits an SSN word, comes just before them.
"""

from __future__ import annotations

import re

from modelrouter.features.pii_text import Prepared
from modelrouter.features.records import PiiKind

__all__ = ["find_numbers"]

Span = tuple[PiiKind, int, int]

# One pass finds every number-shaped candidate. It runs on the UTF-8 bytes with every digit turned into
# "0", so the pattern starts with a literal and `re` jumps from digit to digit in C instead of testing
# every character against a class. A candidate starts at a digit that does not continue a word or a
# number (a "+" or "(" just before it joins it later), has a first group of two digits or a country or
# area code, more groups or nine digits in a row (shorter bare numbers are ids), at least seven digits,
# and is no ISO date.
# Atomic groups keep the scan linear, and a number runs to its end in one match however long it is (a
# table, a vector), so no later digit of it is tried again; `find_numbers` drops what is too long.
_NUMBER = re.compile(
    rb"""
    0
    (?<![\w.,/\-)\x80-\xff]0) (?<![\w)]\+0)
    (?:(?<=[+(]0)|(?=0|[ \-]?\(?00))
    (?=0{8}|0*+\)?[ .\-]?[(0])
    (?=[0 ().\-]{6}) (?=(?:[ ().\-]{0,2}0){6}) (?!000-00-00(?![0-]))
    (?>0*\)?)
    (?>(?:[ .\-]?\(0{1,5}\)|[ .\-]0+|(?<=\))0+)*)
    (?![\w\x80-\xff]|,0|[ .\-]?\(0)
    """,
    re.VERBOSE,
)
_MAX_NUMBER_CHARS = 40
"""Longer digit runs are tables or vectors, not phone or social security numbers."""
_DIGIT_GROUPS = re.compile(r"[0-9]+")
_SSN_SHAPE = re.compile(r"[0-9]{3}([-. ])[0-9]{2}\1[0-9]{4}")
# Searched in the lower-cased text just before a bare number; no \b up front, so `re` can skip ahead.
_PHONE_CONTEXT = re.compile(r"phone|tel|tél|mobil|móvil|cell|call|fax|whatsapp|sms|handy")
_SSN_CONTEXT = re.compile(r"ssn|social security|soc\.? ?sec|ss#|tax id|taxpayer")
_CONTEXT_CHARS = 32


def _is_ssn(span: str) -> bool:
    return _SSN_SHAPE.fullmatch(span) is not None and _ssn_valid(span[:3], span[4:6], span[7:])


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _in_context(words: re.Pattern[str], text: str, start: int) -> bool:
    """Whether one of ``words`` starts a word in the few characters before ``start``."""
    context = text[max(0, start - _CONTEXT_CHARS) : start].lower()
    return any(hit.start() == 0 or not context[hit.start() - 1].isalpha() for hit in words.finditer(context))


def _is_phone(text: str, start: int, span: str, digits: str, groups: list[int]) -> bool:
    count = len(digits)
    if count > 15 or groups in ([4, 2, 2], [2, 2, 4]):  # longer than E.164, or a date
        return False
    if span[0] == "+":
        return count >= 8 and digits[0] != "0"
    if "(" in span[:6]:
        return True
    if groups in ([3, 3, 4], [1, 3, 3, 4]) and (len(groups) == 3 or digits[0] == "1"):
        return True  # North American 555-123-4567, 1-800-555-0199
    has_separator = len(groups) > 1
    if digits.startswith("00") and digits[2] != "0" and has_separator:
        return count >= 10  # international 0049 30 1234567
    if digits[0] == "0" and digits[1] != "0" and has_separator and 2 <= groups[0] <= 5:
        return 9 <= count <= 12  # national with trunk prefix: 030 1234567, 020 7946 0958
    return _in_context(_PHONE_CONTEXT, text, start)


def _classify(text: str, start: int, span: str) -> PiiKind | None:
    if span.isdigit():
        digits, groups = span, [len(span)]
    else:
        parts = _DIGIT_GROUPS.findall(span)
        digits, groups = "".join(parts), [len(part) for part in parts]
    if len(digits) < 7:
        return None
    if _is_ssn(span):
        return PiiKind.US_SSN
    return PiiKind.PHONE if _is_phone(text, start, span, digits, groups) else None


def find_numbers(prepared: Prepared) -> list[Span]:
    """Phone numbers and US SSNs in the prepared text, in text order (card numbers are left to
    :func:`~modelrouter.features.pii_accounts.find_cards`, which wins where both claim a number)."""
    text, found = prepared.text, list[Span]()
    if not prepared.has_digits:
        return found
    to_chars = prepared.char_offsets()
    for match in _NUMBER.finditer(prepared.zeroed):
        start = to_chars(match.start())  # a match itself is ASCII
        end = start + match.end() - match.start()
        if end - start > _MAX_NUMBER_CHARS:
            continue
        span = text[start:end].removesuffix(")")  # "(5551234567)": the parentheses are no part of it
        end = start + len(span)
        lead = text[start - 1] if start else ""
        if lead == "+" or (lead == "(" and ")" in span):  # +49 30 …, (555) 123-4567
            start -= 1
            span = text[start:end]
        elif ")" in span:  # 555) 123-4567: the parenthesis opened before the number
            end = start + span.index(")")
            span = text[start:end]
        if span.isdigit() and len(span) < 13:  # a bare number (an id?) is personal data only by context
            if (
                len(span) == 9
                and _ssn_valid(span[:3], span[3:5], span[5:])
                and _in_context(_SSN_CONTEXT, text, start)
            ):
                found.append((PiiKind.US_SSN, start, end))
            elif len(span) >= 7 and _in_context(_PHONE_CONTEXT, text, start):
                found.append((PiiKind.PHONE, start, end))
            continue
        kind = _classify(text, start, span)
        if kind is not None:
            found.append((kind, start, end))
    return found
