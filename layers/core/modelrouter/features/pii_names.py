"""Names of people next to a personal label: ``Name: Jane Doe``, ``Surname: MÜLLER``, ``my name is …``.

A capitalised pair of words alone is not a name for this scan (it is as often a product, a place or a
team); a name needs a label before it:

* a name label and ``:`` or ``=`` (``Full name:``, ``"first_name": "``, ``Nom :``, ``Name des Kunden:``,
  ``Apellidos:`` …, :data:`~modelrouter.features.pii_words.NAME_LABELS`): one name word is enough;
* a role label and ``:`` or ``=`` (``Customer:``, ``Account holder:``, ``Kunde:``, ``Titular:``):
  two words, or one after a title, since "Customer: Thanks" and "Customer: Acme Corp" are not names;
* ``name is`` (``my name is Jane``), or a lower-case ``name`` and two words (``name Jane Doe``);
* a title (``Mr.``, ``Mrs``, ``Ms``, ``Mme``, ``Mlle``) and a capitalised word.

Labels with ``:``/``=`` come from :func:`~modelrouter.features.pii_labels.find_labels`; ``name`` and
titles are each one literal scan. A label after a word that makes it something else's name
(``File name:``, ``Project name:``) is ignored.

The name is the run of name words after the label, on its line, one space apart: capitalised or upper
case words (``O'Brien``, ``Dubois-Lefèvre``), initials (``J.``) and particles inside
(``van der``), up to :data:`MAX_NAME_WORDS`. It ends at the first other word, at punctuation, at two
spaces or a tab (the next field of a form), or at a field word (``Last name``, ``DOB``); it is dropped
when a word marks a company (``Inc``, ``GmbH``). Known gap: a name without such a label (a signature, a
bare "Jane Doe"), and lower-case names.
"""

from __future__ import annotations

import re

from modelrouter.features.pii_labels import UPPER_LETTERS, KycText, Label, previous_word
from modelrouter.features.pii_words import (
    COMPANY_WORDS,
    HONORIFICS,
    NAME_NOT_PERSONAL,
    NAME_PARTICLES,
    NOT_NAMES,
)

__all__ = ["MAX_NAME_WORDS", "find_names"]

Span = tuple[int, int]

MAX_NAME_WORDS = 6
"""The most words a name may have (particles and initials included)."""
_MAX_WORD_CHARS = 30
_ROLE_MIN_WORDS = 2
_UPPER = UPPER_LETTERS
_LETTERS = rf"[^\W\d_]{{1,{_MAX_WORD_CHARS}}}"
_WORD = rf"[{_UPPER}](?:{_LETTERS})?(?:['\u2019\-]{_LETTERS}){{0,3}}(?![\w'\u2019\-])"
"""A capitalised word, its parts joined by apostrophes or hyphens (``O'Brien``, ``Dubois-Lefèvre``)."""
_INITIAL = rf"[{_UPPER}]\.?(?![\w'\u2019\-])"
_PARTICLE = "(?:" + "|".join(sorted(NAME_PARTICLES, key=len, reverse=True)) + ")"
_TITLES = "(?i:" + "|".join(sorted(HONORIFICS, key=len, reverse=True)) + r")\.?[ ]"
_NAME = re.compile(
    rf"[ \t]{{0,3}}[\"'\u201c\u2018«]?[ \t]{{0,2}}(?P<title>{_TITLES})?"
    rf"(?P<name>{_WORD}(?:(?:[ ]{_PARTICLE})*[ ](?:{_WORD}|{_INITIAL})){{0,{MAX_NAME_WORDS - 1}}})"
)
"""A run of name words one space apart (particles and initials inside), after spaces, a quote, a title."""
# "name" in the lower-cased bytes, with "is" or a space after it (":" and "=" are found as labels).
_NAME_WORD = re.compile(
    rb"name(?:s|\(s\))?(?P<is>[ ](?:is|was)[ ]{1,2}|[ ][\-\xe2][\x80\x93\x94]{0,2}[ ]|[ ])"
)
_TITLE = re.compile(rf"M(?<![^\W\d_]M)(?:rs?|s|x|me|lle)\.?[ ](?=[{_UPPER}])")
_CODE_AFTER = re.compile(r"[(\[{<=_:]|\.\w")
"""What follows an identifier, not a name (``Slot()``, ``Mapping[str]``, ``Config.x``, ``Name:Type``)."""
_INNER_CAPITAL = re.compile(
    r"(?<=[^\W\d_])(?<!\bMc)(?<!\bMac)(?<!\bDe)(?<!\bDi)(?<!\bDa)(?<!\bDu)(?<!\bLa)(?<!\bLe)(?<!\bVan)(?<!\bVon)(?<!\bFitz)[A-Z]"
)
"""A capital inside a word (``InputTokens``, ``PyYAML``, ``QHull``), except after a name prefix
(``McDonald``, ``MacArthur``, ``DeVries``); words in capitals are names (``MÜLLER``)."""
_PHRASE_AFTER = re.compile(r" (?:[^\W\d_A-Z]|\d)")
"""A lower-case word or a number after a one-word name: a phrase (``Name: Stix fonts``, ``Courier 10``)."""
_BARE_LABELS = frozenset({"name", "names", "name(s)"})
"""Labels that are as often code or configuration (``name: Identifier``, ``G.name = "Petersen Graph"``,
``{"Name": "MyLogo"}``): after them in lower case a name needs two words, and in quotes or after a dot
(a key or an attribute) it is not read at all."""
_CODE_MARKS = frozenset("\"'`.")
_NAME_WORDS = frozenset({"name", "surname", "forename", "firstname", "lastname", "fullname"})
"""Words ending in "name" that label a person's name without a separator (``my surname is …``)."""
_NO_CHECK = -1
"""No label to check the word before (a title)."""

