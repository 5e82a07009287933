"""Dates of birth: a date in a common format with a birth label just before it.

Dates are found from their digits: one pass in C over the lower-cased bytes with every digit zeroed (see
:class:`~modelrouter.features.pii_labels.KycText`), for ``14/02/1987``, ``1990-07-23``, ``05.11.1968``,
``3 March 1979``, ``1. Januar 1970``, ``21 de marzo de 1977``, ``14-Mar-1979`` and ``June 3rd, 1985``.
Each date is checked (day, month and a year from 1880 to 2099, or two digits) and is a date of birth
only when a birth label (``DOB``, ``date of birth``, ``born on``, ``Geburtsdatum``, ``né le``,
``fecha de nacimiento`` … in :data:`~modelrouter.features.pii_words.BIRTH_LABELS`) ends at most a few
characters before it: separators, a connecting word (``is``, ``as``, ``am``, ``le``) and a format hint
(``(MM/DD/YYYY)``) may stand between. Other dates (an invoice date, a release) are left alone.

The finding is the date itself; the label is read from at most :data:`LABEL_REACH` characters before it.
"""

from __future__ import annotations

import re

from modelrouter.features.pii_labels import KycText, label_pattern
from modelrouter.features.pii_words import BIRTH_LABELS, MONTHS

__all__ = ["LABEL_REACH", "find_dates_of_birth"]

Span = tuple[int, int]

LABEL_REACH = 64
"""How far before a date its birth label may start (bytes)."""
_MIN_YEAR, _MAX_YEAR = 1880, 2099
_MAX_DAY, _MAX_MONTH = 31, 12
_LETTER = rb"(?:[a-z]|\xc3[\x80-\xbf])"

_DATE_FORMS = (
    rb"0?(?P<sep>[./\-])0{1,2}(?P=sep)(?:0000|00)",  # 14/02/1987, 3/7/88
    rb"000(?P<iso>[./\-])0{1,2}(?P=iso)0{1,2}",  # 1990-07-23, 1988/12/01
    # 3 March 1979, 4. Mai 1949, 21 de marzo de 1977, 14-Mar-1979
    rb"0?(?:st|nd|rd|th|er|\.)?(?:[ ](?:of|de))?[ \-](?P<month>"
    + _LETTER
    + rb"{3,10})\.?(?:,?[ ](?:de[ ])?|-)0000",
    rb"(?P<after_month>0?(?:st|nd|rd|th)?,?[ ]0000)",  # the "9, 2001" of "August 9, 2001"
)
# A date starts at a digit that does not continue a word or a number; `re` jumps from digit to digit.
_DATE = re.compile(rb"0(?<![0-9a-z]0)(?:" + b"|".join(_DATE_FORMS) + rb")(?![0-9])")
_MONTH_BEFORE = re.compile(rb"(?<![a-z\x80-\xff])(" + _LETTER + rb"{3,10})\.?[ ]\Z")
_GAP = (
    rb"[ \t:=\-\"'(),>\[\]/]{0,6}"
    rb"(?:(?:is|was|as|on|am|le|el|il|em|the|de)[ ]{1,2}[:\-]?[ ]?)?"
    rb"(?:\((?:[dmyjat]{1,4}[./\- ]?){3}\)[ :=\-]{0,4})?"
)
"""What may stand between a birth label and its date: separators, a connecting word, a format hint."""
_LABEL = rb"(?<![a-z0\x80-\xff])(?:" + label_pattern(BIRTH_LABELS) + rb")" + _GAP
_BIRTH_LABEL = re.compile(_LABEL + rb"\Z")
_BIRTH_LABEL_AND_MONTH = re.compile(_LABEL + _LETTER + rb"{3,10}\.?[ ]\Z")
"""A birth label before a month-first date (``born on August 9, 2001``: searched back from the 9)."""
_DIGITS = re.compile(r"\d+")


def _year_ok(year: str) -> bool:
    return len(year) == 2 or _MIN_YEAR <= int(year) <= _MAX_YEAR


def _numeric_ok(parts: list[str], year_first: bool) -> bool:
    if len(parts) != 3:
        return False
    if year_first:
        year, month, day = parts
        return _year_ok(year) and 1 <= int(month) <= _MAX_MONTH and 1 <= int(day) <= _MAX_DAY
    first, second, year = (int(parts[0]), int(parts[1]), parts[2])
    in_range = 1 <= first <= _MAX_DAY and 1 <= second <= _MAX_DAY
    return in_range and min(first, second) <= _MAX_MONTH and len(parts[2]) in (2, 4) and _year_ok(year)


def _month(word: bytes) -> bool:
    return word.decode("utf-8", "replace").lower() in MONTHS


def _date(scanned: KycText, match: re.Match[bytes]) -> tuple[int, int] | None:
    """The byte span of the date ``match`` found, if it is a valid date (a month-first date starts at
    its month)."""
    start, end = match.span()
    digits = _DIGITS.findall(scanned.prepared.encoded[start:end].decode("utf-8", "replace"))
    if match.group("sep") or match.group("iso"):
        return (start, end) if _numeric_ok(digits, year_first=match.group("iso") is not None) else None
    day = int(digits[0])
    if not (1 <= day <= _MAX_DAY and _year_ok(digits[-1])):
        return None
    if match.group("month") is not None:
        return (start, end) if _month(match.group("month")) else None
    before = _MONTH_BEFORE.search(scanned.lowered, max(0, start - 12), start)
    return (before.start(), end) if before is not None and _month(before.group(1)) else None


def find_dates_of_birth(scanned: KycText) -> list[Span]:
    """``(start, end)`` of every date of birth in the text, in text order."""
    if not scanned.prepared.has_digits:
        return []
    lowered = scanned.lowered
    found: list[int] = []
    for match in _DATE.finditer(lowered):
        label = _BIRTH_LABEL_AND_MONTH if match.group("after_month") else _BIRTH_LABEL
        if label.search(lowered, max(0, match.start() - LABEL_REACH), match.start()) is None:
            continue  # checked first: most dates are no birth dates
        span = _date(scanned, match)
        if span is not None:
            found.extend(span)
    chars = scanned.chars(found)
    return [(chars[index], chars[index + 1]) for index in range(0, len(chars), 2)]
