"""Payment cards and IBANs however they are written, kept apart from look-alikes by their checksums.

Both scans run on the text's UTF-8 bytes with every digit turned into ``0`` (see
:class:`~modelrouter.features.pii_text.Prepared`), so ``re`` jumps from digit to digit in C.

* A **card number** is 13 to 19 digits that pass the Luhn check and start with a known issuer prefix of
  a length that issuer uses. Its digits may be split by any separator of up to three characters made
  of spaces, tabs, ``- . / _ \\ |`` (``4111.1111.1111.1111``, ``4111 / 1111 / 1111 / 1111``,
  ``4 1 1 1 …``). A run of such groups is taken whole when it has 13 to 19 digits in groups of one
  size (the last may differ) or in a card layout; inside a longer run only card layouts are tried
  (one group, 4-4-4-4 with an optional short tail, 4-6-5 and 4-6-4), and never a stretch of a longer
  block of four-digit groups (a table of amounts).
  Runs that read as something else are left alone: a decimal (``0.4111…``), thousands (``5 234 567 …``),
  dates (``6/12/2024 - 7/12/2024``) and digits glued to a hexadecimal word (a hash).
* An **IBAN** is a country code with its registered length, two check digits and the account, in any
  case, with spaces, dashes or dots anywhere (at most two in a row), that passes ISO 7064 mod 97.
  For countries whose accounts are all digits a letter in the account rules it out, and elsewhere a
  loosely written one may hold at most four letters in a row, so words after "at 12" or "it 40" do not
  make an IBAN by chance.
"""

from __future__ import annotations

import re
from itertools import pairwise

from modelrouter.features.pii_text import Prepared

__all__ = ["find_accounts", "is_card_number"]

Span = tuple[int, int]

# A run of at least 13 digits with separators of up to three characters between them. It starts at a
# digit that does not follow a digit; possessive quantifiers keep it linear, and a run ends only where
# the separators do, so no digit of it is tried twice.
_CARD_RUN = rb"(?<!00)(?:[ \t_./\\|\-]{0,3}+0){12,}+"
_GROUPS = re.compile(r"[0-9]+")
_HEX_LETTERS = frozenset("abcdefABCDEF")
_DATE_SEPARATORS = frozenset("/.-")
_DATE_LAYOUTS = frozenset(
    {(1, 1, 4), (1, 2, 4), (2, 1, 4), (2, 2, 4), (4, 1, 1), (4, 1, 2), (4, 2, 1), (4, 2, 2)}
)

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
# Countries whose account part (BBAN) is digits only, from the same registry.
_NUMERIC_ACCOUNTS = frozenset(
    str.split("AT BA BE CZ DE DK EE EG ES FI FO GL HR HU IL IS LT ME NO PL PT RS SE SI SK TL TN XK")
)
_IBAN_SEPARATORS = " -."
_IBAN_GAP = 2
"""The most separator characters in a row inside an IBAN."""
_IBAN_RUN_OF_LETTERS = 4
"""The most letters in a row in a loosely written IBAN's account part."""

# The first check digit, after a country code that starts a word; one separator may follow each letter.
# One character class is tested first (most digits follow a digit); then at least ten letters or digits
# must follow, and no five letters in a row among the first nine (words: "at 12 people").
_LETTER, _SEP, _GAP = rb"[A-Za-z]", rb"[ \-.]", rb"[ \-.]{0,2}+"
_COUNTRY_FORMS = (
    _LETTER + _LETTER,
    _LETTER + _LETTER + _SEP,
    _LETTER + _SEP + _LETTER,
    _LETTER + _SEP + _LETTER + _SEP,
)
_AFTER_COUNTRY = b"".join(
    [
        rb"(?<=[A-Za-z \-.]0)(?:",
        b"|".join(b"(?<=" + body + b"0)(?<![A-Za-z0-9]" + body + b"0)" for body in _COUNTRY_FORMS),
        b")(?=(?:" + _GAP + b"[A-Za-z0]){10})",
        b"(?!(?:" + _GAP + b"[A-Za-z0]){0,4}(?:" + _GAP + b"[A-Za-z]){5})",
    ]
)
_IBAN_START = re.compile(b"0" + _AFTER_COUNTRY)
# One scan for both: a digit that starts a run long enough for a card, or follows a country code.
_ACCOUNT = re.compile(b"0(?:(?P<run>" + _CARD_RUN + b")|" + _AFTER_COUNTRY + b")")
# What may follow the first check digit: digits, or letters and digits, with separators between them.
_DIGIT_BODY = re.compile(rb"0(?:[ \-.]{0,2}+0){0,40}+")
_ALNUM_BODY = re.compile(rb"0(?:[ \-.]{0,2}+[A-Za-z0]){0,40}+")


