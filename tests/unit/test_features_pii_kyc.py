"""KYC personal data: names next to personal labels, dates of birth, postal addresses (issue 12, item 4).

Two labelled sets in ``tests/data/pii_kyc``: ``heldout.jsonl``, written before the detector and never
tuned against, and ``dev.jsonl``, the set the detector was built against. Each line is a text and its
labelled spans (kind and text); a line without spans is a hard negative.

Scoring is span-level. A finding counts as a true positive if it overlaps a labelled span of the same
kind (precision: true-positive findings / findings); a labelled span counts as found if a finding of the
same kind overlaps it (recall: found spans / labelled spans). Both must be at least 0.9 for each kind and
overall, on each set. Print the tables with ``python -m tests.unit.test_features_pii_kyc``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.helpers import build_policy, minimal_policy, model_entry

from modelrouter.checks.guardrails import apply_guardrails
from modelrouter.checks.incremental import PII_HOLDBACK_CHARS, IncrementalGuard
from modelrouter.features.pii import find_pii, scan_text
from modelrouter.features.records import PiiKind
from modelrouter.policy import DataClassification, GuardrailsCheck
from modelrouter.request import parse_chat_request
from modelrouter.selection import ExclusionReason, RequestContext, decide

DATA = Path(__file__).resolve().parent.parent / "data" / "pii_kyc"
SETS = ("heldout", "dev")
KINDS = (PiiKind.PERSON_NAME, PiiKind.DATE_OF_BIRTH, PiiKind.POSTAL_ADDRESS)
OVERALL = "overall"
MIN_PRECISION = MIN_RECALL = 0.9
MIN_HELDOUT_LINES, MIN_DEV_LINES, MIN_LINES = 110, 100, 200
MIN_SPANS_PER_KIND, MIN_NEGATIVES = 20, 30
HANG_S = 10.0
"""A hang detector, not a speed target: a linear scan of 1 MB takes well under a second."""
HOSTILE_BYTES = 1_000_000

Span = tuple[str, int, int]


@dataclass(frozen=True)
class Score:
    """Span-level counts for one kind (or all kinds) on one labelled set."""

    true_findings: int
    """Findings that overlap a labelled span of their kind."""
    findings: int
    """All findings of the kind."""
    found_spans: int
    """Labelled spans that a finding of their kind overlaps."""
    spans: int
    """All labelled spans of the kind."""

    @property
    def precision(self) -> float:
        """True-positive findings over findings (1.0 without findings)."""
        return self.true_findings / self.findings if self.findings else 1.0

    @property
    def recall(self) -> float:
        """Found spans over labelled spans (1.0 without spans)."""
        return self.found_spans / self.spans if self.spans else 1.0


@cache
def load(name: str) -> tuple[dict[str, Any], ...]:
    """The lines of ``tests/data/pii_kyc/<name>.jsonl``."""
    lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def labelled_spans(case: dict[str, Any]) -> list[Span]:
    """The labelled spans of a line as ``(kind, start, end)`` (each at its text's first occurrence)."""
    text = case["text"]
    return [
        (span["kind"], text.index(span["text"]), text.index(span["text"]) + len(span["text"]))
        for span in case["spans"]
    ]


def _overlaps(span: Span, others: list[Span]) -> bool:
    kind, start, end = span
    return any(
        kind == other and start < other_end and other_start < end for other, other_start, other_end in others
    )


def scores(name: str) -> dict[str, Score]:
    """Per kind and overall, the span-level counts of the detector on a labelled set."""
    counts = {kind: [0, 0, 0, 0] for kind in (*KINDS, OVERALL)}
    for case in load(name):
        labelled = labelled_spans(case)
        found = [(kind.value, start, end) for kind, start, end in scan_text(case["text"]) if kind in KINDS]
        for spans, others, offset in ((found, labelled, 0), (labelled, found, 2)):
            for span in spans:
                for key in (span[0], OVERALL):
                    counts[key][offset] += _overlaps(span, others)
                    counts[key][offset + 1] += 1
    return {str(kind): Score(*values) for kind, values in counts.items()}


def table(name: str) -> str:
    """The precision/recall table of a labelled set, as printed for the issue's note."""
    rows = [f"{name} ({len(load(name))} lines)", f"{'kind':<16} {'precision':>16} {'recall':>16}"]
    for kind, score in scores(name).items():
        precision = f"{score.precision:.3f} ({score.true_findings}/{score.findings})"
        recall = f"{score.recall:.3f} ({score.found_spans}/{score.spans})"
        rows.append(f"{kind:<16} {precision:>16} {recall:>16}")
    return "\n".join(rows)


def _found(text: str) -> list[tuple[str, str]]:
    return [(kind.value, text[start:end]) for kind, start, end in scan_text(text)]


def test_labelled_sets_are_large_apart_and_cover_every_kind() -> None:
    # Given the held-out and the development sets
    heldout, dev = load("heldout"), load("dev")

    # Then they are large enough, share no line, and hold every kind and hard negatives
    assert len(heldout) >= MIN_HELDOUT_LINES
    assert len(dev) >= MIN_DEV_LINES
    assert len(heldout) + len(dev) >= MIN_LINES
    assert not {case["text"] for case in heldout} & {case["text"] for case in dev}
    for cases in (heldout, dev):
        kinds = [span[0] for case in cases for span in labelled_spans(case)]
        assert all(kinds.count(kind.value) >= MIN_SPANS_PER_KIND for kind in KINDS)
        assert sum(not case["spans"] for case in cases) >= MIN_NEGATIVES


@pytest.mark.parametrize("kind", [*(kind.value for kind in KINDS), OVERALL])
@pytest.mark.parametrize("name", SETS)
def test_precision_and_recall_on_each_labelled_set(name: str, kind: str) -> None:
    # Given a labelled set / When every line is scanned
    score = scores(name)[kind]

    # Then precision and recall are at least 0.9
    assert score.precision >= MIN_PRECISION, table(name)
    assert score.recall >= MIN_RECALL, table(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Full name: Jane Doe", [("person_name", "Jane Doe")]),
        ("Customer: Jane Doe", [("person_name", "Jane Doe")]),
        ("Applicant: Seán O'Neill-Ward", [("person_name", "Seán O'Neill-Ward")]),
        ('{"last_name": "Doe"}', [("person_name", "Doe")]),
        ("my name is Jane Doe.", [("person_name", "Jane Doe")]),
        ("Jane Doe called about the invoice.", []),
        ("File name: Jane Doe", []),
        ("Customer: Thanks, all good.", []),
        ("Customer: Acme Corp", []),
        ("DOB: 14/02/1987", [("date_of_birth", "14/02/1987")]),
        ("born on June 3rd, 1985", [("date_of_birth", "June 3rd, 1985")]),
        ("Invoice date: 14/02/1987", []),
        ("DOB: 31/31/1987", []),
        (
            "Ship to 221B Baker Street, London NW1 6XE.",
            [("postal_address", "221B Baker Street, London NW1 6XE")],
        ),
        ("Anschrift: Am Lindenhof 3, 22303 Hamburg", [("postal_address", "Am Lindenhof 3, 22303 Hamburg")]),
        ("Am Montag 3 Termine", []),
        ("See Chapter 5 Drive Systems.", []),
        ("IP address: 10.0.0.12 port 8080", []),
    ],
)
def test_each_kind_needs_its_label_or_shape(text: str, expected: list[tuple[str, str]]) -> None:
    # Given a labelled value, the same value without a label, or a look-alike / When scanned
    # Then exactly the expected values are found
    assert _found(text) == expected


