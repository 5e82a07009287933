"""Local guardrails on a streamed answer: checked as the text arrives, holding back only what may change.

:func:`~modelrouter.checks.guardrails.apply_guardrails` judges a whole answer. A streamed answer is sent
a piece at a time, so :class:`IncrementalGuard` decides, after each piece, how much of the text so far
is final (cannot become part of a blocked term, a pattern match or a finding of personal data once more
text arrives), sends that much (redacted where the policy says ``pii: redact``), and holds back the rest:

* **Blocked terms**: the last ``len(term) - 1`` characters (a term may be completing). Every piece is
  searched together with that tail, so a term split across pieces is found before its first letter is
  sent, and the stream is cut.
* **Blocked patterns**: whether a match starts at ``i`` is settled once the text reaches
  ``i + width + ahead`` (:mod:`~modelrouter.checks.pattern_width`); the rest is held back. Searches start
  where the last one left off, with the few characters lookbehinds need before them.
* **Personal data**: :data:`PII_HOLDBACK_CHARS`, the longest finding :func:`scan_text` can make (a
  disguised e-mail address: a 300-character local part, a spaced or bracketed "at" and four labels with
  disguised dots) plus the characters its detectors read after one (a number's ``,0`` lookahead, an
  e-mail's ``(?![\\w-])``). Text is scanned again once :data:`PII_SCAN_STEP_CHARS` more of it can be
  released, together with :data:`PII_CONTEXT_CHARS` of already sent text before it: the keywords some
  detectors look for before a number or an address ("SSN", "call", "e-mail"), and enough that a finding
  cut off at the left edge of the scan ends before the text still to be judged. A finding that runs
  past the release point moves the point back to its start, so one is never split. Each character is so
  scanned a bounded number of times: a long answer costs O(n), not O(n²).
* **max_chars**: nothing is held back; the stream is cut when the text grows past the limit.

After a block nothing more is sent. For every split of an answer into pieces, what is sent joins up to
the whole-answer redaction when the answer is not blocked; when it is blocked, the guard blocks too,
and what was sent holds no blocked term, pattern match or (``pii: block``) personal data.

What cannot be incremental: ``require_citation`` (only the whole answer can lack a citation), and a
blocked pattern whose match or lookahead has no upper bound (``secret.*``): :func:`holdback_chars` is
None, and such answers must be buffered and judged whole. Where :func:`scan_text` itself looks further
than a finding's span (a digit run or hexadecimal word longer than the scan, invisible characters padding
a number, a disguise elsewhere in the text that turns on the disguised e-mail search), the guard judges
by what the scan sees, which can differ from the whole-answer scan; violations may also list fewer
personal data kinds than the whole answer has (those seen before the cut).
"""

from __future__ import annotations

from dataclasses import dataclass

from modelrouter.checks.pattern_width import PatternReach, pattern_reach
from modelrouter.features.pii import scan_text
from modelrouter.features.records import PiiKind
from modelrouter.policy.check_specs import GuardrailsCheck

__all__ = [
    "PII_CONTEXT_CHARS",
    "PII_HOLDBACK_CHARS",
    "PII_SCAN_STEP_CHARS",
    "GuardStep",
    "IncrementalGuard",
    "holdback_chars",
]

_PII_SPAN_CHARS = 300 + 16 + 4 * (63 + 13) + 6
"""The longest finding: a disguised e-mail address (local part, "at" with spaces, four labels with
disguised dots, the longest well-known top-level domain); plain addresses (64 + 1 + 8 × 64 + 24) are
shorter."""
PII_HOLDBACK_CHARS = _PII_SPAN_CHARS + 8
"""Text held back for personal data: the longest finding and what the detectors read after it."""
PII_CONTEXT_CHARS = _PII_SPAN_CHARS + 48
"""Sent text scanned again before the held-back text: a finding's width (so one cut off at the left
edge of the scan ends before the text being judged) and the keywords read before a finding (40)."""
PII_SCAN_STEP_CHARS = 256
"""Personal data is scanned again once this much more text can be released: each scan reads about
(context + holdback + step) characters to release a step's worth, so a larger step costs less time and
adds latency."""


