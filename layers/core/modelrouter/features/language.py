"""A cheap language detector: the dominant Unicode script, then a stop-word vote for Latin-script text.

It is meant for routing (send Japanese to a model that is good at Japanese), not for linguistics: it
looks at a bounded sample, knows seven Latin-script languages by their commonest words, and names every
other script's most likely language. Anything it cannot tell is ``und`` with a low confidence.
"""

from __future__ import annotations

import re
from collections import Counter

from modelrouter.features.records import LanguageGuess
from modelrouter.text import letter_count, lower_words, non_ascii

__all__ = ["MIN_LETTERS", "SAMPLE_CHARS", "detect_language"]

SAMPLE_CHARS = 2_000
"""Only the first characters are looked at, so a 400 KB prompt costs as much as a short one.

Two thousand characters are some 350 words, plenty for a stop-word vote; a longer sample only costs time.
"""
MIN_LETTERS = 4
"""Fewer letters than this are too little text to guess from."""
_FULL_CONFIDENCE_VOTES = 5
"""Stop-word votes at which the Latin-script guess is as confident as its margin allows."""
_VOTE = 420
"""One stop word's vote, divisible by 1 to 7 so that languages sharing a word split it exactly."""

# Non-ASCII letters of each script; ASCII letters are counted as Latin separately. `[x][x]*` rather than
# `[x]+`: a pattern that starts with a plain class lets `re` skip ahead in C.
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(f"[{chars}][{chars}]*"))
    for name, chars in (
        ("latin", "\u00c0-\u024f\u1e00-\u1eff"),
        ("cyrillic", "\u0400-\u04ff"),
        ("greek", "\u0370-\u03ff\u1f00-\u1fff"),
        ("arabic", "\u0600-\u06ff\u0750-\u077f"),
        ("hebrew", "\u0590-\u05ff"),
        ("devanagari", "\u0900-\u097f"),
        ("thai", "\u0e00-\u0e7f"),
        ("hangul", "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"),
        ("kana", "\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\uff66-\uff9f"),
        ("han", "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),
    )
)

# The likeliest language of each non-Latin script, and how sure that guess can be at best.
_SCRIPT_LANGUAGE: dict[str, tuple[str, float]] = {
    "cyrillic": ("ru", 0.75),
    "greek": ("el", 0.95),
    "arabic": ("ar", 0.8),
    "hebrew": ("he", 0.9),
    "devanagari": ("hi", 0.75),
    "thai": ("th", 0.95),
    "hangul": ("ko", 0.95),
    "kana": ("ja", 0.95),
    "han": ("zh", 0.85),
}
# Cyrillic letters Ukrainian has and Russian lacks (i, yi, ye, ghe with upturn).
_UKRAINIAN_LETTERS = ("\u0456", "\u0457", "\u0454", "\u0491")

_STOP_WORDS_BY_LANGUAGE: dict[str, str] = {
    "en": "the and is are was were of to in that it with for this you what how be not have has on can "
    "please my your from we i an do does there their would should could which will about by at as or "
    "if but so our me all any been",
    "de": "der die das und ist nicht ich sie es ein eine einen mit zu den dem auf für von wie was bitte "
    "mir mich auch sind oder wir kann wenn aber noch nach bei im uns",
    "fr": "le la les et est une des du de que qui pas pour dans je vous ce il elle sur avec au aux mais "
    "nous sont cette comment ne se plus mon votre",
    "es": "el la los las y es un una que de en por para con no se del lo como mi está pero más son al "
    "yo tu cómo muy esta este qué",
    "it": "il lo la gli le e è un una che di per non con del della sono mi come cosa questo ma anche ho "
    "io si nel alla perché più sei",
    "pt": "o a os as e é um uma que de do da em para com não se dos das no na por mais como eu você isso "
    "está são mas meu minha",
    "nl": "de het een en is van ik te dat die niet op zijn met voor je wat hoe maar er ook kan naar dit "
    "wij we aan bij om u",
}
_LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}


