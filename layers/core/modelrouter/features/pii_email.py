"""E-mail addresses, written plainly or disguised.

Plain addresses are found from their ``@`` (a literal, so ``re`` jumps between them in C). Disguised
ones are looked for only when the text has a disguise (a spaced ``@``, ``at``, ``dot``, ``.`` or ``@``
in brackets, the word ``dot``), found from characters ``re`` can jump to as well (an ``@``, a closing
bracket when the text has one, ``dot``), and then only at each "at": from there the domain is matched
forwards and the local part backwards. Ordinary prose pays a few scans in C:

* ``jane @ example.com``, ``jane[at]example[dot]com``, ``jane (at) example (.) com``,
  ``jane.doe{@}example.co.uk``: a disguised ``@`` or dot, with a well-known top-level domain (so that
  ``weights @ self.shape`` in code is no address);
* ``jane at example dot com``: plain words (``dot`` in lower case) only after a word such as "e-mail"
  or "contact" a little before, and not for a pronoun or verb before "at" (``contact us at …``).

Full-width at signs and full stops are made ASCII before the scan (:mod:`modelrouter.features.pii_text`).
"""

from __future__ import annotations

import re

__all__ = ["find_emails"]

Span = tuple[int, int]

# An "@" (a literal, so `re` jumps between them in C) after a local-part character, then a domain (its
# dots may be ideographic full stops, which IDNA reads as dots).
_EMAIL_AT = re.compile(
    r"@(?<=[A-Za-z0-9_%+\-]@)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?[.\u3002\uff61]){1,8}"
    r"([A-Za-z]{2,24})(?![\w-])"
)
_EMAIL_LOCAL_REVERSED = re.compile(r"[A-Za-z0-9._%+\-]{1,64}")
_FILE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "js", "ts", "py", "css"})


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WELL_KNOWN_TLDS = _words(
    "com net org edu gov mil int info biz name pro io co ai app dev tech online site email mail me us uk "
    "de fr es it nl be ch at se no dk fi pl pt ie ru ua cz sk hu ro bg gr tr il in cn jp kr tw hk sg au "
    "nz ca mx br ar cl za eu"
)
_S, _SS = r"[ \t]{0,2}", r"[ \t]{1,2}"  # spaces around a disguise: optional, or needed (words)
_WORD = r"[A-Za-z0-9_%+\-]{1,64}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOT = rf"(?:[.\u3002\uff61]|{_SS}\.{_SS}|{_S}[\[({{<]{_S}(?:dot|\.){_S}[\])}}>]{_S}|{_SS}dot{_SS})"
_DOT_REVERSED = rf"(?:\.|{_SS}\.{_SS}|{_S}[\])}}>]{_S}(?:tod|\.){_S}[\[({{<]{_S}|{_SS}tod{_SS})"
_TLD = "(?:" + "|".join(sorted(_WELL_KNOWN_TLDS, key=len, reverse=True)) + ")"
_DOMAIN = rf"(?i:(?:{_LABEL}{_DOT}){{1,4}}{_TLD}(?![\w-]))"
"""A domain, its dots perhaps disguised, under a well-known top-level domain (so that ``weights @
self.shape`` in code is no address)."""
_AHEAD = rf"(?={_S}[A-Za-z0-9][A-Za-z0-9-]{{0,62}}+(?i:{_DOT})[A-Za-z]{{2}})"
"""What must follow an "at" for it to be tried: the start of a domain (the rest is checked in Python)."""
_LOCAL_REVERSED = re.compile(rf"{_WORD}(?:{_DOT_REVERSED}{_WORD}){{0,3}}", re.IGNORECASE)
_DOMAIN_AT = re.compile(_DOMAIN)
_PLAIN = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.-]+")

# Signs of a disguise, each pattern starting with a literal: an "@" with a space or bracket beside it or
# a spaced dot in its domain, a closing bracket after "at", "@", "dot" or ".", the word "dot".
_SPACED_AT = re.compile(r"@(?:(?<=[ \t\[({<]@)|(?=[ \t\])}>])|(?=[A-Za-z0-9.-]{1,253}[ \t]{1,2}\.))")
_AT_SIGN = re.compile(f"@{_AHEAD}")
_WORD_DOT = re.compile(r"dot(?<= dot) ")  # "dot" first: a literal prefix of three characters
_WORD_AT = re.compile(f"at(?<= at) {_AHEAD}")


def _closing(close: str, words: tuple[str, ...], ahead: str = "") -> re.Pattern[str]:
    """A closing bracket right after one of ``words`` and at most two spaces (the word is looked back at),
    followed by ``ahead``."""
    behind = (
        f"(?<={re.escape(word)}{gap}{re.escape(close)})" for word in words for gap in ("", " ", "  ", "\t")
    )
    last = re.escape("".join(sorted({word[-1] for word in words})))  # one class test first: most fail it
    gate = f"(?<=[{last} \t]{re.escape(close)})"
    return re.compile(re.escape(close) + gate + "(?:" + "|".join(behind) + ")" + ahead)


