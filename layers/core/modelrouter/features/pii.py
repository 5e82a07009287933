"""Find personal data in a request: e-mail addresses, phone numbers, payment cards, IBANs, US SSNs, and
the personal data of KYC forms: names next to personal labels, dates of birth and postal addresses.

Findings are a kind and a place, never the value, so they are safe to log. Every string a model reads
is scanned: each message's text and tool call arguments, and the rest of the request that reaches a
model (tool definitions, the answer's schema, ``stop``, names and URLs; see
:mod:`modelrouter.features.pii_sources`), so the classification check sees all of it.

The scan runs on every request, prompts of 400 KB included, so it is built for speed: look-alike and
invisible characters are undone first only when the text has any (:mod:`~modelrouter.features.pii_text`),
e-mails are found from their ``@`` (:mod:`~modelrouter.features.pii_email`), and every number-shaped kind
by regular expressions that ``re`` runs from digit to digit in C over the zeroed bytes
(:mod:`~modelrouter.features.pii_numbers`, :mod:`~modelrouter.features.pii_accounts`). Checksums
(Luhn, ISO 7064 mod 97) and validity rules weed out digit runs that only look like personal data.
Names, dates of birth and addresses are found from their labels and digits
(:mod:`~modelrouter.features.pii_labels`, :mod:`~modelrouter.features.pii_names`,
:mod:`~modelrouter.features.pii_dates`, :mod:`~modelrouter.features.pii_addresses`): labels backwards
from their ``:`` or ``=``, dates and street numbers from their digits, so prose costs a few scans in C.

Known gaps, traded for speed and few false alarms (the red-team corpus in ``tests/data`` keeps two):
e-mail addresses with non-ASCII characters, disguised ones under an uncommon top-level domain, and
"jane at example dot com" without a word such as "e-mail" before it; card digits split by letters or
by more than three characters, or run on into a block of four-digit groups ("… 1111 2024"); two digit
groups joined by one dot (a decimal); IBANs with more than one separator inside the country code;
full-width brackets and other CJK punctuation (left as they are); national phone numbers without a
trunk "0", area code, separator or phone word; SSNs without separators unless an SSN word comes just
before.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from modelrouter.features.pii_accounts import find_accounts
from modelrouter.features.pii_addresses import find_addresses
from modelrouter.features.pii_dates import find_dates_of_birth
from modelrouter.features.pii_email import find_emails
from modelrouter.features.pii_labels import KycText, find_labels
from modelrouter.features.pii_names import find_names
from modelrouter.features.pii_numbers import find_numbers
from modelrouter.features.pii_sources import Piece, place_name, request_pieces
from modelrouter.features.pii_text import Prepared, normalize
from modelrouter.features.records import PiiFinding, PiiKind
from modelrouter.request import AssistantMessage, ChatRequest, Message

__all__ = ["find_pii", "scan_text", "scanned_text"]

Span = tuple[PiiKind, int, int]

# Where two findings overlap, the more specific kind wins.
_PRIORITY = {
    PiiKind.EMAIL: 0,
    PiiKind.IBAN: 1,
    PiiKind.PAYMENT_CARD: 2,
    PiiKind.US_SSN: 3,
    PiiKind.PHONE: 4,
    PiiKind.DATE_OF_BIRTH: 5,
    PiiKind.POSTAL_ADDRESS: 6,
    PiiKind.PERSON_NAME: 7,
}
_READ_ON = frozenset({PiiKind.POSTAL_ADDRESS, PiiKind.PERSON_NAME})
"""Kinds read on over the words after a label or street: cut short, not dropped, by a more specific
finding inside them (``12 Main St, 555-123-4567``)."""
_CUT_CHARS = " ,;:-"


def _without_overlaps(text: str, spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda item: (item[1], _PRIORITY[item[0]])):
        if kept and span[1] < kept[-1][2]:
            kind, start, _ = kept[-1]
            if _PRIORITY[span[0]] < _PRIORITY[kind]:
                cut = len(text[start : span[1]].rstrip(_CUT_CHARS)) + start
                if kind in _READ_ON and cut > start:
                    kept[-1] = (kind, start, cut)
                    kept.append(span)
                else:
                    kept[-1] = span
            continue
        kept.append(span)
    return kept


def _kyc_spans(prepared: Prepared) -> list[Span]:
    """Names, dates of birth and postal addresses in the prepared text."""
    scanned = KycText(prepared)
    labels = find_labels(scanned)
    spans: list[Span] = [(PiiKind.PERSON_NAME, *span) for span in find_names(scanned, labels)]
    spans.extend((PiiKind.DATE_OF_BIRTH, *span) for span in find_dates_of_birth(scanned))
    spans.extend((PiiKind.POSTAL_ADDRESS, *span) for span in find_addresses(scanned, labels))
    return spans


def scan_text(text: str) -> list[tuple[PiiKind, int, int]]:
    """Find personal data in ``text``: ``(kind, start, end)`` for each finding, in text order.

    ``text[start:end]`` is the value (with any invisible characters inside it). Findings never overlap;
    where two kinds claim the same characters the more specific one wins (a Luhn-valid card number is
    a card, not also a phone number).
    """
    normalized = normalize(text)
    prepared = Prepared.of(normalized.text)
    spans: list[Span] = [(PiiKind.EMAIL, *span) for span in find_emails(prepared.text)]
    spans.extend(find_numbers(prepared))
    cards, ibans = find_accounts(prepared)
    spans.extend((PiiKind.PAYMENT_CARD, *span) for span in cards)
    spans.extend((PiiKind.IBAN, *span) for span in ibans)
    spans.extend(_kyc_spans(prepared))
    if len(spans) > 1:
        spans = _without_overlaps(prepared.text, spans)
    return [(kind, *normalized.span(start, end)) for kind, start, end in spans]


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
    """Find personal data in everything ``request`` sends to a model, by kind and place.

    Each message's :func:`scanned_text` (its text, plus the arguments of its tool calls for an assistant
    message) gives findings with its ``message_index`` and no ``location``; offsets are relative to it.
    Every other string a model reads (:func:`~modelrouter.features.pii_sources.request_pieces`) gives
    findings with a ``location`` naming it, offsets relative to that string.
    """
    findings = [
        PiiFinding(kind=kind, message_index=index, start=start, end=end)
        for index, message in enumerate(request.messages)
        for kind, start, end in scan_text(scanned_text(message))
    ]
    findings.extend(_scan_pieces(list(request_pieces(request))))
    return tuple(findings)


def _scan_pieces(pieces: list[Piece]) -> list[PiiFinding]:
    """Scan many short strings at once: joined by newlines, which no finding spans, then mapped back."""
    if not pieces:
        return []
    findings = scan_text("\n".join(piece.text for piece in pieces))
    if not findings:
        return []
    starts = [0, *accumulate(len(piece.text) + 1 for piece in pieces)]
    placed: list[PiiFinding] = []
    for kind, start, end in findings:
        number = bisect_right(starts, start) - 1
        piece, offset = pieces[number], starts[number]
        if start - offset >= len(piece.text):  # on a joining newline: cannot happen, but never misplace
            continue
        placed.append(
            PiiFinding(
                kind=kind,
                message_index=piece.message_index,
                location=place_name(piece.place),
                start=start - offset,
                end=min(end - offset, len(piece.text)),
            )
        )
    return placed
