"""Choosing and measuring a topic classifier by stratified k-fold cross-validation, against keywords.

Every candidate of :data:`CANDIDATES` (logistic regression and naive Bayes, each at a few strengths, with
and without character n-grams) is fitted on K - 1 folds (the vocabulary built from those folds only) and
scored on the held-out fold; the keyword baseline is scored on the same held-out folds. The candidate with
the best mean macro-F1 (then accuracy, then the earlier in the list) is fitted on every example and
written as the artifact, with the whole comparison as its ``report``. The selected candidate's figures
are the best of several, so slightly optimistic; the baseline's are not selected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.training.topic_keywords import KeywordBaseline
from modelrouter.training.topics import (
    DEFAULT_MAX_CHAR_FEATURES,
    DEFAULT_MAX_FEATURES,
    DEFAULT_MIN_CONFIDENCE,
    MIN_DOCUMENT_FREQUENCY,
    ModelChoice,
    TopicExample,
    build_vocabulary,
    design_matrix,
    examples_digest,
    fit_estimator,
    topic_artifact,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CANDIDATES",
    "CV_FOLDS",
    "THRESHOLDS_REPORTED",
    "TopicFit",
    "TopicFitOptions",
    "fit_topics",
    "summary",
]

_STRENGTHS = (3.0, 10.0, 30.0)
_SMOOTHINGS = (0.1, 0.3, 1.0)
CANDIDATES: tuple[ModelChoice, ...] = tuple(
    choice
    for chars in (True, False)
    for choice in (
        *(ModelChoice("logistic", c, chars) for c in _STRENGTHS),
        *(ModelChoice("naive_bayes", alpha, chars) for alpha in _SMOOTHINGS),
    )
)
"""The models compared by cross-validation, in order of preference on a tie."""
CV_FOLDS = 5
"""Folds of the stratified cross-validation."""
THRESHOLDS_REPORTED = (0.3, 0.4, 0.5, 0.6, 0.7)
"""Confidence thresholds whose coverage and accuracy the report shows (and the artifact's own)."""
_DIGITS = 4

Split = tuple["np.ndarray", "np.ndarray"]


@dataclass(frozen=True, slots=True)
class TopicFitOptions:
    """How to cross-validate and fit."""

    folds: int = CV_FOLDS
    """Folds of the stratified cross-validation."""
    seed: int = 0
    """Seed of the folds' shuffle."""
    max_features: int = DEFAULT_MAX_FEATURES
    """Bound on the vocabulary's word terms."""
    max_char_features: int = DEFAULT_MAX_CHAR_FEATURES
    """Bound on the vocabulary's character n-grams."""
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    """The artifact's default threshold."""
    sources: tuple[str, ...] = ()
    """Names of the example files, recorded in the artifact."""


@dataclass(frozen=True, slots=True)
class TopicFit:
    """A fitted topic classifier: its artifact file and the cross-validated report it carries."""

    raw: bytes
    """The artifact file."""
    report: dict[str, Any]
    """The comparison of the candidates and the keyword baseline (also in the artifact)."""


def summary(values: Sequence[float]) -> dict[str, Any]:
    """``mean``, ``sd`` (sample standard deviation over the folds) and the ``folds`` values, rounded."""
    import numpy as np

    array = np.asarray(values, dtype=float)
    sd = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {
        "mean": round(float(array.mean()), _DIGITS),
        "sd": round(sd, _DIGITS),
        "folds": [round(float(v), _DIGITS) for v in array],
    }


def fit_topics(
    examples: Sequence[TopicExample],
    keywords: KeywordBaseline | None = None,
    options: TopicFitOptions | None = None,
) -> TopicFit:
    """Cross-validate every candidate (and the keywords), fit the best on every example, write it.

    Raises:
        ValueError: fewer than two topics, a topic with fewer examples than folds, or keywords naming a
            topic no example has.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    options = options or TopicFitOptions()
    labels = sorted({example.topic for example in examples})
    _check(examples, labels, options.folds, keywords)
    # One thread: the fits are small (threads only contend on a shared machine), and the same order of
    # floating-point operations on every run keeps the artifact byte-identical.
    with threadpool_limits(limits=1):
        return _fit(examples, labels, keywords, options)


def _check(
    examples: Sequence[TopicExample], labels: list[str], folds: int, keywords: KeywordBaseline | None
) -> None:
    if len(labels) < 2:
        raise ValueError("the examples need at least two topics")
    counts = Counter(example.topic for example in examples)
    if scarce := [label for label in labels if counts[label] < folds]:
        raise ValueError(
            f"topic '{scarce[0]}' has {counts[scarce[0]]} examples; {folds}-fold cross-validation needs"
            f" at least {folds} per topic"
        )
    if keywords is not None:
        unknown = [t for t in (*keywords.topics, keywords.fallback) if t not in counts]
        if unknown:
            raise ValueError(f"the keywords name topic '{unknown[0]}', which no example has")


def _fit(
    examples: Sequence[TopicExample],
    labels: list[str],
    keywords: KeywordBaseline | None,
    options: TopicFitOptions,
) -> TopicFit:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    texts = [example.text for example in examples]
    targets = np.array([labels.index(example.topic) for example in examples])
    splitter = StratifiedKFold(options.folds, shuffle=True, random_state=options.seed)
    splits: list[Split] = list(splitter.split(texts, targets))
    held_out = _held_out(texts, targets, splits, len(labels), options)
    scores = {c: _fold_scores(held_out[c].argmax(axis=1), targets, splits, labels) for c in CANDIDATES}
    chosen = max(CANDIDATES, key=lambda c: (scores[c][1]["mean"], scores[c][0]["mean"], -CANDIDATES.index(c)))
    baseline = np.array([labels.index(keywords.predict(text)) for text in texts]) if keywords else None
    report: dict[str, Any] = {
        "cv": {"folds": options.folds, "seed": options.seed, "stratified": True},
        "examples": len(texts),
        "topics": {label: int((targets == index).sum()) for index, label in enumerate(labels)},
        "selected": str(chosen),
        "candidates": [
            {"model": str(c), "accuracy": scores[c][0], "macro_f1": scores[c][1]} for c in CANDIDATES
        ],
        "keyword_baseline": None,
        "per_topic_f1": _per_topic(held_out[chosen].argmax(axis=1), baseline, targets, labels),
        "thresholds": [
            _threshold(held_out[chosen], targets, t)
            for t in sorted({*THRESHOLDS_REPORTED, options.min_confidence})
        ],
    }
    if baseline is not None:
        accuracy, macro_f1 = _fold_scores(baseline, targets, splits, labels)
        report["keyword_baseline"] = {"accuracy": accuracy, "macro_f1": macro_f1}
    tokenizer = chosen.tokenizer
    vocabulary = build_vocabulary(texts, tokenizer, options.max_features, options.max_char_features)
    estimator = fit_estimator(chosen, design_matrix(texts, vocabulary, tokenizer), targets)
    training = {
        "data_sha256": examples_digest(examples),
        "examples": len(texts),
        "sources": list(options.sources),
        "max_features": options.max_features,
        "max_char_features": options.max_char_features,
        "min_document_frequency": MIN_DOCUMENT_FREQUENCY,
    }
    raw = topic_artifact(
        chosen,
        estimator,
        labels,
        vocabulary,
        min_confidence=options.min_confidence,
        report=report,
        training=training,
    )
    return TopicFit(raw, report)


def _held_out(
    texts: list[str], targets: np.ndarray, splits: list[Split], topics: int, options: TopicFitOptions
) -> dict[ModelChoice, np.ndarray]:
    """Each candidate's out-of-fold probabilities, shape (texts, topics)."""
    import numpy as np

    held_out = {choice: np.zeros((len(texts), topics)) for choice in CANDIDATES}
    for train, test in splits:
        # One vocabulary serves every candidate: the terms do not depend on the scaling, and a candidate
        # without character n-grams finds none of them.
        fold_texts = [texts[i] for i in train]
        vocabulary = build_vocabulary(
            fold_texts, CANDIDATES[0].tokenizer, options.max_features, options.max_char_features
        )
        tokenizers = dict.fromkeys(c.tokenizer for c in CANDIDATES)
        matrices = {t: design_matrix(texts, vocabulary, t) for t in tokenizers}
        for choice in CANDIDATES:
            matrix = matrices[choice.tokenizer]
            estimator = fit_estimator(choice, matrix[train], targets[train])
            held_out[choice][test] = estimator.predict_proba(matrix[test])
    return held_out


def _fold_scores(
    predicted: np.ndarray, targets: np.ndarray, splits: Sequence[Split], labels: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    from sklearn.metrics import accuracy_score, f1_score

    every = list(range(len(labels)))
    accuracy = [accuracy_score(targets[test], predicted[test]) for _, test in splits]
    macro_f1 = [
        f1_score(targets[test], predicted[test], labels=every, average="macro", zero_division=0)
        for _, test in splits
    ]
    return summary(accuracy), summary(macro_f1)


def _per_topic(
    predicted: np.ndarray, baseline: np.ndarray | None, targets: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Out-of-fold F1 per topic, of the classifier and of the keywords (None without them)."""
    from sklearn.metrics import f1_score

    every = list(range(len(labels)))
    ours = f1_score(targets, predicted, labels=every, average=None, zero_division=0)
    theirs = (
        None if baseline is None else f1_score(targets, baseline, labels=every, average=None, zero_division=0)
    )
    return {
        label: {
            "classifier": round(float(ours[i]), _DIGITS),
            "keywords": None if theirs is None else round(float(theirs[i]), _DIGITS),
        }
        for i, label in enumerate(labels)
    }


def _threshold(probabilities: np.ndarray, targets: np.ndarray, min_confidence: float) -> dict[str, Any]:
    """Out of fold: the share of texts whose best topic reaches ``min_confidence``, and the accuracy on
    those."""
    confident = probabilities.max(axis=1) >= min_confidence
    right = probabilities.argmax(axis=1) == targets
    return {
        "min_confidence": min_confidence,
        "coverage": round(float(confident.mean()), _DIGITS),
        "accuracy_above": round(float(right[confident].mean()), _DIGITS) if confident.any() else None,
    }
