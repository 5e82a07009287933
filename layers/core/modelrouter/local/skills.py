"""The simulated models' hidden skill profile: how likely each is to answer a prompt well; pure, no I/O.

A model's chance of a good answer depends on things the router does not compute:

- the prompt's **topic**, recognised from its words by a keyword map that lives only here (arithmetic,
  code, legal, medical, trivia, translation, summarisation, reasoning puzzles, support, or general),
  and the model's skill at that topic;
- whether it touches a **niche** corner of its topic (Haskell code, Icelandic, maritime law …), which
  costs small models more than large ones;
- a hidden per-prompt **trickiness** from a stable hash of its text (``zlib.crc32``), the same for every
  model, so models tend to fail on the same prompts;
- **noise** that is deterministic per (model, prompt), so the same model asked the same thing answers
  the same.

Nothing here reads the router's features (its difficulty score, the prompt's length or token estimate):
a learned router has to learn the topics and niches from the text, and cannot learn the trickiness or
the noise. :func:`answer_quality` is the one rule; the model server (:mod:`modelrouter.local.models`)
and the outcome generator (``benchmarks/local_outcomes.py``) both call it, so they never disagree.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

__all__ = [
    "GENERAL",
    "GOOD_QUALITY",
    "NICHE_WORDS",
    "SKILLS",
    "TOPICS",
    "TOPIC_WORDS",
    "TRICKINESS_WEIGHT",
    "Skilled",
    "Skills",
    "answer_quality",
    "good_chance",
    "is_niche",
    "topic_of",
    "trickiness",
]

GENERAL = "general"
"""The topic of a prompt no keyword recognises."""
GOOD_QUALITY = 0.5
"""Quality at or above which an answer is a good one (qualities are 0 or 1)."""
TRICKINESS_WEIGHT = 0.3
"""How much the hidden trickiness moves every model's chance: ± half of this around the topic skill."""
_HASH_RANGE = float(1 << 32)
_TRICKINESS_SEED = 0x7E1C
# Picked among the seeds under which the example requests in events/ keep the outcomes they are there to
# show (the billing dispute beats local-small but not local-medium; the invoice extraction, the password
# question and the rest are answered well by the models their routes pick).
_NOISE_SEED = 100
_WORD = re.compile(r"[a-z]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TOPIC_WORDS: Mapping[str, frozenset[str]] = MappingProxyType({
    "arithmetic": _words(
        "add adding arithmetic calculate compute divide divided minus multiply multiplied percent "
        "percentage plus subtract times"
    ),
    "code": _words(
        "bug class code coding compile crashes debug exception function javascript loop method python "
        "query refactor regex script sql tests traceback typescript variable"
    ),
    "legal": _words(
        "clause contract copyright court enforceable gdpr landlord lawful lawsuit lease legal liability "
        "liable statute sue tenant trademark"
    ),
    "medical": _words(
        "allergy blood diagnosis dosage dose doctor fever ibuprofen infection medication medicine "
        "patient prescription rash symptom symptoms vaccine"
    ),
    "trivia": _words(
        "capital century discovered famous founded invented inventor largest longest painted tallest "
        "wrote"
    ),
    "translation": _words(
        "french german italian japanese portuguese spanish translate translated translating translation"
    ),
    "summarisation": _words(
        "abstract briefly condense gist outline recap shorten summarise summarize summary takeaways tldr"
    ),
    "reasoning": _words(
        "deduce logic liar liars paradox puzzle riddle truthful knights knaves weighings seating"
    ),
    "support": _words(
        "account billing cancel charged invoice invoices login password plan refund subscription upgrade"
    ),
})  # fmt: skip
"""Words that mark each topic. A prompt's topic is the one with the most of its words (ties: the
first listed); a prompt with none is :data:`GENERAL`."""

TOPICS: tuple[str, ...] = (*TOPIC_WORDS, GENERAL)
"""Every topic, :data:`GENERAL` last."""

