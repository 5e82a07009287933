"""Incremental guardrails on a streamed answer: the same verdict and redaction as the whole answer."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrouter.checks import incremental
from modelrouter.checks.guardrails import apply_guardrails
from modelrouter.checks.incremental import (
    PII_HOLDBACK_CHARS,
    GuardStep,
    IncrementalGuard,
    holdback_chars,
)
from modelrouter.features.pii import scan_text
from modelrouter.policy import GuardrailsCheck

FRAGMENTS = [
    "Sure, here is the answer.",
    "The weather in Lyon is mild in spring and the museums are open late on Fridays. " * 3,
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "4111111111111111",
    "jane.doe@example.com",
    "a_b+c@mail.example.co.uk",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "+49 30 1234567",
    "call 555 123 4567",
    "SSN 123-45-6789",
    "jane[at]example[dot]com",
    "costs 12.50 in 2024",
    "ünïcödé ½ \U0001d7d9\U0001d7da\u200b\U0001d7db",  # mathematical digits, a zero-width space
]
BLOCKED_FRAGMENTS = ["swordfish", "SwordFish", "ticket-1234", "Paris"]
SEPARATORS = [" ", "\n", ", ", "", ". "]


@st.composite
def answers(draw: st.DrawFn) -> str:
    """Texts made of fragments with personal data among prose, and at times a blocked term or a pattern
    match (long enough that the guard releases text before the end)."""
    fragment = st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS))
    pieces = draw(st.lists(fragment, min_size=20, max_size=80))
    for blocked in draw(st.lists(st.sampled_from(BLOCKED_FRAGMENTS), max_size=2)):
        pieces.insert(draw(st.integers(0, len(pieces))), (blocked, draw(st.sampled_from(SEPARATORS))))
    return "".join(fragment + separator for fragment, separator in pieces)


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    """``text`` cut at random places (empty pieces included)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=30)))
    edges = [0, *cuts, len(text)]
    return [text[start:end] for start, end in pairwise(edges)]


def run(guard: IncrementalGuard, pieces: list[str]) -> tuple[str, list[GuardStep]]:
    """Feed every piece (while not blocked), then finish; what was sent and every step."""
    steps = [guard.feed(piece) for piece in pieces]
    steps.append(guard.finish())
    return "".join(step.text for step in steps), steps


def guard_for(check: GuardrailsCheck | None) -> IncrementalGuard:
    guard = IncrementalGuard.for_check(check)
    assert guard is not None
    return guard


REDACT = GuardrailsCheck(pii="redact", blocked_terms=["swordfish"], blocked_patterns=[r"ticket-\d{4}\b"])
BLOCK = GuardrailsCheck(
    pii="block", blocked_terms=["swordfish"], blocked_patterns=[r"(?i)\bticket-\d{1,6}\b"]
)
TERMS_ONLY = GuardrailsCheck(blocked_terms=["swordfish", "Paris"], blocked_patterns=[r"^Sure", r"open late$"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), text=answers())
def test_redaction_equals_whole_answer_for_every_split(data: st.DataObject, text: str) -> None:
    # Given an answer split at random places, under a policy that redacts personal data
    pieces = data.draw(splits(text))
    whole = apply_guardrails(REDACT, text)
    # When it streams through the guard
    sent, steps = run(guard_for(REDACT), pieces)
    # Then the guard blocks exactly when the whole answer is blocked, with the same names
    blocked = [step for step in steps if step.violations]
    assert bool(blocked) == bool(whole.violations)
    # And what is sent is the whole-answer redaction, or a prefix of it when blocked
    if whole.violations:
        assert whole.text.startswith(sent)
        assert set(blocked[0].violations) <= set(whole.violations)
    else:
        assert sent == whole.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.parametrize("check", [BLOCK, TERMS_ONLY], ids=["pii-block", "terms-patterns"])