def test_a_phone_inside_an_address_cuts_the_address_short() -> None:
    # Given an address line that runs on into a phone number
    text = "Address: 12 Main St, 555-123-4567"

    # When scanned / Then both are found, the address up to the phone
    assert _found(text) == [("postal_address", "12 Main St"), ("phone", "555-123-4567")]


def test_findings_hold_offsets_never_values() -> None:
    # Given a KYC form in a message
    values = ["Maria Lopez", "14/02/1987", "27 Harcourt Road, Leeds LS6 2BH"]
    form = f"Name: {values[0]}\nDate of birth: {values[1]}\nAddress: {values[2]}"
    request = parse_chat_request({"messages": [{"role": "user", "content": form}]})

    # When scanned
    findings = find_pii(request)

    # Then each kind is found at its offsets, and no value is in what is stored or logged
    assert [(finding.kind, form[finding.start : finding.end]) for finding in findings] == list(
        zip(KINDS, values, strict=True)
    )
    dumped = "".join(finding.model_dump_json() for finding in findings)
    assert not any(value in dumped for value in values)


def _internal_and_vault_policy() -> dict[str, Any]:
    document = minimal_policy()
    document["models"] = [
        model_entry("internal-only", max_classification="internal"),
        model_entry("vault", max_classification="confidential"),
    ]
    document["routes"] = [
        {"name": "kyc", "when": {"pii_kinds": [kind.value for kind in KINDS]}, "models": ["vault"]},
        {"name": "default", "models": ["internal-only", "vault"]},
    ]
    return document