def is_card_number(digits: str) -> bool:
    """Whether ``digits`` (13 to 19 ASCII digits) is a card number: a known issuer prefix and length,
    and a valid Luhn check digit."""
    if not 13 <= len(digits) <= 19:
        return False
    known = any(
        low <= int(digits[: len(str(low))]) <= high and len(digits) in lengths
        for low, high, lengths in _CARD_RANGES
    )
    return known and _luhn_valid(digits)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def find_accounts(prepared: Prepared) -> tuple[list[Span], list[Span]]:
    """``(start, end)`` of every card number and of every IBAN in the prepared text, each in text order.

    One scan finds both: runs of digits long enough for a card, and digits after a country code.
    """
    text, zeroed = prepared.text, prepared.zeroed
    cards: list[Span] = []
    ibans: list[Span] = []
    if not prepared.has_digits:
        return cards, ibans
    to_chars = prepared.char_offsets()
    for match in _ACCOUNT.finditer(zeroed):
        start = to_chars(match.start())
        after_country = match.group("run") is None or _IBAN_START.match(zeroed, match.start())
        if after_country and (not ibans or start >= ibans[-1][1]):
            iban = _iban_from(prepared, match.start(), start)
            if iban is not None:
                ibans.append(iban)
        if match.group("run") is not None:
            cards.extend(_cards_in(text, start, text[start : start + match.end() - match.start()]))
    return cards, ibans


def _cards_in(text: str, start: int, run: str) -> list[Span]:
    """The card numbers in ``run``, a run of digit groups at ``start``, in order and apart."""
    groups = [(group.start(), group.end()) for group in _GROUPS.finditer(run)]
    separators = [run[end:begin] for (_, end), (begin, _) in pairwise(groups)]
    found: list[Span] = []
    taken = 0
    for first, last in _windows([end - begin for begin, end in groups], separators):
        if first >= taken and _plausible(text, start, run, groups, (first, last)):
            found.append((start + groups[first][0], start + groups[last - 1][1]))
            taken = last
    return found


def _windows(sizes: list[int], separators: list[str]) -> list[tuple[int, int]]:
    """Ranges of groups to try as a card, in order: the whole run when it is evenly grouped, then single
    groups and card layouts in it, but not a stretch of a longer block of four-digit groups with the
    same separator (a table of amounts)."""
    windows = []
    if 13 <= sum(sizes) <= 19 and (len(set(sizes[:-1])) <= 1 or sizes[:3] in ([4, 6, 5], [4, 6, 4])):
        windows.append((0, len(sizes)))
    for index, size in enumerate(sizes):
        if 13 <= size <= 19:
            windows.append((index, index + 1))
            continue
        if size != 4 or index + 2 >= len(sizes):
            continue
        if index and sizes[index - 1] == 4 and separators[index - 1] == separators[index]:
            continue  # inside a block of four-digit groups
        layout = sizes[index : index + 5]
        if layout[:4] == [4, 4, 4, 4]:
            if len(layout) == 5 and layout[4] < 4:  # 4-4-4-4-3 first, else 4-4-4-4
                windows.append((index, index + 5))
            if len(layout) < 5 or layout[4] != 4 or separators[index + 3] != separators[index + 2]:
                windows.append((index, index + 4))
        elif layout[:3] in ([4, 6, 5], [4, 6, 4]):
            windows.append((index, index + 3))
        elif len(layout) >= 4 and layout[:3] == [4, 4, 4] and layout[3] < 4:
            windows.append((index, index + 4))
    return windows


