"""The topic classifier at request time: a linear softmax over words, word pairs and character n-grams,
in pure Python.

A topic artifact (written by ``modelrouter learn fit-topics``, fitted by
:mod:`modelrouter.training.topic_cv`) holds its tokenization spec, a bounded vocabulary of lower-cased
words, adjacent word pairs and character n-grams of the words, one weight per (term, topic) and one bias
per topic. A text's score for a topic is its bias plus the weights of the vocabulary terms the text
contains, each valued ``1/sqrt(terms found)`` (``l2`` scaling) or 1 (``binary``); a softmax turns the
scores into probabilities. Fitting and scoring read texts with the same code
(:mod:`modelrouter.learned.topic_terms`), which reads a capped slice of each, so a 1 MB prompt costs what
a 2 KB one does. The evidence of a guess is made of vocabulary words only: never a piece of the prompt
that is not a word (or word pair) of the fitted vocabulary.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any

from modelrouter.features.records import TopicGuess
from modelrouter.learned.artifact import ArtifactError, load_json_artifact
from modelrouter.learned.topic_terms import TopicTokenizer, TopicVocabulary

__all__ = [
    "EVIDENCE_TERMS",
    "MAX_LABEL_CHARS",
    "MAX_TOPIC_ARTIFACT_BYTES",
    "TOPICS_FORMAT",
    "TopicClassifier",
    "load_topic_classifier",
]

TOPICS_FORMAT = "modelrouter.topic-classifier"
"""The ``format`` value every topic artifact carries."""
MAX_TOPIC_ARTIFACT_BYTES = 3_000_000
"""Largest topic artifact accepted (9 topics over 5,281 terms is about 0.8 MB)."""
EVIDENCE_TERMS = 3
"""How many vocabulary terms a guess's evidence names at most."""
MAX_LABEL_CHARS = 64
"""Longest topic label accepted in an artifact."""

_LABEL = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class TopicClassifier:
    """A loaded topic artifact: probabilities per topic for a text, and the guess the router uses."""

    labels: tuple[str, ...]
    """The topics, in the artifact's order."""
    tokenizer: TopicTokenizer
    """How text becomes terms."""
    vocabulary: TopicVocabulary
    """The terms that have weights."""
    weights: tuple[tuple[float, ...], ...]
    """Per vocabulary row: its weight for each topic (in :attr:`labels` order)."""
    biases: tuple[float, ...]
    """Per topic: its bias."""
    min_confidence: float
    """The artifact's default threshold: below it, a guess has no label."""
    digest: str
    """``sha256:`` of the artifact file."""
    document: dict[str, Any] = field(repr=False)
    """The parsed JSON (report, training data hash) for tools that report on it."""
    columns: tuple[tuple[float, ...], ...] = field(init=False, repr=False)
    """Per topic: its weight for each vocabulary row (:attr:`weights` transposed, for fast scoring)."""
    evidence_rows: frozenset[int] = field(init=False, repr=False)
    """The rows that may be evidence: words and word pairs with at least two letters or digits."""

    def __post_init__(self) -> None:
        # Derived once per artifact load: scoring then runs in C (map over a column), not per weight.
        object.__setattr__(self, "columns", tuple(zip(*self.weights, strict=True)) if self.weights else ())
        words = self.vocabulary.words
        eligible = frozenset(row for row, word in enumerate(words) if sum(map(str.isalnum, word)) >= 2)
        object.__setattr__(self, "evidence_rows", eligible)

    def features(self, text: str) -> dict[int, float]:
        """The vocabulary rows ``text`` contains, each with its value."""
        return self.vocabulary.values(text, self.tokenizer)

    def logits(self, values: dict[int, float]) -> list[float]:
        """Each topic's score for the feature values of :meth:`features`."""
        rows, amounts = list(values), list(values.values())
        pairs = zip(self.biases, self.columns, strict=True)
        if len(set(amounts)) == 1:  # every term valued alike (binary or l2 scaling): one product per topic
            return [bias + amounts[0] * sum(map(column.__getitem__, rows)) for bias, column in pairs]
        return [
            bias + sum(map(operator.mul, map(column.__getitem__, rows), amounts)) for bias, column in pairs
        ]

    def probabilities(self, text: str) -> dict[str, float]:
        """Probability of each topic for ``text`` (they sum to 1)."""
        return dict(zip(self.labels, _softmax(self.logits(self.features(text))), strict=True))

    def guess(self, text: str, *, classifier: str, min_confidence: float | None = None) -> TopicGuess:
        """The most likely topic of ``text``, or no label when its probability is below ``min_confidence``
        (default: the artifact's); ``classifier`` names the artifact in the guess."""
        values = self.features(text)
        probabilities = _softmax(self.logits(values))
        best = max(range(len(self.labels)), key=probabilities.__getitem__)
        threshold = self.min_confidence if min_confidence is None else min_confidence
        confidence = min(1.0, max(0.0, probabilities[best]))
        return TopicGuess(
            label=self.labels[best] if confidence >= threshold else None,
            confidence=confidence,
            classifier=classifier,
            evidence=", ".join(self.evidence(values, best)),
        )

    def evidence(self, values: dict[int, float], label: int) -> list[str]:
        """The word terms that set topic ``label`` (an index) apart most: value × (its weight for the topic
        - its largest weight for another), positive ones only, largest first. Character n-grams, and terms
        of fewer than two letters or digits, are left out: a fragment of a word, an ``i`` or a ``?``
        explains little."""
        pulls = []
        words = self.vocabulary.words
        for row in self.evidence_rows.intersection(values):
            value = values[row]
            weights = self.weights[row]
            rival = max(weight for index, weight in enumerate(weights) if index != label)
            if (pull := value * (weights[label] - rival)) > 0:
                pulls.append((-pull, words[row]))
        return [term for _, term in sorted(pulls)[:EVIDENCE_TERMS]]


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