@given(data=st.data(), text=answers())
def test_blocked_answer_is_cut_before_anything_blocked_is_sent(
    check: GuardrailsCheck, data: st.DataObject, text: str
) -> None:
    # Given an answer split at random places, under a policy that blocks terms, patterns (and PII)
    pieces = data.draw(splits(text))
    whole = apply_guardrails(check, text)
    # When it streams through the guard
    sent, steps = run(guard_for(check), pieces)
    # Then it is blocked exactly when the whole answer is, and otherwise sent unchanged
    assert any(step.blocked for step in steps) == bool(whole.violations)
    assert text.startswith(sent)
    if not whole.violations:
        assert sent == text
    # And what was sent holds no blocked term, no start of a pattern match, and no personal data
    lowered = sent.lower()
    assert not any(term.lower() in lowered for term in check.blocked_terms)
    for pattern in check.compiled_blocked_patterns:
        assert not any(pattern.match(text, start) for start in range(len(sent)))
    if check.pii == "block":
        assert all(start >= len(sent) for _, start, _ in scan_text(text))


ANCHORED = [r"\bab\b", r"(?<=x)ab(?=y)", r"^ab", r"ab$", r"ab\Z", r"(?m)^ab$", r"a(?!b)c?", r"(?<!\n)\Bb{2}"]


@settings(max_examples=300, deadline=None)
@pytest.mark.parametrize("pattern", ANCHORED)
@given(data=st.data(), text=st.text(alphabet="abcxy \n", max_size=40))
def test_patterns_with_anchors_and_lookarounds_judge_as_on_the_whole_answer(
    pattern: str, data: st.DataObject, text: str
) -> None:
    # Given a pattern that reads around its match, and a short answer split at random places
    check = GuardrailsCheck(blocked_patterns=[pattern])
    pieces = data.draw(splits(text))
    # When it streams through the guard
    sent, steps = run(guard_for(check), pieces)
    # Then it is blocked exactly when the whole answer is, and no match starts in what was sent
    assert any(step.blocked for step in steps) == bool(apply_guardrails(check, text).violations)
    assert text.startswith(sent)
    assert not any(check.compiled_blocked_patterns[0].match(text, start) for start in range(len(sent)))


def test_card_number_split_across_three_chunks_is_redacted() -> None:
    # Given a card number that arrives in three pieces
    guard = guard_for(GuardrailsCheck(pii="redact"))
    pieces = ["Charge it to 4111 11", "11 1111 ", "1111, thanks."]
    # When they stream through the guard
    sent, steps = run(guard, pieces)
    # Then the number is redacted as one, and nothing of it was sent before it was whole
    assert sent == "Charge it to [REDACTED:payment_card], thanks."
    assert steps[-1].redacted == ("payment_card",)
    assert not any("41" in step.text for step in steps)


def test_blocked_term_split_across_chunks_cuts_before_its_first_letter() -> None:
    # Given a blocked term that arrives split over three pieces after some text
    guard = guard_for(GuardrailsCheck(blocked_terms=["swordfish"]))
    text_before = "All good. The password is "
    # When the pieces stream through the guard
    first = guard.feed("All good. The password is sw")
    second = guard.feed("ord")
    third = guard.feed("fish, do not share it.")
    later = guard.feed("More text.")
    # Then text before the term was sent, none of the term, and the stream is cut once it completes
    sent = first.text + second.text
    assert sent
    assert text_before.startswith(sent)
    assert (third.blocked, third.violations, third.text) == (True, ("blocked term #1",), "")
    assert (later.blocked, later.text) == (True, "")
    assert guard.finish().text == ""


def test_pii_block_cuts_the_stream_without_quoting_the_answer() -> None:
    # Given a policy that blocks personal data and an answer with a phone number in pieces
    guard = guard_for(GuardrailsCheck(pii="block"))
    # When it streams through the guard
    sent, steps = run(guard, ["Call me at +49 ", "30 123", "4567 tomorrow."])
    # Then nothing is sent and the violation names the kind, not the number
    assert sent == ""
    assert steps[-1].violations == ("personal data in answer: phone",)


def test_anchored_patterns_judge_the_whole_answer_not_the_piece() -> None:
    # Given patterns anchored at the answer's start and end
    check = GuardrailsCheck(blocked_patterns=[r"^Sure", r"done$"])
    # When "Sure" and "done" appear in the middle of the answer, across pieces
    sent, steps = run(guard_for(check), ["I am ", "Sure it is do", "ne", " now."])
    # Then nothing is blocked
    assert sent == "I am Sure it is done now."
    assert not any(step.blocked for step in steps)
    # And at the true start and end they block, the end only once the answer is known to end there
    sent, steps = run(guard_for(check), ["Sure", ", here it is."])
    assert (sent, steps[1].violations) == ("", ("blocked pattern #1",))
    steps = run(guard_for(check), ["it is ", "done"])[1]
    assert [step.blocked for step in steps] == [False, False, True]
    assert steps[-1].violations == ("blocked pattern #2",)