def _plausible(text: str, start: int, run: str, groups: list[Span], window: tuple[int, int]) -> bool:
    first, last = window
    digits = "".join(run[begin:end] for begin, end in groups[first:last])
    if not is_card_number(digits):
        return False
    separators = [run[groups[index][1] : groups[index + 1][0]] for index in range(first, last - 1)]
    if len(separators) == 1 and separators[0] == ".":
        return False  # a decimal number
    if last - first == 1 and "." in (
        run[groups[first - 1][1] : groups[first][0]] if first else "",
        run[groups[last - 1][1] : groups[last][0]] if last < len(groups) else "",
    ):
        return False  # the fraction or whole part of a decimal number
    sizes = [end - begin for begin, end in groups[first:last]]
    if len(set(separators)) == 1 and len(separators[0]) == 1 and sizes[0] < 3 and set(sizes[1:]) == {3}:
        return False  # thousands: 5 234 567 890 123 456
    if _has_date(run, groups, first, last):
        return False
    return not _in_hex_word(text, start + groups[first][0], start + groups[last - 1][1])


def _has_date(run: str, groups: list[Span], first: int, last: int) -> bool:
    """Whether three groups in a row read as a date: ``6/12/2024``, ``2024-03-14``, ``14.03.2024``."""
    for index in range(first, last - 2):
        (a, b), (c, d), (e, f) = groups[index : index + 3]
        separator = run[b:c]
        if separator not in _DATE_SEPARATORS or run[d:e] != separator:
            continue
        sizes = (b - a, d - c, f - e)
        year = run[e:f] if sizes[2] == 4 else run[a:b]
        if sizes in _DATE_LAYOUTS and year[:2] in ("19", "20"):
            return True
    return False


def _in_hex_word(text: str, start: int, end: int) -> bool:
    """Whether the digits are glued to letters that are all hexadecimal (part of a hash or an id)."""
    glued = []
    position = start - 1
    while position >= 0 and text[position].isascii() and text[position].isalnum():
        glued.append(text[position])
        position -= 1
    position = end
    while position < len(text) and text[position].isascii() and text[position].isalnum():
        glued.append(text[position])
        position += 1
    return bool(glued) and all(char in _HEX_LETTERS or char.isdigit() for char in glued)


def _iban_from(prepared: Prepared, byte: int, digit: int) -> Span | None:
    """The IBAN whose first check digit is at ``digit`` (``byte`` in the zeroed bytes), if it is one."""
    text = prepared.text
    position = digit - 1
    position -= text[position] in _IBAN_SEPARATORS
    start = position - 1 - (text[position - 1] in _IBAN_SEPARATORS)
    country = (text[start] + text[position]).upper()
    length = _IBAN_LENGTHS.get(country)
    if length is None:
        return None
    # Count the characters that could follow in C first: most candidates ("at 12") end right away.
    body = (_DIGIT_BODY if country in _NUMERIC_ACCOUNTS else _ALNUM_BODY).match(prepared.zeroed, byte)
    if body is None or len(body.group().translate(None, b" -.")) < length - 2:
        return None
    return _iban_at(text, start, country, digit, length)


def _iban_at(text: str, start: int, country: str, digit: int, length: int) -> Span | None:
    """The IBAN of ``country`` from ``start``, its first check digit at ``digit``, if it is one."""
    chars: list[str] = []
    position, gap = digit, 0
    while len(chars) < length - 2 and position < len(text):
        char = text[position]
        if char.isascii() and char.isalnum():
            chars.append(char)
            gap = 0
        elif char in _IBAN_SEPARATORS and chars and gap < _IBAN_GAP:
            gap += 1
        else:
            return None
        position += 1
    following = text[position : position + 1]
    if len(chars) < length - 2 or following.isalnum() or not chars[1].isdigit():
        return None
    account = "".join(chars[2:]).upper()
    if not _account_plausible(country, account, text[start:position]):
        return None
    rearranged = account + country + chars[0] + chars[1]
    if int("".join(str(int(char, 36)) for char in rearranged)) % 97 != 1:
        return None
    return start, position


def _account_plausible(country: str, account: str, written: str) -> bool:
    if account.isdigit():
        return True
    if country in _NUMERIC_ACCOUNTS:
        return False
    if written.isupper() and re.fullmatch(
        r"[A-Z0-9]{4}(?: [A-Z0-9]{4})*(?: [A-Z0-9]{1,3})?|[A-Z0-9]+", written
    ):
        return True  # the canonical print or electronic form: any letters the country allows
    return max(len(run) for run in re.findall(r"[A-Z]+", account)) <= _IBAN_RUN_OF_LETTERS