Candidate = tuple[int, int, int]
"""Where a name may start, the fewest words it needs, and where its label starts (or ``_NO_CHECK``)."""


def _name_at(text: str, start: int, min_words: int) -> Span | None:
    """The name that starts at ``start`` (after spaces, an opening quote or a title), if it has at
    least ``min_words`` words (one after a title) and no company word."""
    match = _NAME.match(text, start)
    if match is None:
        return None
    if match.group("title"):
        min_words = 1
    words, position = 0, match.start("name")
    first, end = position, position
    if _CODE_AFTER.match(text, match.end()):
        return None
    for token in match.group("name").split(" "):
        key = token.lower()
        if key in COMPANY_WORDS or (not token.isupper() and _INNER_CAPITAL.search(token)):
            return None
        if key in NOT_NAMES or key.rstrip(".") in HONORIFICS:
            break
        if token[0].isupper():
            words += len(token.rstrip(".")) > 1
            end = position + len(token)
        position += len(token) + 1
    if words == 1 and _PHRASE_AFTER.match(text, end):
        return None
    return (first, end) if words >= min_words and end > first else None


def _min_words(text: str, kind: str, label: int, value: int) -> int | None:
    """Words a name needs after a label: one after a name label, two after a role or a lower-case
    ``name``; None after ``name`` as a key or an attribute."""
    if kind != "name":
        return _ROLE_MIN_WORDS
    word = text[label:value].rstrip(":= \t\"'`")
    if word.lower() not in _BARE_LABELS:
        return 1
    if text[label - 1 : label] in _CODE_MARKS or not _CODE_MARKS.isdisjoint(text[value : value + 2]):
        return None
    return _ROLE_MIN_WORDS if word.islower() else 1


def _candidates(scanned: KycText, labels: list[Label]) -> list[Candidate]:
    """Where names may start: after name and role labels, ``name is`` or ``name``, and titles."""
    text = scanned.text
    found: list[Candidate] = []
    for kind, start, value in labels:
        min_words = _min_words(text, kind, start, value) if kind in ("name", "role") else None
        if min_words is not None:
            found.append((value, min_words, start))
    matches = list(_NAME_WORD.finditer(scanned.lowered))
    starts = scanned.chars([match.start() for match in matches])
    for match, start in zip(matches, starts, strict=True):
        label = start
        while label and text[label - 1].isalpha():
            label -= 1
        if text[label : start + len("name")].lower() not in _NAME_WORDS:
            continue  # "rename Foo Bar", "filename"
        value = start + len(match.group().decode("utf-8", "replace"))
        if match.group("is").strip():
            found.append((value, 1, label))
        elif text[label : start + len("name")].islower():  # "name Jane Doe", not "Name the file"
            found.append((value, _ROLE_MIN_WORDS, label))
    found.extend((title.end(), 1, _NO_CHECK) for title in _TITLE.finditer(text))
    return sorted(found)


def find_names(scanned: KycText, labels: list[Label]) -> list[Span]:
    """``(start, end)`` of every labelled name in the text, in text order, apart."""
    text = scanned.text
    found: list[Span] = []
    for value, min_words, label in _candidates(scanned, labels):
        if found and value < found[-1][1]:
            continue  # inside the name before (a flood of labels costs one read each)
        span = _name_at(text, value, min_words)
        if span is not None and (label == _NO_CHECK or previous_word(text, label) not in NAME_NOT_PERSONAL):
            found.append(span)
    return found
