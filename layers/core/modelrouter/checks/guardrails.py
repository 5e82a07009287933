"""Local guardrails over an answer's text: blocked terms and patterns, PII, length, citations."""

from __future__ import annotations

from dataclasses import dataclass

from modelrouter.features.pii import scan_text
from modelrouter.features.records import PiiKind
from modelrouter.policy.check_specs import GuardrailsCheck

__all__ = ["GuardrailOutcome", "apply_guardrails"]


@dataclass(frozen=True, slots=True)
class GuardrailOutcome:
    """What the guardrails found."""

    violations: tuple[str, ...]
    """Why the answer is blocked (empty if it is not)."""
    text: str
    """The answer, redacted where the policy says ``pii: redact``."""
    redacted: tuple[str, ...]
    """Kinds of personal data that were redacted."""


def apply_guardrails(check: GuardrailsCheck, text: str) -> GuardrailOutcome:
    """Run the local guardrails on ``text``. Violations never quote the answer."""
    violations: list[str] = []
    lowered = text.lower()
    for term in check.blocked_terms:
        if term.lower() in lowered:
            violations.append(f"blocked term #{check.blocked_terms.index(term) + 1}")
    for index, pattern in enumerate(check.compiled_blocked_patterns):
        if pattern.search(text):
            violations.append(f"blocked pattern #{index + 1}")
    if check.max_chars is not None and len(text) > check.max_chars:
        violations.append(f"{len(text)} characters, limit {check.max_chars}")
    if check.compiled_citation is not None and not check.compiled_citation.search(text):
        violations.append("required citation missing")
    redacted: list[str] = []
    if check.pii != "allow":
        findings = scan_text(text)
        kinds = sorted({kind.value for kind, _, _ in findings})
        if findings and check.pii == "block":
            violations.append(f"personal data in answer: {', '.join(kinds)}")
        elif findings:
            text = _redact(text, findings)
            redacted = kinds
    return GuardrailOutcome(tuple(violations), text, tuple(redacted))


def _redact(text: str, findings: list[tuple[PiiKind, int, int]]) -> str:
    pieces: list[str] = []
    cursor = 0
    for kind, start, end in sorted(findings, key=lambda finding: finding[1]):
        pieces.append(text[cursor:start])
        pieces.append(f"[REDACTED:{kind.value}]")
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