@dataclass(frozen=True, slots=True)
class GuardStep:
    """What the guard lets through after a piece of text (or at the end)."""

    text: str
    """Text that may be sent now, redacted where the policy says ``pii: redact``."""
    blocked: bool = False
    """Whether the stream must be cut (now or earlier): nothing more may be sent."""
    violations: tuple[str, ...] = ()
    """Why it is blocked, named as :func:`apply_guardrails` names them; never quotes the answer."""
    redacted: tuple[str, ...] = ()
    """Kinds of personal data redacted in :attr:`text`."""


def _pattern_hold(reach: PatternReach) -> int:
    return reach.width + reach.ahead - 1


def _term_hold(terms: list[str]) -> int:
    """Characters a term may still be completing: its lower case's length less one (a character's lower
    case is never shorter, so a match in the lower-cased text spans at most that many characters)."""
    return max((len(term.lower()) - 1 for term in terms), default=0)


def holdback_chars(check: GuardrailsCheck | None) -> int | None:
    """The longest text the guard holds back for ``check`` (0 without one); None when ``check`` can only
    judge a whole answer (``require_citation``, or an unbounded blocked pattern)."""
    if check is None:
        return 0
    if check.require_citation is not None:
        return None
    hold = _term_hold(check.blocked_terms)
    for pattern in check.compiled_blocked_patterns:
        reach = pattern_reach(pattern)
        if reach is None:
            return None
        hold = max(hold, _pattern_hold(reach))
    if check.pii != "allow":
        hold = max(hold, PII_HOLDBACK_CHARS)
    return max(hold, 0)