@pytest.mark.parametrize(
    "line",
    [
        "Full name: Maria López García",
        "Date of birth: 14/02/1987",
        "Address: Calle de Alcalá 45, 28014 Madrid",
    ],
    ids=[kind.value for kind in KINDS],
)
def test_a_kyc_line_raises_the_classification_and_matches_pii_kinds(line: str) -> None:
    # Given a tenant cleared for confidential data, a model cleared only for internal data, and a route
    # for the KYC kinds (when.pii_kinds)
    policy = build_policy(_internal_and_vault_policy())
    request = parse_chat_request({"messages": [{"role": "user", "content": f"Please check: {line}"}]})

    # When decided from the request itself
    decision = decide(policy, request, RequestContext(request_id="r", tenant_id="t1"))

    # Then the KYC route is taken and the request is confidential
    assert decision.route == "kyc"
    assert decision.classification is DataClassification.CONFIDENTIAL
    assert [candidate.model for candidate in decision.candidates] == ["vault"]


def test_the_same_request_without_kyc_data_stays_internal() -> None:
    # Given the policy above and a request with labels but no values
    policy = build_policy(_internal_and_vault_policy())
    request = parse_chat_request(
        {"messages": [{"role": "user", "content": "Which fields: name, DOB, address?"}]}
    )

    # When decided / Then it takes the default route, both models eligible
    decision = decide(policy, request, RequestContext(request_id="r", tenant_id="t1"))
    assert decision.classification is DataClassification.INTERNAL
    assert [candidate.model for candidate in decision.candidates] == ["internal-only", "vault"]


def test_a_kyc_line_keeps_a_model_cleared_only_for_internal_data_out() -> None:
    # Given a route that lists both models
    document = _internal_and_vault_policy()
    del document["routes"][0]
    request = parse_chat_request({"messages": [{"role": "user", "content": "Nom : Dupont  Prénom : Claire"}]})

    # When decided
    decision = decide(build_policy(document), request, RequestContext(request_id="r", tenant_id="t1"))

    # Then the internal-only model is excluded for its clearance
    assert [candidate.model for candidate in decision.candidates] == ["vault"]
    assert {item.model: item.reason for item in decision.exclusions} == {
        "internal-only": ExclusionReason.CLASSIFICATION_NOT_CLEARED
    }


ANSWER = "Sure. The customer's date of birth is 14/02/1987 and she lives at 8 rue des Lilas, 69003 Lyon."

DOB, ADDRESS = "14/02/1987", "8 rue des Lilas, 69003 Lyon"


def test_an_answer_with_a_date_of_birth_is_redacted_whole_and_streamed() -> None:
    # Given guardrails that redact personal data, and an answer with a date of birth and an address
    check = GuardrailsCheck(pii="redact")

    # When judged whole, and streamed a few characters at a time
    whole = apply_guardrails(check, ANSWER)
    guard = IncrementalGuard(check)
    pieces = [ANSWER[start : start + 7] for start in range(0, len(ANSWER), 7)]
    streamed = "".join(guard.feed(piece).text for piece in pieces) + guard.finish().text

    # Then both send the same redacted text
    redacted = ANSWER.replace(DOB, "[REDACTED:date_of_birth]").replace(ADDRESS, "[REDACTED:postal_address]")
    assert whole.text == streamed == redacted
    assert whole.redacted == ("date_of_birth", "postal_address")


def test_an_answer_with_a_date_of_birth_is_blocked_under_pii_block() -> None:
    # Given guardrails that block personal data / When an answer with a date of birth is judged
    outcome = apply_guardrails(GuardrailsCheck(pii="block"), "Her DOB: 1990-07-23.")

    # Then it is blocked, naming the kind and not the value
    assert outcome.violations == ("personal data in answer: date_of_birth",)


