"""Find personal data in a request: e-mail addresses, phone numbers, payment cards, IBANs and US SSNs.

Findings are a kind and a place, never the value, so they are safe to log. The scan runs on every
request, prompts of 400 KB included, so it is built for speed: e-mails are found from their ``@`` and
every number-shaped kind from one regular expression that ``re`` runs from digit to digit in C.
Checksums (Luhn, ISO 7064 mod 97) and validity rules weed out digit runs that only look like personal
data, and numbers that are usually something else are left alone: years, prices, dates, versions, and
bare digit runs (order ids) unless a phone word such as "call" or "tel" comes just before them.

Known gaps, traded for speed and few false alarms: ASCII e-mail addresses only, upper-case IBANs only,
national phone numbers without a trunk "0", area code or separator, and SSNs written without dashes.
"""

from __future__ import annotations

import re

from modelrouter.features.model import PiiFinding, PiiKind
from modelrouter.request import AssistantMessage, ChatRequest, Message

__all__ = ["find_pii", "scan_text", "scanned_text"]

Span = tuple[PiiKind, int, int]

# An "@" (a literal, so `re` jumps between them in C) after a local-part character, then a domain.
_EMAIL_AT = re.compile(
    r"@(?<=[A-Za-z0-9_%+\-]@)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}([A-Za-z]{2,24})(?![\w-])"
)
_EMAIL_LOCAL_REVERSED = re.compile(r"[A-Za-z0-9._%+\-]{1,64}")
_FILE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "js", "ts", "py", "css"})

# One pass finds every number-shaped candidate. It runs on the UTF-8 bytes with every digit turned into
# "0", so the pattern starts with a literal and `re` jumps from digit to digit in C instead of testing
# every character against a class. A candidate starts at a digit that does not continue a word or a
# number (a "+" or "(" just before it joins it later), has a first group of two digits or a country or
# area code, more groups or ten digits in a row (shorter bare numbers are ids), at least seven digits,
# and is no ISO date; two capitals before it start an IBAN instead.
# Atomic groups keep the scan linear, and a number runs to its end in one match however long it is (a
# table, a vector), so no later digit of it is tried again; `_numbers` drops what is too long.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_NUMBER = re.compile(
    rb"""
    0
    (?:
        (?<=\b[A-Z][A-Z]0) (?P<iban>(?>0(?:[ ]?[A-Z0]){10,32}))
      |
        (?<![\w.,/\-)\x80-\xff]0) (?<![\w)]\+0)
        (?:(?<=[+(]0)|(?=0|[ \-]?\(?00))
        (?=0{9}|0*+\)?[ .\-]?[(0])
        (?=[0 ().\-]{6}) (?=(?:[ ().\-]{0,2}0){6}) (?!000-00-00(?![0-]))
        (?>0*\)?)
        (?>(?:[ .\-]?\(0{1,5}\)|[ .\-]0+|(?<=\))0+)*)
        (?![\w\x80-\xff]|,0|[ .\-]?\(0)
    )
    """,
    re.VERBOSE,
)
_MAX_NUMBER_CHARS = 40
"""Longer digit runs are tables or vectors, not phone, card or social security numbers."""
_DIGIT_GROUPS = re.compile(r"[0-9]+")
_SSN_SHAPE = re.compile(r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}")
# Searched in the lower-cased text just before a bare number; no \b up front, so `re` can skip ahead.
_PHONE_CONTEXT = re.compile(r"phone|tel|tél|mobil|móvil|cell|call|fax|whatsapp|sms|handy")
_PHONE_CONTEXT_CHARS = 32

# (lowest prefix, highest prefix, allowed lengths): prefixes compare on as many digits as they have.
_CARD_RANGES: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (300, 305, frozenset(range(14, 20))),  # Diners Club
    (36, 36, frozenset(range(14, 20))),
    (38, 39, frozenset(range(16, 20))),
    (3528, 3589, frozenset(range(16, 20))),  # JCB
    (2200, 2204, frozenset(range(16, 20))),  # Mir
    (50, 50, frozenset(range(13, 20))),  # Maestro
    (56, 58, frozenset(range(13, 20))),
    (6, 6, frozenset(range(13, 20))),  # Discover, UnionPay, Maestro
)


def _iban_lengths(table: str) -> dict[str, int]:
    return {entry[:2]: int(entry[2:]) for entry in table.split()}


# IBAN length per country, from the SWIFT IBAN registry.
_IBAN_LENGTHS = _iban_lengths(
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 "
    "DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 "
    "IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 "
    "MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 "
    "SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30"
)

# Where two findings overlap, the more specific kind wins.
_PRIORITY = {PiiKind.EMAIL: 0, PiiKind.IBAN: 1, PiiKind.PAYMENT_CARD: 2, PiiKind.US_SSN: 3, PiiKind.PHONE: 4}