def _stop_word_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    for language, words in _STOP_WORDS_BY_LANGUAGE.items():
        for word in words.split():
            index[word] = (*index.get(word, ()), language)
    return index


_STOP_WORDS = _stop_word_index()


def _dominant_script(sample: str) -> tuple[str, int, int, dict[str, int]]:
    rest = non_ascii(sample)
    counts = {name: sum(map(len, pattern.findall(rest))) for name, pattern in _SCRIPTS}
    counts["latin"] += letter_count(sample)
    script = max(counts, key=counts.__getitem__)
    return script, counts[script], sum(counts.values()), counts


def _undetermined(script: str, evidence: str, confidence: float = 0.0) -> LanguageGuess:
    return LanguageGuess(code="und", script=script, confidence=confidence, evidence=evidence)


def _vote_latin(words: list[str]) -> LanguageGuess:
    votes = dict.fromkeys(_LANGUAGE_NAMES, 0)
    hits = dict.fromkeys(_LANGUAGE_NAMES, 0)
    counts = Counter(words)
    # A stop word several languages share gives each of them an equal part of its vote, in whole
    # numbers so that the sum cannot depend on the (hash-seeded) order of the words.
    for word in counts.keys() & _STOP_WORDS.keys():
        languages = _STOP_WORDS[word]
        for language in languages:
            votes[language] += counts[word] * _VOTE // len(languages)
            hits[language] += counts[word]
    ranked = sorted(votes, key=votes.__getitem__, reverse=True)
    best, second = votes[ranked[0]], votes[ranked[1]]
    if best == 0:
        return _undetermined(
            "latin", f"none of {len(words)} words is a common word of {', '.join(_LANGUAGE_NAMES)}", 0.1
        )
    margin = (best - second) / best
    coverage = min(1.0, best / (_FULL_CONFIDENCE_VOTES * _VOTE))
    return LanguageGuess(
        code=ranked[0],
        script="latin",
        confidence=round(0.2 + 0.75 * coverage * (0.5 + 0.5 * margin), 2),
        evidence=f"{hits[ranked[0]]} of {len(words)} words are {_LANGUAGE_NAMES[ranked[0]]} stop words",
    )


def detect_language(text: str) -> LanguageGuess:
    """Guess the language of ``text`` from its first :data:`SAMPLE_CHARS` characters.

    The dominant script names the language outright where one script means one language (hangul: ``ko``,
    kana: ``ja``, han: ``zh``, or ``ja`` when kana appear too); Latin-script text is decided by a vote of
    common words among en, de, fr, es, it, pt and nl. Too little text gives ``und``.
    """
    sample = text[:SAMPLE_CHARS]
    if sample.isascii():
        letters = letter_count(sample)
        if letters < MIN_LETTERS:
            return _undetermined("latin" if letters else "unknown", f"only {letters} letters of text")
        return _vote_latin(lower_words(sample))
    script, count, letters, counts = _dominant_script(sample)
    if letters < MIN_LETTERS:
        return _undetermined(script if letters else "unknown", f"only {letters} letters of text")
    share = count / letters
    if script == "latin":
        return _vote_latin(lower_words(sample))
    code, certainty = _SCRIPT_LANGUAGE[script]
    evidence = f"{share:.0%} of {letters} letters are {script.capitalize()}"
    if script in ("han", "kana") and counts["kana"] * 50 >= counts["han"] + counts["kana"]:
        share = (counts["han"] + counts["kana"]) / letters  # Japanese mixes han and kana
        code, certainty = _SCRIPT_LANGUAGE["kana"]
        evidence = f"{share:.0%} of {letters} letters are Han or Kana, {counts['kana']} of them Kana"
    elif script == "cyrillic" and sum(sample.count(letter) for letter in _UKRAINIAN_LETTERS) * 100 >= count:
        code, evidence = "uk", f"{evidence}, with Ukrainian letters"
    return LanguageGuess(code=code, script=script, confidence=round(certainty * share, 2), evidence=evidence)