HOSTILE = {
    "name-labels": "Name: ",
    "name-values": "Name: Jane Doe ",
    "role-words": "Customer: Aa Bb Cc Dd Ee Ff Gg ",
    "titles": "Mr. Aa ",
    "name-is": "my name is Aa Bb ",
    "dob-dates": "DOB: 01/02/1990 ",
    "dates": "12 March 1990 ",
    "born-on": "born on 1 March ",
    "address-labels": "Address: ",
    "address-values": "Address: 12 Main St, ",
    "streets": "12 Aa Bb Cc Dd Street ",
    "words-after-numbers": "Calle Aa 1 ",
    "german-streets": "Aastraße 1, ",
    "place-streets": "Am Aa 1 ",
    "uk-postcodes": "London SW1A 1AA ",
    "zip-codes": "Springfield, IL 62701 ",
    "po-boxes": "PO Box 1 ",
    "one-long-address": "Address: " + "Aa " * 400_000,
}


@pytest.mark.parametrize("unit", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_megabyte_of_label_like_text_stays_linear(unit: str) -> None:
    # Given 1 MB of labels, values and address parts, repeated to provoke per-match work
    text = (unit * (HOSTILE_BYTES // len(unit) + 1))[:HOSTILE_BYTES]
    started = time.perf_counter()

    # When scanned
    findings = scan_text(text)

    # Then it finishes (a hang detector: backtracking or re-reading would take minutes), and every
    # finding is in order and short enough for the streaming guard to hold back
    assert time.perf_counter() - started < HANG_S
    assert all(end - start <= PII_HOLDBACK_CHARS for _, start, end in findings)
    assert all(previous[2] <= current[1] for previous, current in pairwise(findings))


KYC_SOUP = [
    "Name: ", "name is ", "Customer: ", "Mr. ", "Jane ", "DOE ", "de ", "DOB: ", "born on ", "12", "/", "03",
    "1990", " March ", "Address: ", "Street ", "Calle ", "Aastraße ", "SW1A 1AA", ", ", "IL ", "62701", "\n",
    ":", "=", "é", "  ",
]  # fmt: skip


@given(st.lists(st.sampled_from(KYC_SOUP), max_size=60).map("".join))
def test_scan_of_kyc_soup_is_sound(text: str) -> None:
    # Given text made of labels, name words, dates and address parts in any order / When scanned
    findings = scan_text(text)

    # Then findings are in bounds, ordered, never overlap, and short enough to hold back
    previous_end = 0
    for _kind, start, end in findings:
        assert previous_end <= start < end <= len(text)
        assert end - start <= PII_HOLDBACK_CHARS
        previous_end = end


KYC_FRAGMENTS = [
    "Name: Jane Doe",
    "Customer: Priya Ramanathan",
    "my name is Carlos Mendes",
    "DOB: 14/02/1987",
    "born on June 3rd, 1985",
    "Address: 27 Harcourt Road, Leeds LS6 2BH",
    "Anschrift: Lindenstraße 12, 50674 Köln",
    "8 rue des Lilas, 69003 Lyon",
    "Calle de Alcalá 45, 28014 Madrid",
    "Springfield, IL 62701",
    "call 555 123 4567",
    "The weather in Lyon is mild in spring and the museums are open late on Fridays. " * 3,
]
SEPARATORS = [" ", "\n", ", ", ". "]


FRAGMENT = st.tuples(st.sampled_from(KYC_FRAGMENTS), st.sampled_from(SEPARATORS))


@given(st.lists(FRAGMENT, min_size=20, max_size=60), st.lists(st.integers(0, 10_000), max_size=20))
def test_streamed_redaction_of_kyc_data_equals_the_whole_answer(
    pieces: list[tuple[str, str]], cuts: list[int]
) -> None:
    # Given an answer of KYC fragments among prose, cut at random places
    text = "".join(fragment + separator for fragment, separator in pieces)
    edges = [0, *sorted(min(cut, len(text)) for cut in cuts), len(text)]
    check = GuardrailsCheck(pii="redact")

    # When streamed through the guard
    guard = IncrementalGuard(check)
    streamed = "".join(guard.feed(text[start:end]).text for start, end in pairwise(edges))

    # Then what is sent is the whole-answer redaction
    assert streamed + guard.finish().text == apply_guardrails(check, text).text


if __name__ == "__main__":
    print("\n\n".join(table(name) for name in SETS))