class IncrementalGuard:
    """Runs a :class:`GuardrailsCheck` on an answer as it streams. Pure: no I/O.

    Call :meth:`feed` with each piece of text and :meth:`finish` at the end; send what each step gives.
    """

    def __init__(self, check: GuardrailsCheck | None) -> None:
        """A guard for ``check``; ValueError when it needs the whole answer (see :meth:`for_check`)."""
        if holdback_chars(check) is None:
            raise ValueError("these guardrails need the whole answer: use apply_guardrails")
        self._check = check
        terms = check.blocked_terms if check else []
        self._terms = [(terms.index(term) + 1, term.lower()) for term in terms]
        """Each blocked term's number (as the whole-answer check gives it) and its lower case."""
        self._term_hold = _term_hold(terms)
        patterns = check.compiled_blocked_patterns if check else ()
        reaches = [pattern_reach(pattern) for pattern in patterns]
        self._patterns = [
            (number, pattern, reach)
            for number, (pattern, reach) in enumerate(zip(patterns, reaches, strict=True), start=1)
            if reach is not None  # always (checked above); for the type checker
        ]
        self._behind = max((reach.behind for _, _, reach in self._patterns), default=0) + 1
        self._decided = [0] * len(self._patterns)
        """Per pattern: every start before this offset is known not to begin a match."""
        self._pii = check.pii if check else "allow"
        self._text = ""
        """The answer from offset :attr:`_base` on (what later checks still read)."""
        self._base = 0
        self._end = 0
        self._sent = 0
        """Offset up to which the answer has been released."""
        self._blocked = False
        self._done = False

    @classmethod
    def for_check(cls, check: GuardrailsCheck | None) -> IncrementalGuard | None:
        """A guard for ``check`` (one that lets everything through without one); None when the check
        needs the whole answer (see :func:`holdback_chars`): buffer it and use ``apply_guardrails``."""
        if holdback_chars(check) is None:
            return None
        return cls(check)

    @property
    def blocked(self) -> bool:
        """Whether the stream has been cut."""
        return self._blocked

    def feed(self, text: str) -> GuardStep:
        """Take the next piece of the answer; say what may be sent now, or that the stream is cut."""
        if self._done:
            raise RuntimeError("the guard has finished")
        return self._step(text, final=False)

    def finish(self) -> GuardStep:
        """The answer is complete: check and release what is held back."""
        if self._done:
            raise RuntimeError("the guard has finished")
        step = self._step("", final=True)
        self._done = True
        return step

    def _step(self, text: str, *, final: bool) -> GuardStep:
        if self._blocked:
            return GuardStep("", blocked=True)
        checked = self._end
        self._text += text
        self._end += len(text)
        violations = self._violations(checked, final=final)
        if violations:
            return self._block(violations)
        release = self._end if final else min(self._end - self._term_hold, *self._decided, self._end)
        kinds: tuple[str, ...] = ()
        out = ""
        if self._pii == "allow":
            out = self._slice(self._sent, max(self._sent, release))
            self._sent = max(self._sent, release)
        elif final or self._end - self._sent >= PII_HOLDBACK_CHARS + PII_SCAN_STEP_CHARS:
            if not final:
                release = min(release, self._end - PII_HOLDBACK_CHARS)
            findings, release = self._findings(release)
            if findings and self._pii == "block":
                names = ", ".join(sorted({kind.value for kind, _, _ in findings}))
                return self._block([f"personal data in answer: {names}"])
            out = self._redacted(findings, release)
            kinds = tuple(sorted({kind.value for kind, _, _ in findings}))
        self._trim()
        return GuardStep(out, redacted=kinds)

    def _violations(self, checked: int, *, final: bool) -> list[str]:
        """Blocked terms in the new text, pattern matches now settled, and the length limit."""
        violations: list[str] = []
        if self._terms:
            window = self._slice(max(self._base, checked - self._term_hold), self._end).lower()
            violations.extend(f"blocked term #{number}" for number, term in self._terms if term in window)
        for index, (number, pattern, reach) in enumerate(self._patterns):
            start = self._decided[index]
            limit = self._end + 1 if final else self._end - _pattern_hold(reach)
            if limit <= start:
                continue
            match = pattern.search(self._text, start - self._base, self._end - self._base)
            if match is not None and match.start() + self._base < limit:
                violations.append(f"blocked pattern #{number}")
            self._decided[index] = limit
        max_chars = self._check.max_chars if self._check else None
        if max_chars is not None and self._end > max_chars:
            violations.append(f"{self._end} characters, limit {max_chars}")
        return violations

    def _findings(self, release: int) -> tuple[list[tuple[PiiKind, int, int]], int]:
        """Findings (absolute offsets) that start between what was sent and ``release``, and the release
        point moved back to the start of a finding that runs past it."""
        origin = max(self._base, self._sent - PII_CONTEXT_CHARS)
        found: list[tuple[PiiKind, int, int]] = []
        for kind, offset, stop in scan_text(self._slice(origin, self._end)):
            start, end = offset + origin, stop + origin
            if start < self._sent or start >= release:
                continue
            if end > release:
                return found, start
            found.append((kind, start, end))
        return found, release

    def _redacted(self, findings: list[tuple[PiiKind, int, int]], release: int) -> str:
        """The text from what was sent to ``release`` with ``findings`` replaced; marks it sent."""
        pieces: list[str] = []
        cursor = self._sent
        for kind, start, end in findings:
            pieces.extend((self._slice(cursor, start), f"[REDACTED:{kind.value}]"))
            cursor = end
        pieces.append(self._slice(cursor, release))
        self._sent = max(self._sent, release)
        return "".join(pieces)

    def _slice(self, start: int, end: int) -> str:
        return self._text[start - self._base : end - self._base]

    def _block(self, violations: list[str]) -> GuardStep:
        self._blocked = True
        self._text = ""
        return GuardStep("", blocked=True, violations=tuple(violations))

    def _trim(self) -> None:
        """Drop text no later check reads (once it is at least half the buffer: amortized O(1))."""
        context = PII_CONTEXT_CHARS if self._pii != "allow" else 0
        keep = min(self._end - self._term_hold, self._sent - context)
        if self._patterns:
            keep = min(keep, min(self._decided) - self._behind)
        drop = keep - self._base
        if drop > 0 and drop * 2 >= len(self._text):
            self._text = self._text[drop:]
            self._base = keep