NICHE_WORDS: frozenset[str] = _words(
    "antitrust assembly basque cobol erlang extradition fortran haskell icelandic maritime "
    "ocaml oncology paediatric prolog rare swahili tropical welsh"
)
"""Words of a topic's niche corners (an exotic language, a rare disease, an obscure field of law)."""


@dataclass(frozen=True, slots=True)
class Skills:
    """One model's hidden skill profile."""

    by_topic: Mapping[str, float]
    """Chance of a good answer per topic, for a prompt of average trickiness outside any niche."""
    niche_penalty: float
    """How much a niche prompt lowers that chance."""

    def describe(self) -> dict[str, Any]:
        """The profile as a JSON object."""
        return {"by_topic": dict(self.by_topic), "niche_penalty": self.niche_penalty}


def _skills(niche_penalty: float, **by_topic: float) -> Skills:
    if set(by_topic) != set(TOPICS):
        raise ValueError(f"a skill profile names every topic: {', '.join(TOPICS)}")
    return Skills(MappingProxyType(by_topic), niche_penalty)


SKILLS: Mapping[str, Skills] = MappingProxyType({
    "local-small": _skills(
        0.35, arithmetic=0.92, code=0.3, legal=0.2, medical=0.22, trivia=0.88, translation=0.93,
        summarisation=0.82, reasoning=0.12, support=0.8, general=0.78,
    ),
    "local-medium": _skills(
        0.25, arithmetic=0.9, code=0.84, legal=0.62, medical=0.66, trivia=0.86, translation=0.88,
        summarisation=0.9, reasoning=0.5, support=0.9, general=0.88,
    ),
    "local-large": _skills(
        0.08, arithmetic=0.96, code=0.95, legal=0.93, medical=0.92, trivia=0.95, translation=0.9,
        summarisation=0.93, reasoning=0.88, support=0.95, general=0.94,
    ),
})  # fmt: skip
"""Each simulated model's profile: the small one is good at arithmetic, trivia and translation (a
little better than the large one at translation) and poor at code, law, medicine and puzzles; the
large one is the best on average."""


class Skilled(Protocol):
    """Anything with a model name and a skill profile (a :class:`~modelrouter.local.models.ModelProfile`)."""

    @property
    def name(self) -> str:
        """The model's name: seeds its noise."""

    @property
    def skills(self) -> Skills:
        """Its skill profile."""


def _unit(data: str, seed: int) -> float:
    """A stable number in [0, 1) from ``data`` (``zlib.crc32``; Python's ``hash()`` is salted)."""
    return zlib.crc32(data.encode("utf-8", "surrogatepass"), seed) / _HASH_RANGE


def _lower_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def topic_of(text: str) -> str:
    """The topic of ``text``: the one with the most of its marking words, else :data:`GENERAL`."""
    counts = dict.fromkeys(TOPIC_WORDS, 0)
    for word in _lower_words(text):
        for topic, words in TOPIC_WORDS.items():
            if word in words:
                counts[topic] += 1
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else GENERAL


def is_niche(text: str) -> bool:
    """Whether ``text`` touches a niche corner of its topic."""
    return not NICHE_WORDS.isdisjoint(_lower_words(text))


def trickiness(text: str) -> float:
    """The prompt's hidden trickiness in [0, 1): the same for every model."""
    return _unit(text.strip(), _TRICKINESS_SEED)


def good_chance(skills: Skills, text: str) -> float:
    """The chance, in [0, 1], that a model with ``skills`` answers ``text`` well."""
    chance = skills.by_topic[topic_of(text)] - TRICKINESS_WEIGHT * (trickiness(text) - 0.5)
    if is_niche(text):
        chance -= skills.niche_penalty
    return min(1.0, max(0.0, chance))


def answer_quality(profile: Skilled, text: str) -> float:
    """How good ``profile``'s answer to the prompt ``text`` is: 1.0 (good) or 0.0 (bad).

    Deterministic: a draw from the stable hash of (model, prompt) against :func:`good_chance`.
    """
    draw = _unit(f"{profile.name}\x1f{text.strip()}", _NOISE_SEED)
    return 1.0 if draw < good_chance(profile.skills, text) else 0.0
