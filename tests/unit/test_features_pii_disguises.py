"""Personal data in disguise: any separator, any case and spacing, look-alike and invisible characters."""

from __future__ import annotations

import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from modelrouter.features.pii import scan_text
from modelrouter.features.pii_text import normalize
from modelrouter.features.records import PiiKind
from modelrouter.provenance import scrub

HANG_S = 10.0
"""Longer than any linear scan of the adversarial inputs takes, far shorter than backtracking."""

CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4222222222222"]
CARD_SEPARATORS = [" ", "-", ".", "/", "_", "\\", "|", "\t", " - ", " / ", ". ", "__"]
IBANS = [
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "CH9300762011623852957",
    "ES9121000418450200051332",
]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


def full_width(text: str) -> str:
    """``text`` with its printable ASCII characters in their full-width forms."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


def arabic_indic(text: str) -> str:
    """``text`` with its digits in Arabic-Indic digits."""
    return text.translate({ord("0") + digit: chr(0x0660 + digit) for digit in range(10)})


def _found(text: str) -> list[tuple[PiiKind, str]]:
    return [(kind, text[start:end]) for kind, start, end in scan_text(text)]


@given(
    card=st.sampled_from(CARDS),
    size=st.sampled_from([1, 2, 3, 4, 5, 8, 19]),
    separators=st.lists(st.sampled_from(CARD_SEPARATORS), min_size=18, max_size=18),
)
def test_card_number_with_any_separators_is_found(card: str, size: int, separators: list[str]) -> None:
    # Given a card number cut into even groups, joined by any (possibly mixed) separators (but not two
    # groups joined by a dot: 41111111.11111111 is a decimal number)
    groups = [card[index : index + size] for index in range(0, len(card), size)]
    assume(len(groups) != 2 or separators[0] != ".")
    written = "".join(group + separator for group, separator in zip(groups, separators, strict=False))
    written = written[: len(written) - len(separators[len(groups) - 1])]

    # When scanned inside a sentence / Then exactly that is one card
    assert _found(f"Card: {written}, thanks.") == [(PiiKind.PAYMENT_CARD, written)]


@given(
    iban=st.sampled_from(IBANS),
    upper=st.lists(st.booleans(), min_size=27, max_size=27),
    gaps=st.lists(st.sampled_from(["", "", "", " ", "-", ".", "  ", " -"]), min_size=27, max_size=27),
)
def test_iban_in_any_case_and_spacing_is_found(iban: str, upper: list[bool], gaps: list[str]) -> None:
    # Given an IBAN with each character in either case and separators anywhere (one at most in the
    # country code and before the check digits)
    written = ""
    for index, char in enumerate(iban):
        gap = gaps[index][:1] if index < 2 else gaps[index]
        written += (char.upper() if upper[index] else char.lower()) + (gap if index < len(iban) - 1 else "")

    # When scanned inside a sentence / Then exactly that is one IBAN
    assert _found(f"IBAN: {written}, thanks.") == [(PiiKind.IBAN, written)]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (PiiKind.PAYMENT_CARD, full_width("4111 1111 1111 1111")),
        (PiiKind.PAYMENT_CARD, arabic_indic("4111 1111 1111 1111")),
        (PiiKind.PAYMENT_CARD, "4111\u00a01111\u20131111\u20131111"),
        (PiiKind.IBAN, full_width("DE89 3704 0044 0532 0130 00")),
        (PiiKind.EMAIL, f"jane{full_width('@')}example{full_width('.')}com"),
        (PiiKind.EMAIL, "jane@example\u3002com"),
        (PiiKind.EMAIL, "jane @ example.com"),
        (PiiKind.EMAIL, "jane[at]example[dot]com"),
        (PiiKind.EMAIL, "jane.doe (at) mail (dot) example (dot) org"),
        (PiiKind.EMAIL, "jane{@}example[.]co.uk"),
        (PiiKind.US_SSN, "123.45.6789"),
        (PiiKind.US_SSN, "123 45 6789"),
        (PiiKind.US_SSN, full_width("123-45-6789")),
        (PiiKind.PHONE, full_width("+1 555 123 4567")),
        (PiiKind.PHONE, "+7 (495) 123-45-67"),
        (PiiKind.PHONE, "+81 3-1234-5678"),
    ],
)
def test_look_alike_characters_and_disguises_are_seen_through(kind: PiiKind, value: str) -> None:
    # Given a value in full-width or other-script characters, or a disguised e-mail address
    text = f"Please use {value} for this."

    # When scanned / Then it is found, and the offsets point at the value as written
    assert _found(text) == [(kind, value)]


def test_each_card_of_a_run_is_found_and_redacted_but_not_a_table_of_amounts() -> None:
    # Given two cards joined by a slash, a card followed by its expiry, and a table of amounts
    two = "cards 4111 1111 1111 1111 / 5555 5555 5555 4444 ok"

    # When scanned / Then each card is found on its own and scrubbed, and the table is left alone
    assert _found(two) == [
        (PiiKind.PAYMENT_CARD, "4111 1111 1111 1111"),
        (PiiKind.PAYMENT_CARD, "5555 5555 5555 4444"),
    ]
    assert scrub(two) == "cards [payment_card] / [payment_card] ok"
    assert _found("5555 5555 5555 4444 12/27 123") == [(PiiKind.PAYMENT_CARD, "5555 5555 5555 4444")]
    assert _found("| 4926 | 6163 | 4474 | 2302 | 9669 | 2249 |") == []


def test_words_for_at_and_dot_make_an_address_only_after_an_email_word() -> None:
    # Given "at" and "dot" written out, with and without an e-mail word before them
    # When scanned / Then only the one after "e-mail" is an address, and never a pronoun "at" a site
    assert _found("E-mail: jane at example dot com") == [(PiiKind.EMAIL, "jane at example dot com")]
    assert _found("The docs are at example dot com") == []
    assert _found("Email us at example dot com") == []


def test_ssn_without_separators_is_found_after_an_ssn_word() -> None:
    # Given nine bare digits with and without an SSN word before them
    # When scanned / Then only the one after "SSN" is a social security number
    assert _found("SSN: 078051120") == [(PiiKind.US_SSN, "078051120")]
    assert _found("Order 078051120 shipped") == []


@given(st.lists(st.sampled_from([*INVISIBLE, "", ""]), min_size=19, max_size=19))
def test_invisible_characters_inside_a_value_are_skipped_and_redacted_with_it(marks: list[str]) -> None:
    # Given a card number with invisible characters between its characters
    card = "4111 1111 1111 1111"
    written = "".join(char + mark for char, mark in zip(card, marks, strict=True)).rstrip("".join(INVISIBLE))
    text = f"card {written} ok"

    # When scanned
    ((kind, start, end),) = scan_text(text)

    # Then the finding spans the value as written, and scrubbing cuts the original text around it
    assert (kind, text[start:end]) == (PiiKind.PAYMENT_CARD, written)
    assert scrub(text) == "card [payment_card] ok"


def test_normalized_offsets_map_back_to_the_original() -> None:
    # Given text with dropped invisible characters and replaced full-width digits
    text = "\u200bab\u200b" + full_width("12") + "\u2060" + full_width("3")

    # When normalized
    normalized = normalize(text)

    # Then the text is plain, and each span maps back to the characters it came from
    assert normalized.text == "ab123"
    assert normalized.span(0, 5) == (1, 8)
    assert normalized.span(2, 4) == (4, 6)
    assert normalized.span(4, 5) == (7, 8)
    assert normalize("plain ascii") == normalize("plain ascii")


@given(
    st.text(
        alphabet=st.sampled_from([*"0123456789 -./_|@[]()atdoAEIDGB", *INVISIBLE, "\uff11", "\n"]),
        max_size=200,
    )
)
def test_scan_of_disguise_soup_is_sound(text: str) -> None:
    # Given digits, separators, disguise markers and invisible characters in any order
    # When scanned / Then findings are in bounds, ordered and never overlap
    previous_end = 0
    for _kind, start, end in scan_text(text):
        assert previous_end <= start < end <= len(text)
        previous_end = end


@pytest.mark.parametrize(
    "text",
    [
        "4 " * 200_000,
        "4111-" * 80_000,
        "\u200b1" * 200_000,
        "\u0661" * 400_000,
        "de12 " * 80_000,
        "D E 8 9 " * 50_000,
        "a [at] b [dot] " * 27_000,
        "x @ y . " * 50_000,
        "at 12 " * 66_000,
    ],
    ids=[
        "spaced-digits",
        "dashed-groups",
        "invisible",
        "arabic-digits",
        "iban-starts",
        "spaced-iban",
        "bracket-at",
        "spaced-at",
        "at-number",
    ],
)
def test_adversarial_disguises_stay_linear(text: str) -> None:
    # Given 400 KB built to make the disguise scans work hard
    started = time.perf_counter()

    # When scanned
    scan_text(text)

    # Then it finishes: in about 0.3 s here; backtracking over 400 KB would take hours (how fast a scan
    # is belongs to `make bench`, so the bound only tells a hang from a scan on a busy machine)
    assert time.perf_counter() - started < HANG_S
