"""The topic classifier at request time: terms of a text, the artifact's checks, guesses and their
evidence, hostile text scored from a bounded slice, and scoring without the learn extra (as in Lambda)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from tests.topic_fixtures import TOPIC_WORDS, one_word_confidence, topics_bytes, word_topics_document

from modelrouter.learned.artifact import ArtifactError
from modelrouter.learned.features import capped_slice
from modelrouter.learned.topic_terms import TopicTokenizer, topic_terms
from modelrouter.learned.topics import MAX_TOPIC_ARTIFACT_BYTES, TopicClassifier, load_topic_classifier

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "policies" / "routers" / "support-topics.json"
# A bound far above a capped slice's scoring (about a millisecond) and far below scanning 1 MB of text
# term by term in Python: a hang detector, not a benchmark.
HANG_SECONDS = 5.0


def classifier(**options: Any) -> TopicClassifier:
    return load_topic_classifier(topics_bytes(**options), "test topics")


def test_terms_are_lower_cased_words_pairs_and_character_ngrams_with_digits_as_zero() -> None:
    # Given the default tokenizer (words, word pairs, character 3- and 4-grams)
    tokenizer = TopicTokenizer()
    # When a short text is read
    terms = topic_terms("Refund ORDER 55821?", tokenizer)
    # Then words are lower-cased, digits written 0, punctuation runs kept, adjacent pairs joined
    assert terms.words == ["refund", "order", "0", "?", "refund order", "order 0", "0 ?"]
    # And character n-grams come from the padded words only, never from punctuation
    assert " re" in terms.chars
    assert "und " in terms.chars
    assert " 0 " in terms.chars
    assert not any("?" in gram for gram in terms.chars)


def test_a_long_text_is_read_only_through_its_capped_slice() -> None:
    # Given a 1 MB text whose middle holds words that appear nowhere else
    tokenizer = TopicTokenizer()
    text = "invoice " * 200 + "fraudulent chargeback " * 60_000 + "weather " * 100
    # When its terms are taken
    terms = topic_terms(text, tokenizer)
    # Then they are exactly the terms of its head-and-tail slice: the middle is never read
    assert terms == topic_terms(capped_slice(text, tokenizer.head_chars, tokenizer.tail_chars), tokenizer)
    assert "chargeback" not in terms.words


@pytest.mark.parametrize("topic", sorted(TOPIC_WORDS))
def test_a_text_with_one_topic_word_gets_that_topic_with_the_expected_probability(topic: str) -> None:
    # Given the word classifier (each topic has one word)
    topics = classifier()
    text = f"Please look at this {TOPIC_WORDS[topic].upper()} now"
    # When a text holding one topic's word is scored
    probabilities = topics.probabilities(text)
    guess = topics.guess(text, classifier="routers/test-topics.json")
    # Then that topic's probability is e^s / (e^s + 2), the others share the rest
    assert probabilities[topic] == pytest.approx(one_word_confidence(), abs=1e-12)
    assert math.fsum(probabilities.values()) == pytest.approx(1.0, abs=1e-12)
    # And the guess names it, with that confidence, the classifier and the word as evidence
    assert (guess.label, guess.classifier, guess.evidence) == (
        topic,
        "routers/test-topics.json",
        TOPIC_WORDS[topic],
    )
    assert guess.confidence == pytest.approx(one_word_confidence(), abs=1e-12)


def test_below_min_confidence_a_guess_has_no_label_but_keeps_its_confidence() -> None:
    # Given a text with two topics' words (0.5 each: below a 0.6 threshold)
    topics = classifier()
    text = "the invoice function"
    # When it is guessed with the artifact's threshold and with a policy's lower one
    strict = topics.guess(text, classifier="k", min_confidence=0.6)
    loose = topics.guess(text, classifier="k", min_confidence=0.3)
    # Then the strict guess has no label; the loose one has the first of the tied topics
    assert strict.label is None
    assert loose.label == "billing"
    assert strict.confidence == loose.confidence


def test_a_text_without_vocabulary_words_gets_the_priors_and_no_evidence() -> None:
    # When a text with no vocabulary word is guessed
    guess = classifier().guess("完全に無関係な文章です 🙂", classifier="k")
    # Then every topic is equally likely (zero biases): no label at the 0.5 threshold, no evidence
    assert guess.label is None
    assert guess.confidence == pytest.approx(1 / len(TOPIC_WORDS))
    assert guess.evidence == ""


def test_evidence_names_vocabulary_words_only_never_other_prompt_text() -> None:
    # Given the committed support classifier and a prompt with a secret-looking token
    topics = load_topic_classifier(COMMITTED.read_bytes(), str(COMMITTED))
    text = "I was charged twice on invoice 20431 for account XJ-SECRET-9921, please fix the bill"
    # When it is guessed
    guess = topics.guess(text, classifier="routers/support-topics.json")
    # Then it is billing, and every evidence term is a word (or pair) of the vocabulary
    assert guess.label == "billing"
    evidence = guess.evidence.split(", ")
    assert 1 <= len(evidence) <= 3
    assert all(term in topics.vocabulary.words for term in evidence)
    assert "secret" not in guess.evidence


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 1_000_000,
        "🙂" * 500_000 + " refund",
        "\u202e\u0301" * 300_000,
        "İ" * 400_000,
        ("invoice " * 100_000) + ("function " * 100_000),
        "\x00\t\r\n" * 250_000,
    ],
    ids=["one-word", "emoji", "bidi-and-combining", "expanding-lowercase", "many-words", "control"],
)
def test_hostile_text_is_scored_from_its_slice_in_bounded_time(hostile: str) -> None:
    # Given the committed classifier and about a megabyte of hostile text
    topics = load_topic_classifier(COMMITTED.read_bytes(), str(COMMITTED))
    # When it is guessed
    started = time.perf_counter()
    guess = topics.guess(hostile, classifier="k")
    elapsed = time.perf_counter() - started
    # Then the guess is a valid one, from the same features as its capped slice, without hanging
    tokenizer = topics.tokenizer
    piece = capped_slice(hostile, tokenizer.head_chars, tokenizer.tail_chars)
    assert topics.features(hostile) == topics.features(piece)
    assert 0.0 <= guess.confidence <= 1.0
    assert elapsed < HANG_SECONDS


def document_with(**changes: Any) -> bytes:
    document = word_topics_document()
    for dotted, value in changes.items():
        target = document
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "not JSON"),
        (document_with(format="modelrouter.learned-router"), "not a topic artifact"),
        (document_with(tokenizer__version=99), "tokenizer version 99"),
        (document_with(tokenizer__scaling="tfidf"), "scaling must be l2 or binary"),
        (document_with(tokenizer__char_ngrams=[5, 3]), "char_ngrams must be"),
        (document_with(tokenizer__head_chars=10_000_000), "head_chars and tail_chars"),
        (document_with(labels=["billing"]), "at least two distinct topics"),
        (document_with(labels=["Billing", "coding", "other"]), "not a lower-case identifier"),
        (document_with(vocabulary=["invoice", "invoice", "weather"]), "repeats a term"),
        (document_with(weights__billing=[1.0]), "1 numbers, expected 3"),
        (document_with(weights__coding=[0.0, "1", 0.0]), "must be a list of numbers"),
        (document_with(weights__coding=[0.0, True, 0.0]), "must be a list of numbers"),
        (document_with(weights__coding=[0.0, None, 0.0]), "must be a list of numbers"),
        (document_with(biases=[0.0, 1e400, 0.0]), "must be finite"),
        (document_with(min_confidence=1.5), "min_confidence must be within"),
        (document_with(weights={}), "malformed topic artifact"),
        (b" " * (MAX_TOPIC_ARTIFACT_BYTES + 1), "at most"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_bad_artifact_is_refused_with_the_reason(raw: bytes, message: str) -> None:
    # When a malformed or foreign artifact is loaded
    with pytest.raises(ArtifactError) as raised:
        load_topic_classifier(raw, "topics.json")
    # Then the error names the source and what is wrong
    assert raised.value.message.startswith("topics.json: ")
    assert message in raised.value.message
