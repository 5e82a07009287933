"""The features a learned router reads: hashed word and character n-grams of the prompt, plus the
router's own request features.

Fitting and scoring share this module, so a fitted router sees at request time exactly the features it
was fitted on. Text features come from a capped slice of the prompt (its head and its tail, where the
question after a pasted document or after few-shot examples usually is), so a 32 KB prompt costs no
more than a 2 KB one. N-grams are hashed with ``zlib.crc32`` (Python's ``hash()`` is salted per
process) into ``2 ** hash_bits`` buckets; each n-gram family seeds the hash differently, so a word and a
character trigram that spell the same never share a bucket by construction.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from modelrouter.features.records import RequestFeatures
from modelrouter.request import ChatRequest, SystemMessage, UserMessage

__all__ = [
    "DENSE_FEATURES",
    "FEATURE_VERSION",
    "FeatureRecipe",
    "capped_slice",
    "dense_features",
    "request_text",
    "text_indices",
]

FEATURE_VERSION = 1
"""Version of the feature recipe's meaning. A router fitted on another version is refused at load."""

_WORD = re.compile(r"\w+|[^\w\s]")
# Per-family seeds of crc32, so unigram "ab" and char-gram "ab" hash apart.
_UNIGRAM_SEED = 0x1
_BIGRAM_SEED = 0x2
_CHAR_SEED = 0x3

DENSE_FEATURES: tuple[str, ...] = (
    "log_prompt_tokens",
    "user_turns",
    "has_tools",
    "has_images",
    "json_answer",
    "non_english",
    "difficulty",
    "difficulty.length",
    "difficulty.code",
    "difficulty.math",
    "difficulty.multi_step",
    "difficulty.questions",
)
"""Names of the router features appended after the hashed text features, in order."""


@dataclass(frozen=True, slots=True)
class FeatureRecipe:
    """How text becomes features; stored in the router artifact."""

    hash_bits: int = 14
    """Text n-grams hash into ``2 ** hash_bits`` buckets."""
    head_chars: int = 256
    """Characters read from the start of the prompt text."""
    tail_chars: int = 1024
    """Characters read from its end (all of it when the text is at most head + tail)."""
    word_bigrams: bool = True
    """Whether adjacent word pairs are features, besides single words."""
    char_ngram: int = 3
    """Length of the character n-grams (0: none)."""
    char_tail_chars: int = 512
    """Character n-grams come from this many characters at the end of the slice (they cost most)."""

    @property
    def size(self) -> int:
        """Number of hashed text features."""
        return 1 << self.hash_bits

    @property
    def width(self) -> int:
        """Number of features in all: hashed text, then :data:`DENSE_FEATURES`."""
        return self.size + len(DENSE_FEATURES)

    def to_json(self) -> dict[str, Any]:
        """The recipe as stored in an artifact."""
        return {"version": FEATURE_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureRecipe:
        """The recipe stored in an artifact (the caller checks ``version`` first)."""
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**fields)


def request_text(request: ChatRequest) -> str:
    """The text a learned router reads: system and user messages in order, so the latest is last."""
    parts = [m.text() for m in request.messages if isinstance(m, UserMessage | SystemMessage)]
    return "\n".join(part for part in parts if part)


def capped_slice(text: str, head_chars: int, tail_chars: int) -> str:
    """``text`` itself when short, else its first ``head_chars`` and last ``tail_chars`` characters."""
    if len(text) <= head_chars + tail_chars:
        return text
    return text[:head_chars] + "\n" + text[len(text) - tail_chars :]


def text_indices(text: str, recipe: FeatureRecipe) -> list[int]:
    """The distinct hashed n-gram buckets of ``text``'s capped slice, sorted."""
    piece = capped_slice(text, recipe.head_chars, recipe.tail_chars).lower()
    mask = recipe.size - 1
    crc32 = zlib.crc32
    tokens = [token.encode("utf-8", "surrogatepass") for token in _WORD.findall(piece)]
    buckets = {crc32(token, _UNIGRAM_SEED) & mask for token in tokens}
    if recipe.word_bigrams and len(tokens) > 1:
        buckets.update(crc32(b"%s %s" % pair, _BIGRAM_SEED) & mask for pair in itertools.pairwise(tokens))
    if recipe.char_ngram:
        tail = " ".join(piece[-recipe.char_tail_chars :].split()).encode("utf-8", "surrogatepass")
        n = recipe.char_ngram
        buckets.update(crc32(tail[i : i + n], _CHAR_SEED) & mask for i in range(len(tail) - n + 1))
    return sorted(buckets)


def dense_features(features: RequestFeatures) -> list[float]:
    """The router's own features, as :data:`DENSE_FEATURES` values (each roughly within [0, 1])."""
    signals = {signal.name: signal.value for signal in features.difficulty.signals}
    language = features.language
    return [
        math.log1p(features.prompt_tokens) / 10.0,
        min(features.user_turns, 10) / 10.0,
        1.0 if features.has_tools else 0.0,
        1.0 if features.has_images else 0.0,
        0.0 if features.response_format == "text" else 1.0,
        1.0 if language.code not in {"en", "und"} and language.confidence >= 0.6 else 0.0,
        features.difficulty.score,
        signals.get("length", 0.0),
        signals.get("code", 0.0),
        signals.get("math", 0.0),
        signals.get("multi_step", 0.0),
        signals.get("questions", 0.0),
    ]
