"""Tiny topic artifacts for tests, written by hand: no fit, known probabilities; a policy that routes on
their topics.

:func:`word_topics_document` gives each topic one word (:data:`TOPIC_WORDS`): the topic's weight for its
word is ``strength``, every other weight and every bias 0. Its tokenizer reads words only (no pairs, no
character n-grams), so a text whose only vocabulary word is a topic's word gets that topic with
probability exactly :func:`one_word_confidence` (``e^s / (e^s + topics - 1)``).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from modelrouter.learned.topic_terms import TOKENIZER_VERSION
from modelrouter.learned.topics import TOPICS_FORMAT
from tests.helpers import minimal_policy

__all__ = [
    "TOPICS_KEY",
    "TOPIC_WORDS",
    "one_word_confidence",
    "topics_bytes",
    "topics_policy",
    "word_topics_document",
]

TOPICS_KEY = "routers/test-topics.json"
"""Where the test policies' topic artifact is (a key in the policy bucket)."""
TOPIC_WORDS = {"billing": "invoice", "coding": "function", "other": "weather"}
"""Each topic's one word."""
STRENGTH = 3.0
"""Default weight of a topic's word."""


def word_topics_document(*, strength: float = STRENGTH, min_confidence: float = 0.5) -> dict[str, Any]:
    """The artifact document (see the module's docstring)."""
    labels = sorted(TOPIC_WORDS)
    vocabulary = [TOPIC_WORDS[label] for label in labels]
    return {
        "format": TOPICS_FORMAT,
        "tokenizer": {
            "version": TOKENIZER_VERSION,
            "head_chars": 1024,
            "tail_chars": 256,
            "ngram_max": 1,
            "char_ngrams": None,
            "scaling": "l2",
        },
        "labels": labels,
        "vocabulary": vocabulary,
        "char_vocabulary": [],
        "weights": {
            label: [strength if word == TOPIC_WORDS[label] else 0.0 for word in vocabulary]
            for label in labels
        },
        "biases": [0.0] * len(labels),
        "min_confidence": min_confidence,
        "report": {},
        "training": {"source": "tests.topic_fixtures"},
    }


def topics_bytes(**options: Any) -> bytes:
    """The artifact file of :func:`word_topics_document`."""
    return json.dumps(word_topics_document(**options)).encode()


def one_word_confidence(strength: float = STRENGTH) -> float:
    """The probability of a topic for a text whose only vocabulary word is that topic's."""
    return math.exp(strength) / (math.exp(strength) + len(TOPIC_WORDS) - 1)


def topics_policy(raw: bytes, **section: Any) -> dict[str, Any]:
    """A policy (as a dict) with a ``topics`` section pinning ``raw`` at :data:`TOPICS_KEY` (``section``
    overrides it) and a route ``billing-desk`` (``when.topics: [billing]``, model small) before the
    catch-all ``default`` (model large)."""
    document = minimal_policy()
    document["topics"] = {"classifier": TOPICS_KEY, "sha256": hashlib.sha256(raw).hexdigest(), **section}
    document["routes"] = [
        {"name": "billing-desk", "when": {"topics": ["billing"]}, "models": ["small"]},
        {"name": "default", "models": ["large"]},
    ]
    return document