def load_topic_classifier(raw: bytes, source: str = "topic artifact") -> TopicClassifier:
    """Parse and check a topic artifact.

    Raises:
        ArtifactError: too large, not JSON, not a topic artifact, of another tokenizer version, or
            weights that do not fit the vocabulary and topics. The message names ``source``.
    """
    return load_json_artifact(raw, source, _build, kind="topic artifact", max_bytes=MAX_TOPIC_ARTIFACT_BYTES)


def _build(document: Any, digest: str, source: str) -> TopicClassifier:
    if not isinstance(document, dict) or document.get("format") != TOPICS_FORMAT:
        raise ArtifactError(f"{source}: not a topic artifact (format must be '{TOPICS_FORMAT}')")
    tokenizer = TopicTokenizer.from_json(document["tokenizer"], source)
    labels = tuple(str(label) for label in document["labels"])
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ArtifactError(f"{source}: 'labels' must be at least two distinct topics")
    if bad := [label for label in labels if len(label) > MAX_LABEL_CHARS or not _LABEL.match(label)]:
        raise ArtifactError(f"{source}: topic {bad[0]!r} is not a lower-case identifier")
    vocabulary = TopicVocabulary(
        _terms(document["vocabulary"], source), _terms(document["char_vocabulary"], source)
    )
    by_label = document["weights"]
    columns = [_numbers(by_label[label], vocabulary.size, f"{source}: weights.{label}") for label in labels]
    biases = _numbers(document["biases"], len(labels), f"{source}: biases")
    min_confidence = float(document["min_confidence"])
    if not 0.0 <= min_confidence <= 1.0:
        raise ArtifactError(f"{source}: min_confidence must be within [0, 1]")
    return TopicClassifier(
        labels=labels,
        tokenizer=tokenizer,
        vocabulary=vocabulary,
        weights=tuple(zip(*columns, strict=True)),
        biases=tuple(biases),
        min_confidence=min_confidence,
        digest=digest,
        document=document,
    )


def _terms(values: Any, source: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(value, str) and value for value in values):
        raise ArtifactError(f"{source}: a vocabulary must be a list of non-empty strings")
    if len(set(values)) != len(values):
        raise ArtifactError(f"{source}: a vocabulary repeats a term")
    return tuple(values)


_NUMBER_TYPES = frozenset({int, float})
"""What JSON numbers parse to (exact types: ``bool`` is not a number here)."""


def _numbers(values: Any, expected: int, where: str) -> list[float]:
    # map() and set() run in C: tens of thousands of weights are checked at every cold start
    if not isinstance(values, list) or not set(map(type, values)) <= _NUMBER_TYPES:
        raise ArtifactError(f"{where}: must be a list of numbers")
    numbers = list(map(float, values))
    if len(numbers) != expected:
        raise ArtifactError(f"{where}: {len(numbers)} numbers, expected {expected}")
    if not all(map(math.isfinite, numbers)):
        raise ArtifactError(f"{where}: numbers must be finite")
    return numbers
