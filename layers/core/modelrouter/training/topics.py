"""Fitting a topic classifier on labelled examples: the vocabulary, the linear models and the artifact.

Examples are JSON Lines, ``{"text": "...", "topic": "billing"}`` per line. A text's features are its
terms (:func:`modelrouter.learned.topic_terms.topic_terms`: lower-cased words, adjacent word pairs and
character n-grams of the words, from a capped slice) that are in the vocabulary: the terms found in at
least :data:`MIN_DOCUMENT_FREQUENCY` examples, the :data:`DEFAULT_MAX_FEATURES` most frequent word terms
and :data:`DEFAULT_MAX_CHAR_FEATURES` most frequent n-grams (ties by the term). Two model families, both a
linear softmax the router scores in pure Python (:class:`~modelrouter.learned.topics.TopicClassifier`):

- **logistic**: multinomial logistic regression (L2, inverse strength ``C``) over ``l2``-scaled features;
- **naive_bayes**: multinomial naive Bayes (additive smoothing ``alpha``) over binary features.

Which one, and its regularisation, is chosen by cross-validation (:mod:`modelrouter.training.topic_cv`).
The artifact is written with sorted keys, weights rounded to 12 significant digits and no timestamp, so
the same examples always give the same bytes (the fit runs on one thread, so its arithmetic is the same on
every run).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelrouter.learned.topic_terms import TopicTokenizer, TopicVocabulary, topic_terms
from modelrouter.learned.topics import MAX_LABEL_CHARS, TOPICS_FORMAT

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = [
    "DEFAULT_MAX_CHAR_FEATURES",
    "DEFAULT_MAX_FEATURES",
    "DEFAULT_MIN_CONFIDENCE",
    "MIN_DOCUMENT_FREQUENCY",
    "ModelChoice",
    "TopicExample",
    "TopicExamplesError",
    "build_vocabulary",
    "design_matrix",
    "examples_digest",
    "fit_estimator",
    "linear_form",
    "read_examples",
    "topic_artifact",
]

DEFAULT_MAX_FEATURES = 2000
"""Bound on the word terms (words, punctuation runs, word pairs) of the vocabulary: the most frequent
are kept."""
DEFAULT_MAX_CHAR_FEATURES = 4000
"""Bound on the character n-grams of the vocabulary: the most frequent are kept."""
MIN_DOCUMENT_FREQUENCY = 2
"""A term enters the vocabulary only when at least this many examples contain it."""
DEFAULT_MIN_CONFIDENCE = 0.5
"""The artifact's default threshold: a guess below it has no topic (a policy may set its own)."""
_MAX_ITERATIONS = 10_000
_SIGNIFICANT_DIGITS = 12
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class TopicExamplesError(ValueError):
    """A line of an examples file is not valid; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class TopicExample:
    """One labelled text."""

    text: str
    """The text, as a user would write it."""
    topic: str
    """Its topic."""


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A model family and its regularisation."""

    kind: Literal["logistic", "naive_bayes"]
    """``logistic`` (multinomial logistic regression) or ``naive_bayes`` (multinomial naive Bayes)."""
    strength: float
    """``C`` (inverse L2 strength) of logistic regression, ``alpha`` (smoothing) of naive Bayes."""
    chars: bool = True
    """Whether character n-grams of the words are features too (else words and word pairs only)."""

    @property
    def tokenizer(self) -> TopicTokenizer:
        """The tokenizer this choice reads: ``l2`` scaling for logistic, ``binary`` for naive Bayes."""
        default = TopicTokenizer()
        return TopicTokenizer(
            char_ngrams=default.char_ngrams if self.chars else None,
            scaling="l2" if self.kind == "logistic" else "binary",
        )

    def __str__(self) -> str:
        parameter = "C" if self.kind == "logistic" else "alpha"
        terms = "words+chars" if self.chars else "words"
        return f"{self.kind} {parameter}={self.strength:g} ({terms})"


def read_examples(path: Path) -> list[TopicExample]:
    """The examples of a JSON Lines file, in order.

    Raises:
        OutcomesError: the file cannot be read, or a line is not a JSON object (file and line named).
        TopicExamplesError: a line is not ``{"text": non-empty string, "topic": lower-case identifier}``,
            or the file holds no example.
    """
    from modelrouter.training.outcomes import read_json_objects

    examples = [_example(data, f"{source}:{number}") for source, number, data in read_json_objects(path)]
    if not examples:
        raise TopicExamplesError(f"{path}: no examples in the file")
    return examples


