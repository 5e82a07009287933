"""The keyword baseline a topic classifier is measured against: a hand-written keyword list per topic.

A text gets the topic with the most distinct keywords found in it (a keyword is found when its words
occur in a row among the text's lower-cased words: ``log in`` matches "Log in fails", not "login"); a tie
for the most, or no keyword at all, gives the file's ``fallback`` topic. The file is YAML:

.. code-block:: yaml

    fallback: other
    topics:
      billing: [invoice, charged twice, vat]
      refund: [refund, money back]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["KeywordBaseline", "keyword_words", "load_keywords"]

_WORD = re.compile(r"[^\W_]+")


def keyword_words(text: str) -> tuple[str, ...]:
    """The lower-cased runs of letters and digits of ``text``, in order."""
    return tuple(_WORD.findall(text.lower()))


@dataclass(frozen=True, slots=True)
class KeywordBaseline:
    """Keyword lists per topic and the topic of a text without a clear winner."""

    topics: Mapping[str, tuple[tuple[str, ...], ...]]
    """Per topic: its keywords, each as its words."""
    fallback: str
    """The topic of a text with no keyword, or a tie for the most keywords found."""

    def predict(self, text: str) -> str:
        """The topic with the most distinct keywords found in ``text``; ``fallback`` on a tie or none."""
        words = keyword_words(text)
        runs: dict[int, set[tuple[str, ...]]] = {}
        hits: dict[str, int] = {}
        for topic, keywords in self.topics.items():
            found = 0
            for keyword in keywords:
                size = len(keyword)
                if size not in runs:
                    runs[size] = {words[i : i + size] for i in range(len(words) - size + 1)}
                found += keyword in runs[size]
            hits[topic] = found
        best = max(hits.values(), default=0)
        leaders = [topic for topic, found in hits.items() if found == best]
        return leaders[0] if best > 0 and len(leaders) == 1 else self.fallback


def load_keywords(path: Path) -> KeywordBaseline:
    """The keyword baseline in the YAML file ``path``.

    Raises:
        ValueError: the file cannot be read, is not such a mapping, or has an empty keyword (named with
            the file).
    """
    import yaml

    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{path}: cannot read the keywords: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict) or set(data) != {"fallback", "topics"}:
        raise ValueError(f"{path}: expected a mapping with exactly 'fallback' and 'topics'")
    fallback, topics = data["fallback"], data["topics"]
    if not isinstance(fallback, str) or not isinstance(topics, dict) or not topics:
        raise ValueError(f"{path}: 'fallback' must be a topic and 'topics' a mapping of topics to keywords")
    parsed: dict[str, tuple[tuple[str, ...], ...]] = {}
    for topic, keywords in topics.items():
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise ValueError(f"{path}: topics.{topic} must be a list of keywords")
        words = tuple(keyword_words(keyword) for keyword in keywords)
        if not all(words):
            raise ValueError(f"{path}: topics.{topic} has a keyword without letters or digits")
        parsed[str(topic)] = words
    return KeywordBaseline(parsed, fallback)
