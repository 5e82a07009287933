"""How the topic classifier reads a text: its tokenization spec, the terms of a text, and the vocabulary.

The same code makes the features when a classifier is fitted (:mod:`modelrouter.training.topics`) and
when the router scores a request (:mod:`modelrouter.learned.topics`), so a text has the same features at
request time as when it was fitted. Only a capped slice of the text is read (its first ``head_chars`` and
last ``tail_chars``), so a 1 MB prompt costs what a 2 KB one does.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from modelrouter.learned.artifact import ArtifactError
from modelrouter.learned.features import capped_slice

__all__ = [
    "MAX_CHAR_NGRAM",
    "MAX_SLICE_CHARS",
    "TOKENIZER_VERSION",
    "Scaling",
    "TopicTerms",
    "TopicTokenizer",
    "TopicVocabulary",
    "topic_terms",
]

TOKENIZER_VERSION = 1
"""Version of the tokenization's meaning (:func:`topic_terms`); an artifact of another is refused."""
MAX_CHAR_NGRAM = 8
"""Longest character n-gram a tokenizer may ask for."""
MAX_SLICE_CHARS = 100_000
"""Largest ``head_chars`` or ``tail_chars`` accepted (what a request may cost to score is bounded)."""

_DIGITS = re.compile(r"\d+")
_TOKEN = re.compile(r"\w+|[^\w\s]+")
Scaling = Literal["l2", "binary"]
"""How a term found is valued: ``l2`` (``1/sqrt(terms found)``) or ``binary`` (1)."""


@dataclass(frozen=True, slots=True)
class TopicTokenizer:
    """How a text becomes terms; stored in the artifact (``tokenizer``)."""

    head_chars: int = 1024
    """Characters read from the start of the text."""
    tail_chars: int = 256
    """Characters read from its end (all of it when the text is at most head + tail)."""
    ngram_max: int = 2
    """1: words only; 2: words and adjacent word pairs."""
    char_ngrams: tuple[int, int] | None = (3, 4)
    """Lengths ``(shortest, longest)`` of the character n-grams taken inside each word (padded with a
    space at each end); None: no character n-grams."""
    scaling: Scaling = "l2"
    """Value of each vocabulary term found: ``l2`` (``1/sqrt(terms found)``) or ``binary`` (1)."""

    def to_json(self) -> dict[str, Any]:
        """The spec as stored in an artifact."""
        return {"version": TOKENIZER_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> TopicTokenizer:
        """The spec stored in an artifact.

        Raises:
            ArtifactError: another tokenizer version, or values out of range.
        """
        if data.get("version") != TOKENIZER_VERSION:
            raise ArtifactError(
                f"{source}: tokenizer version {data.get('version')}; this router reads version"
                f" {TOKENIZER_VERSION} (refit it with this release's `modelrouter learn fit-topics`)"
            )
        chars = data["char_ngrams"]
        spec = cls(
            head_chars=int(data["head_chars"]),
            tail_chars=int(data["tail_chars"]),
            ngram_max=int(data["ngram_max"]),
            char_ngrams=None if chars is None else (int(chars[0]), int(chars[1])),
            scaling=data["scaling"],
        )
        if spec.scaling not in ("l2", "binary") or spec.ngram_max not in (1, 2):
            raise ArtifactError(f"{source}: tokenizer scaling must be l2 or binary, ngram_max 1 or 2")
        if (
            spec.char_ngrams is not None
            and not 1 <= spec.char_ngrams[0] <= spec.char_ngrams[1] <= MAX_CHAR_NGRAM
        ):
            raise ArtifactError(
                f"{source}: char_ngrams must be [shortest, longest] within [1, {MAX_CHAR_NGRAM}]"
            )
        if not (0 <= spec.head_chars <= MAX_SLICE_CHARS and 0 <= spec.tail_chars <= MAX_SLICE_CHARS):
            raise ArtifactError(f"{source}: head_chars and tail_chars must be within [0, {MAX_SLICE_CHARS}]")
        return spec


@dataclass(frozen=True, slots=True)
class TopicTerms:
    """The distinct terms of a text, in order of first occurrence."""

    words: list[str]
    """Lower-cased words (letters and digits, every run of digits written ``0``), runs of punctuation,
    and with ``ngram_max`` 2 each adjacent pair of them joined by a space."""
    chars: list[str]
    """Character n-grams of the words (without punctuation), each word padded with a space at each end;
    a padded word shorter than the shortest n-gram is one n-gram."""


def topic_terms(text: str, tokenizer: TopicTokenizer) -> TopicTerms:
    """The terms of ``text``'s capped slice (its first ``head_chars`` and last ``tail_chars``)."""
    piece = capped_slice(text, tokenizer.head_chars, tokenizer.tail_chars).lower()
    tokens = _TOKEN.findall(_DIGITS.sub("0", piece))
    words = dict.fromkeys(tokens)
    if tokenizer.ngram_max == 2:
        words.update(dict.fromkeys(f"{first} {second}" for first, second in itertools.pairwise(tokens)))
    chars: dict[str, None] = {}
    if tokenizer.char_ngrams is not None:
        shortest, longest = tokenizer.char_ngrams
        for token in dict.fromkeys(tokens):
            if not token[0].isalnum() and token[0] != "_":
                continue  # a run of punctuation
            padded = f" {token} "
            if len(padded) < shortest:
                chars[padded] = None
            for n in range(shortest, min(longest, len(padded)) + 1):
                chars.update(dict.fromkeys(padded[i : i + n] for i in range(len(padded) - n + 1)))
    return TopicTerms(list(words), list(chars))


@dataclass(frozen=True, slots=True)
class TopicVocabulary:
    """The terms that have weights: word terms first, then character n-grams, one row each."""

    words: tuple[str, ...]
    """Word terms (words, punctuation runs, word pairs), rows 0 to ``len(words) - 1``."""
    chars: tuple[str, ...]
    """Character n-grams, the rows after the words."""
    _word_rows: dict[str, int] = field(init=False, repr=False)
    _char_rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        offset = len(self.words)
        object.__setattr__(self, "_word_rows", {term: row for row, term in enumerate(self.words)})
        object.__setattr__(self, "_char_rows", {term: offset + row for row, term in enumerate(self.chars)})

    @property
    def size(self) -> int:
        """Number of rows."""
        return len(self.words) + len(self.chars)

    def term(self, row: int) -> str:
        """The term of ``row``."""
        return self.words[row] if row < len(self.words) else self.chars[row - len(self.words)]

    def values(self, text: str, tokenizer: TopicTokenizer) -> dict[int, float]:
        """The rows of the terms ``text`` contains, each with its value (``1/sqrt(terms found)`` with
        ``l2`` scaling, else 1)."""
        terms = topic_terms(text, tokenizer)
        rows = [row for term in terms.words if (row := self._word_rows.get(term)) is not None]
        rows.extend(row for term in terms.chars if (row := self._char_rows.get(term)) is not None)
        if not rows:
            return {}
        value = 1.0 / math.sqrt(len(rows)) if tokenizer.scaling == "l2" else 1.0
        return dict.fromkeys(rows, value)
