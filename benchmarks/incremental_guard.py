"""Incremental guardrails: the cost per KB of a streamed answer, against one whole-answer check.

``python -m benchmarks.incremental_guard`` prints µs per KB for each policy and piece size; ``run()``
gives the same as table rows for :mod:`benchmarks.run`.
"""

from __future__ import annotations

from functools import partial

from benchmarks.harness import Result, print_table, summarize, time_calls
from modelrouter.checks.guardrails import apply_guardrails
from modelrouter.checks.incremental import IncrementalGuard
from modelrouter.policy import GuardrailsCheck

__all__ = ["answer_text", "microseconds_per_kb", "run"]

ANSWER_KB = 64
"""Size of the streamed answer."""
PIECE_CHARS = (4, 64)
"""Piece sizes: about a token per delta, and a batch of tokens."""
SAMPLES = 5
CHECKS = {
    "terms+patterns": GuardrailsCheck(
        blocked_terms=["swordfish", "hunter2"], blocked_patterns=[r"\bAKIA\w{16}\b"]
    ),
    "pii redact": GuardrailsCheck(pii="redact", blocked_terms=["swordfish"]),
}
_SENTENCE = "Reach jane.doe@example.com or pay 4111 1111 1111 1111; the museums open late on Fridays. "


def answer_text(kilobytes: int = ANSWER_KB) -> str:
    """Prose with an e-mail address and a card number in every sentence, ``kilobytes`` long."""
    return (_SENTENCE * (kilobytes * 1024 // len(_SENTENCE) + 1))[: kilobytes * 1024]


def _stream(check: GuardrailsCheck, pieces: list[str]) -> None:
    guard = IncrementalGuard.for_check(check)
    assert guard is not None
    for piece in pieces:
        guard.feed(piece)
    guard.finish()


def microseconds_per_kb(check: GuardrailsCheck, piece_chars: int, kilobytes: int = ANSWER_KB) -> float:
    """Median µs per KB to stream an answer through the guard in pieces of ``piece_chars``."""
    text = answer_text(kilobytes)
    pieces = [text[start : start + piece_chars] for start in range(0, len(text), piece_chars)]
    durations = time_calls(lambda: _stream(check, pieces), SAMPLES, warmup=1)
    return sorted(durations)[len(durations) // 2] * 1000 / kilobytes


def run() -> list[Result]:
    """One row per policy: the whole answer checked once, then streamed in pieces of each size."""
    text = answer_text()
    results: list[Result] = []
    for name, check in CHECKS.items():
        whole = time_calls(partial(apply_guardrails, check, text), SAMPLES, warmup=1)
        results.append(summarize(f"guardrails {name}, whole {ANSWER_KB} KB", whole, None))
        for piece_chars in PIECE_CHARS:
            per_kb = microseconds_per_kb(check, piece_chars)
            row = f"  streamed, {piece_chars}-char pieces"
            results.append(summarize(row, [per_kb * ANSWER_KB / 1000], None, f"{per_kb:.0f} µs/KB"))
    return results


if __name__ == "__main__":
    print_table(run())