_AT_WORDS, _DOT_WORDS = ("at", "AT", "At", "@"), ("dot", "DOT", "Dot", ".")
_CLOSING_AT = tuple((close, _closing(close, _AT_WORDS, _AHEAD)) for close in "])}>")
_CLOSING_DOT = tuple((close, _closing(close, _DOT_WORDS)) for close in "])}>")
_LOCAL_MAX = 300
"""The most characters a disguised local part may take (four words of 64 and three disguised dots)."""


_EMAIL_CONTEXT = re.compile(r"e-?mail|mail|contact|write|reach|address|inbox|courriel|correo", re.IGNORECASE)
_EMAIL_CONTEXT_CHARS = 40
_NOT_A_MAILBOX = _words(
    "i me us we you him her it them this that here there one look looking find found visit reach meet "
    "arrive available online located site website page stay is are be"
)


def find_emails(text: str) -> list[Span]:
    """``(start, end)`` of every e-mail address in ``text``, plain or disguised, in text order."""
    found = _plain(text)
    at_signs = [match.start() for match in _AT_SIGN.finditer(text)] if "@" in text else []
    closings = [  # a closing bracket after "at" or "@"; most prose has no brackets: one-character searches
        match.start() for close, pattern in _CLOSING_AT if close in text for match in pattern.finditer(text)
    ]
    word_dot = _WORD_DOT.search(text) is not None
    disguised = (
        word_dot
        or closings
        or (at_signs and _SPACED_AT.search(text))
        or any(close in text and pattern.search(text) for close, pattern in _CLOSING_DOT)
    )
    if not disguised:
        return found
    ats = [_around(text, at, at + 1) for at in at_signs]  # (start, end) of each "at", spaces included
    ats += [_around(text, *_opened(text, close)) for close in closings]
    words = (
        [_around(text, match.start(), match.end() - 1) for match in _WORD_AT.finditer(text)]
        if word_dot
        else []
    )
    seen = set(found)
    for at_start, at_end, as_word in sorted({*((*at, False) for at in ats), *((*at, True) for at in words)}):
        span = _disguised(text, at_start, at_end, as_word=as_word)
        if span is not None and span not in seen:
            seen.add(span)
            found.append(span)
    found.sort()
    return found


def _opened(text: str, close: int) -> tuple[int, int]:
    """The bracketed "at" (``[at]``, ``( @ )``) that ends with the bracket at ``close``."""
    opening = max(text.rfind(char, max(0, close - 6), close) for char in "[({<")
    return (opening if opening >= 0 else close), close + 1


def _around(text: str, start: int, end: int) -> tuple[int, int]:
    """The "at" at ``start:end`` with up to two spaces or tabs on either side."""
    while start > 0 and text[start - 1] in " \t" and end - start < 12:
        start -= 1
    while end < len(text) and text[end] in " \t" and end - start < 16:
        end += 1
    return start, end


def _plain(text: str) -> list[Span]:
    found: list[Span] = []
    for match in _EMAIL_AT.finditer(text):
        if match.group(1).lower() in _FILE_EXTENSIONS:  # icon@2x.png
            continue
        at = match.start()
        # The local part runs backwards from the "@": match it on the reversed text before it.
        local = _EMAIL_LOCAL_REVERSED.match(text[max(0, at - 64) : at][::-1])
        if local:
            start = at - local.end()
            while text[start] == ".":
                start += 1
            found.append((start, match.end()))
    return found


def _disguised(text: str, at_start: int, at_end: int, *, as_word: bool) -> Span | None:
    """The address around the "at" at ``at_start:at_end`` (spaces included), if one is there."""
    domain = _DOMAIN_AT.match(text, at_end)
    if domain is None:
        return None
    local = _LOCAL_REVERSED.match(text[max(0, at_start - _LOCAL_MAX) : at_start][::-1])
    if local is None:
        return None
    start = at_start - local.end()
    while text[start] == ".":
        start += 1
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._%+-"):
        return None  # the local part is longer than an address allows, or glued to something else
    if as_word:  # plain words: "jane at example dot com"
        context = text[max(0, start - _EMAIL_CONTEXT_CHARS) : start]
        if text[start:at_start].lower() in _NOT_A_MAILBOX or not _EMAIL_CONTEXT.search(context):
            return None
    if _PLAIN.fullmatch(text, start, domain.end()):
        return None  # no disguise at all: a plain address, which `_plain` judged
    return start, domain.end()