def test_max_chars_cuts_the_stream_at_the_limit() -> None:
    # Given a limit of 10 characters
    guard = guard_for(GuardrailsCheck(max_chars=10))
    # When 12 characters stream in pieces
    sent, steps = run(guard, ["abcdef", "ghij", "kl"])
    # Then the first 10 were sent and the stream is cut at the 11th
    assert sent == "abcdefghij"
    assert steps[2].violations == ("12 characters, limit 10",)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (None, 0),
        (GuardrailsCheck(), 0),
        (GuardrailsCheck(blocked_terms=["swordfish", "x"]), 8),
        (GuardrailsCheck(blocked_patterns=[r"\bfoo\b"]), 3 + 4 - 1),
        (GuardrailsCheck(blocked_patterns=[r"(?<=a)b(?=cd)"]), 1 + 2 - 1),
        (GuardrailsCheck(pii="redact", blocked_terms=["swordfish"]), PII_HOLDBACK_CHARS),
        (GuardrailsCheck(max_chars=100), 0),
        (GuardrailsCheck(require_citation=r"\[doc:\d+\]"), None),
        (GuardrailsCheck(blocked_patterns=[r"secret.*"]), None),
        (GuardrailsCheck(blocked_patterns=[r"a(?=.*b)"]), None),
    ],
)
def test_holdback_is_the_longest_text_that_may_still_change(
    check: GuardrailsCheck | None, expected: int | None
) -> None:
    # Given a check / When its holdback is asked / Then it is the longest possible match's need
    assert holdback_chars(check) == expected
    # And only checks with a holdback get a guard (built directly, the others are refused)
    assert (IncrementalGuard.for_check(check) is None) == (expected is None)
    if expected is None:
        with pytest.raises(ValueError, match="whole answer"):
            IncrementalGuard(check)


def test_without_a_check_everything_passes_at_once() -> None:
    # Given no guardrails
    guard = guard_for(None)
    # When text streams / Then each piece is sent as it comes
    assert guard.feed("Card 4111 1111 1111 1111").text == "Card 4111 1111 1111 1111"
    assert guard.finish() == GuardStep("")


def test_a_term_whose_lower_case_is_longer_is_held_back_by_that_length() -> None:
    # Given a term with a dotted capital I, whose lower case is a letter and a combining dot
    guard = guard_for(GuardrailsCheck(blocked_terms=["İx"]))
    # When its lower case arrives as three plain characters, a character at a time
    steps = [guard.feed(char) for char in "ai\u0307x"]
    # Then the "i" is never sent, and the stream is cut at the "x"
    assert "".join(step.text for step in steps) == "a"
    assert steps[-1].violations == ("blocked term #1",)


def test_a_finished_guard_refuses_more_text() -> None:
    # Given a finished guard
    guard = guard_for(GuardrailsCheck(blocked_terms=["x"]))
    guard.finish()
    # When more text comes / Then it is refused
    with pytest.raises(RuntimeError):
        guard.feed("late")


def test_long_answer_scans_each_character_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 200 KB answer in small pieces and a scanner that counts what it reads
    scanned = [0]

    def counting_scan(text: str) -> list[tuple[object, int, int]]:
        scanned[0] += len(text)
        return scan_text(text)  # type: ignore[return-value]

    monkeypatch.setattr(incremental, "scan_text", counting_scan)
    text = "Contact jane.doe@example.com or pay 4111 1111 1111 1111 before noon. " * 3000
    guard = guard_for(GuardrailsCheck(pii="redact", blocked_terms=["swordfish"]))
    # When it streams through the guard
    sent, _ = run(guard, [text[start : start + 7] for start in range(0, len(text), 7)])
    # Then it is redacted, and the scanner read a small multiple of the answer (not its square)
    assert sent == apply_guardrails(GuardrailsCheck(pii="redact"), text).text
    assert scanned[0] < 15 * len(text)