def _emails(text: str) -> list[Span]:
    found: list[Span] = []
    for match in _EMAIL_AT.finditer(text):
        if match.group(1).lower() in _FILE_EXTENSIONS:  # icon@2x.png
            continue
        at = match.start()
        # The local part runs backwards from the "@": match it on the reversed text before it.
        local = _EMAIL_LOCAL_REVERSED.match(text[max(0, at - 64) : at][::-1])
        if local:
            start = at - local.end()
            while text[start] == ".":
                start += 1
            found.append((PiiKind.EMAIL, start, match.end()))
    return found


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_card(span: str, digits: str) -> bool:
    if not 13 <= len(digits) <= 19 or span[0] in "+(" or "." in span or ("-" in span and " " in span):
        return False
    known = any(
        low <= int(digits[: len(str(low))]) <= high and len(digits) in lengths
        for low, high, lengths in _CARD_RANGES
    )
    return known and _luhn_valid(digits)


def _is_ssn(span: str) -> bool:
    if not _SSN_SHAPE.fullmatch(span):
        return False
    area, group, serial = span[:3], span[4:6], span[7:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _phone_context(text: str, start: int) -> bool:
    context = text[max(0, start - _PHONE_CONTEXT_CHARS) : start].lower()
    return any(
        hit.start() == 0 or not context[hit.start() - 1].isalpha() for hit in _PHONE_CONTEXT.finditer(context)
    )


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
    return _phone_context(text, start)


def _iban_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    country = text[start : start + 2]
    length = _IBAN_LENGTHS.get(country)
    if length is None:
        return None
    chars: list[str] = []
    position = start
    while position < end and len(chars) < length:
        char = text[position]
        if char != " ":
            chars.append(char)
        elif len(chars) % 4:  # spaces only between groups of four
            return None
        position += 1
    if len(chars) < length or (position < len(text) and text[position].isalnum()):
        return None
    iban = "".join(chars)
    if int("".join(str(int(char, 36)) for char in iban[4:] + iban[:4])) % 97 != 1:
        return None
    return start, position


def _classify(text: str, start: int, span: str) -> PiiKind | None:
    if span.isdigit():
        digits, groups = span, [len(span)]
    else:
        parts = _DIGIT_GROUPS.findall(span)
        digits, groups = "".join(parts), [len(part) for part in parts]
    if len(digits) < 7:
        return None
    if _is_card(span, digits):
        return PiiKind.PAYMENT_CARD
    if _is_ssn(span):
        return PiiKind.US_SSN
    return PiiKind.PHONE if _is_phone(text, start, span, digits, groups) else None


def _numbers(text: str) -> list[Span]:
    found: list[Span] = []
    encoded = text.encode("utf-8", "surrogatepass")
    multi_byte = len(encoded) != len(text)
    byte_mark = char_mark = 0
    for match in _NUMBER.finditer(encoded.translate(_DIGITS_TO_ZERO)):
        start, end = match.span()
        if multi_byte:  # byte offsets to character offsets; a match itself is ASCII
            char_mark += len(encoded[byte_mark:start].decode("utf-8", "surrogatepass"))
            byte_mark, start, end = start, char_mark, char_mark + end - start
        if match.lastgroup == "iban":
            iban = _iban_span(text, start - 2, end)
            if iban:
                found.append((PiiKind.IBAN, *iban))
            continue
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
        if span.isdigit() and len(span) < 13:  # a bare number (an id?) is a phone number only by context
            if len(span) >= 7 and _phone_context(text, start):
                found.append((PiiKind.PHONE, start, end))
            continue
        kind = _classify(text, start, span)
        if kind is not None:
            found.append((kind, start, end))
    return found


def _without_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda item: (item[1], _PRIORITY[item[0]])):
        if kept and span[1] < kept[-1][2]:
            if _PRIORITY[span[0]] < _PRIORITY[kept[-1][0]]:
                kept[-1] = span
            continue
        kept.append(span)
    return kept


def scan_text(text: str) -> list[tuple[PiiKind, int, int]]:
    """Find personal data in ``text``: ``(kind, start, end)`` for each finding, in text order.

    ``text[start:end]`` is the value. Findings never overlap; where two kinds claim the same characters
    the more specific one wins (a Luhn-valid card number is a card, not also a phone number).
    """
    spans = _emails(text)
    spans.extend(_numbers(text))
    return _without_overlaps(spans) if len(spans) > 1 else spans


def scanned_text(message: Message) -> str:
    """The text of ``message`` that :func:`find_pii` scans and its offsets refer to.

    That is the message's text, followed for an assistant message by each tool call's arguments, each
    after a newline.
    """
    text = message.text()
    if isinstance(message, AssistantMessage) and message.tool_calls:
        text = "\n".join([text, *(call.function.arguments for call in message.tool_calls)])
    return text


def find_pii(request: ChatRequest) -> tuple[PiiFinding, ...]:
    """Find personal data in every message of ``request`` (system, user, assistant, tool), by kind and place.

    Offsets are relative to :func:`scanned_text` of the message, which is its text, plus the arguments of
    its tool calls for an assistant message.
    """
    return tuple(
        PiiFinding(kind=kind, message_index=index, start=start, end=end)
        for index, message in enumerate(request.messages)
        for kind, start, end in scan_text(scanned_text(message))
    )