def _example(data: Any, where: str) -> TopicExample:
    if not isinstance(data, dict) or set(data) != {"text", "topic"}:
        raise TopicExamplesError(f"{where}: each line must be an object with exactly 'text' and 'topic'")
    text, topic = data["text"], data["topic"]
    if not isinstance(text, str) or not text.strip():
        raise TopicExamplesError(f"{where}: 'text' must be a non-empty string")
    if (
        not isinstance(topic, str)
        or not 0 < len(topic) <= MAX_LABEL_CHARS
        or not set(topic) <= _LABEL_CHARS
        or topic[0] in "_-"
    ):
        raise TopicExamplesError(
            f"{where}: 'topic' must be a lower-case identifier (letters, digits, '_', '-'), got {topic!r}"
        )
    return TopicExample(text, topic)


def examples_digest(examples: Sequence[TopicExample]) -> str:
    """SHA-256 of the examples (text and topic, in order): which data a classifier was fitted on."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps([example.text, example.topic], ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def build_vocabulary(
    texts: Sequence[str],
    tokenizer: TopicTokenizer,
    max_features: int = DEFAULT_MAX_FEATURES,
    max_char_features: int = DEFAULT_MAX_CHAR_FEATURES,
) -> TopicVocabulary:
    """The terms in at least :data:`MIN_DOCUMENT_FREQUENCY` of ``texts``: the ``max_features`` most
    frequent word terms and ``max_char_features`` most frequent character n-grams, most frequent first
    (ties in term order)."""
    words: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    for text in texts:
        terms = topic_terms(text, tokenizer)
        words.update(terms.words)
        chars.update(terms.chars)
    return TopicVocabulary(_most_frequent(words, max_features), _most_frequent(chars, max_char_features))


def _most_frequent(frequency: Counter[str], limit: int) -> tuple[str, ...]:
    kept = sorted((-count, term) for term, count in frequency.items() if count >= MIN_DOCUMENT_FREQUENCY)
    return tuple(term for _, term in kept[:limit])


def design_matrix(texts: Sequence[str], vocabulary: TopicVocabulary, tokenizer: TopicTokenizer) -> csr_matrix:
    """One row per text: the values :meth:`~modelrouter.learned.topic_terms.TopicVocabulary.values` gives its
    terms (the router's own feature code)."""
    from scipy.sparse import csr_matrix

    data: list[float] = []
    columns: list[int] = []
    pointers = [0]
    for text in texts:
        values = vocabulary.values(text, tokenizer)
        columns.extend(values)
        data.extend(values.values())
        pointers.append(len(columns))
    return csr_matrix((data, columns, pointers), shape=(len(texts), vocabulary.size))


def fit_estimator(choice: ModelChoice, matrix: csr_matrix, targets: np.ndarray) -> Any:
    """The scikit-learn estimator of ``choice`` fitted on ``matrix`` and the topic indices ``targets``."""
    if choice.kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=choice.strength, max_iter=_MAX_ITERATIONS).fit(matrix, targets)
    from sklearn.naive_bayes import MultinomialNB

    return MultinomialNB(alpha=choice.strength).fit(matrix, targets)


def linear_form(estimator: Any, topics: int) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, biases)`` of a fitted estimator as a softmax over ``topics`` scores: weights of shape
    (topics, vocabulary), whose ``softmax(weights @ x + biases)`` is the estimator's ``predict_proba``.

    Raises:
        ValueError: the estimator saw fewer topics than ``topics``.
    """
    import numpy as np

    if list(estimator.classes_) != list(range(topics)):
        raise ValueError(
            f"every topic needs examples in every training fold ({len(estimator.classes_)} seen)"
        )
    if hasattr(estimator, "feature_log_prob_"):
        return np.asarray(estimator.feature_log_prob_), np.asarray(estimator.class_log_prior_)
    weights, biases = np.asarray(estimator.coef_), np.asarray(estimator.intercept_)
    if topics == 2:  # one row for the second topic: softmax([-z/2, z/2]) is sigmoid(z)
        return np.vstack([-weights / 2, weights / 2]), np.array([-biases[0] / 2, biases[0] / 2])
    return weights, biases


def _rounded(values: Any) -> list[float]:
    return [float(f"{float(value):.{_SIGNIFICANT_DIGITS}g}") for value in values]


def topic_artifact(
    choice: ModelChoice,
    estimator: Any,
    labels: Sequence[str],
    vocabulary: TopicVocabulary,
    *,
    min_confidence: float,
    report: Mapping[str, Any],
    training: Mapping[str, Any],
) -> bytes:
    """The artifact file of a fitted estimator: sorted keys, no spaces, deterministic."""
    weights, biases = linear_form(estimator, len(labels))
    document = {
        "format": TOPICS_FORMAT,
        "tokenizer": choice.tokenizer.to_json(),
        "labels": list(labels),
        "vocabulary": list(vocabulary.words),
        "char_vocabulary": list(vocabulary.chars),
        "weights": {label: _rounded(row) for label, row in zip(labels, weights, strict=True)},
        "biases": _rounded(biases),
        "min_confidence": min_confidence,
        "model": {"kind": choice.kind, "strength": choice.strength, "chars": choice.chars},
        "report": dict(report),
        "training": dict(training),
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()
