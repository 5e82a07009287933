"""How hard a request looks, from cheap signals that each explain themselves.

A handful of signals, each between 0 and 1: the length of the latest user message, code, math,
multi-step wording, the number of questions, the depth of the conversation and whether tools or a
structured answer are asked for. They combine as a noisy-OR, ``1 - prod(1 - weight * value)``: each
signal alone lifts the score by at most its weight, and signals compound. One strong cue (a proof to
derive, a stack trace) therefore makes a request hard, which a weighted mean of mostly idle signals
cannot express. It reads mostly the latest user message; on a huge
message the keyword signals look at its head and tail only, so the cost stays bounded.
"""

from __future__ import annotations

import math
import re

from modelrouter.features.records import Difficulty, DifficultySignal
from modelrouter.request import ChatRequest, ResponseFormatJsonObject, ResponseFormatJsonSchema, UserMessage
from modelrouter.text import lower_words

__all__ = [
    "CODE_WEIGHT",
    "DEPTH_WEIGHT",
    "KEYWORD_HEAD_CHARS",
    "KEYWORD_TAIL_CHARS",
    "LENGTH_SCALE_CHARS",
    "LENGTH_WEIGHT",
    "MATH_WEIGHT",
    "MULTI_STEP_WEIGHT",
    "QUESTIONS_WEIGHT",
    "STRUCTURED_WEIGHT",
    "combine_signals",
    "score_difficulty",
]

LENGTH_WEIGHT = 0.3
"""Weight of the length of the latest user message."""
CODE_WEIGHT = 0.45
"""Weight of code: fenced blocks, code-like lines, programming words."""
MATH_WEIGHT = 0.5
"""Weight of math: LaTeX, math symbols, math words."""
MULTI_STEP_WEIGHT = 0.55
"""Weight of multi-step wording: "step by step", "prove", "compare", "first … then" …"""
QUESTIONS_WEIGHT = 0.25
"""Weight of the number of questions asked at once."""
DEPTH_WEIGHT = 0.2
"""Weight of the conversation depth (user turns)."""
STRUCTURED_WEIGHT = 0.2
"""Weight of tools and structured (JSON) answers."""

LENGTH_SCALE_CHARS = 3_000
"""Length signal is ``1 - exp(-chars / LENGTH_SCALE_CHARS)``: 300 chars 0.1, 3,000 0.63, 10,000 0.96."""
KEYWORD_HEAD_CHARS = 8_000
"""Keyword signals read at most this many characters from the start of the message …"""
KEYWORD_TAIL_CHARS = 2_000
"""… and this many from its end, where the question after a pasted document usually is."""


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_CODE_WORDS = _word_set(
    "def elif lambda const println printf struct impl fn func void namespace async await typedef enum "
    "nullptr kwargs args python javascript typescript java golang rust "
    "sql regex c++ c# kotlin swift bash shell dockerfile kubernetes api json yaml html css react django "
    "traceback exception stacktrace segfault compile compiler debug refactor bug unittest pytest "
    "algorithm recursion"
)
# Line starts that open a fence (group 1) or are indented, and line ends after ";" or "{". Anchored on
# the newline, a literal, so `re` jumps from line to line in C.
_CODE_MARKS = re.compile(r"\n(?:(```)|    |\t|(?<=[;{]\n))")
_MATH_WORDS = _word_set(
    "integral integrals derivative derivatives equation equations theorem lemma corollary matrix matrices "
    "eigenvalue eigenvalues eigenvector probability probabilities polynomial polynomials induction prime "
    "primes modulo proof calculus limit limits vector vectors algebra geometry logarithm factorial "
    "combinatorics permutations variance integer integers rational irrational convergence series "
    "differential gradient"
)
_LATEX = re.compile(
    r"\\(?:frac|sum|int|sqrt|begin|lim|cdot|infty|partial|alpha|beta|gamma|theta|lambda|sigma|pi|mathbb"
    r"|mathrm|left|right|leq|geq|neq|prod|binom|log)(?![A-Za-z])|\$\$"
)
_MATH_SYMBOLS = re.compile("[∑∫√≤≥≠∞π∂≈±×÷∀∃∈∉⊂⊆∇∏]")
_MULTI_STEP_WORDS = _word_set(
    "prove proof derive derivation analyze analyse analysis compare comparison contrast evaluate justify "
    "design optimize optimise implement refactor debug diagnose step-by-step trade-off trade-offs tradeoffs "
    "firstly secondly finally reason reasoning demonstrate beweise analysiere vergleiche démontrer "
    "démontrez analysez comparez demuestra analiza compara dimostra"
)
_SHOWN_CUES = 6
# (word that must be present, phrase): the phrase is searched only when the word is there.
_MULTI_STEP_PHRASES = (
    ("step", "step by step"),
    ("why", "explain why"),
    ("how", "explain how"),
    ("walk", "walk me through"),
    ("cons", "pros and cons"),
    ("detail", "in detail"),
    ("schritt", "schritt für schritt"),
    ("étape", "étape par étape"),
    ("paso", "paso a paso"),
    ("passo", "passo dopo passo"),
)


def _signal(name: str, value: float, weight: float, detail: str) -> DifficultySignal:
    return DifficultySignal(
        name=name, value=round(min(1.0, max(0.0, value)), 3), weight=weight, detail=detail
    )


def _keyword_window(text: str) -> str:
    if len(text) <= KEYWORD_HEAD_CHARS + KEYWORD_TAIL_CHARS:
        return text
    return f"{text[:KEYWORD_HEAD_CHARS]}\n{text[-KEYWORD_TAIL_CHARS:]}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _code(window: str, words: set[str]) -> DifficultySignal:
    # Saturates at two fenced blocks, or about 25 code-like lines, or seven programming words.
    marks = _CODE_MARKS.findall(f"\n{window}")
    fence_marks = marks.count("```")
    fences, lines = (fence_marks + 1) // 2, len(marks) - fence_marks
    keywords = len(words & _CODE_WORDS)
    value = 0.5 * fences + 0.04 * lines + 0.15 * keywords
    detail = f"{_plural(fences, 'fenced block')}, {_plural(lines, 'code-like mark')}, {keywords} code words"
    return _signal("code", value, CODE_WEIGHT, detail)


def _math(window: str, words: set[str]) -> DifficultySignal:
    # Saturates at four LaTeX marks or math words, fewer when symbols and powers add up.
    latex = len(_LATEX.findall(window)) if "\\" in window or "$$" in window else 0
    symbols = 0 if window.isascii() else len(_MATH_SYMBOLS.findall(window))
    powers = window.count("^")
    keywords = len(words & _MATH_WORDS)
    value = 0.25 * latex + 0.15 * symbols + 0.1 * powers + 0.25 * keywords
    detail = f"{latex} LaTeX marks, {_plural(symbols, 'math symbol')}, {powers} powers, {keywords} math words"
    return _signal("math", value, MATH_WEIGHT, detail)


def _multi_step(window: str, words: set[str]) -> DifficultySignal:
    # Saturates at three distinct cues.
    cues: list[str] = []
    lowered = ""
    for gate, phrase in _MULTI_STEP_PHRASES:
        if gate in words:
            lowered = lowered or window.lower()
            if phrase in lowered:
                cues.append(phrase)
    if "first" in words and "then" in words:
        cues.append("first … then")
    cues += sorted(words & _MULTI_STEP_WORDS)
    shown = ", ".join(cues[:_SHOWN_CUES]) + (", …" if len(cues) > _SHOWN_CUES else "")
    detail = f"{_plural(len(cues), 'cue')}: {shown}" if cues else "0 cues"
    return _signal("multi_step", len(cues) / 3, MULTI_STEP_WEIGHT, detail)


def _structured(request: ChatRequest) -> DifficultySignal:
    # One tool is 0.5, six or more 1; a JSON schema answer adds 0.5, any JSON object 0.3.
    tools = len(request.tools or ())
    value = 0.5 + 0.1 * min(tools - 1, 5) if tools else 0.0
    parts = [f"{_plural(tools, 'tool')} offered"] if tools else []
    if isinstance(request.response_format, ResponseFormatJsonSchema):
        value += 0.5
        parts.append("answer must follow a JSON schema")
    elif isinstance(request.response_format, ResponseFormatJsonObject):
        value += 0.3
        parts.append("answer must be a JSON object")
    return _signal("structured", value, STRUCTURED_WEIGHT, "; ".join(parts) or "no tools, free-form answer")


def score_difficulty(request: ChatRequest) -> Difficulty:
    """Score how hard ``request`` looks, 0 (trivial) to 1 (hard), with the signals behind the score.

    The score is ``1 - prod(1 - weight * value)`` over the signals (see the ``*_WEIGHT`` constants).
    """
    text = request.last_user_text()
    window = _keyword_window(text)
    words = set(lower_words(window))
    questions = window.count("?")
    user_turns = sum(1 for message in request.messages if isinstance(message, UserMessage))
    signals = (
        _signal(
            "length",
            1 - math.exp(-len(text) / LENGTH_SCALE_CHARS),
            LENGTH_WEIGHT,
            f"{len(text)} characters in the latest user message",
        ),
        _code(window, words),
        _math(window, words),
        _multi_step(window, words),
        # One question is the normal case; five saturate. One user turn is the normal case; seven saturate.
        _signal("questions", (questions - 1) / 4, QUESTIONS_WEIGHT, _plural(questions, "question mark")),
        _signal("depth", (user_turns - 1) / 6, DEPTH_WEIGHT, _plural(user_turns, "user turn")),
        _structured(request),
    )
    return Difficulty(score=round(combine_signals(signals), 3), signals=signals)


def combine_signals(signals: tuple[DifficultySignal, ...]) -> float:
    """Noisy-OR of the signals: ``1 - prod(1 - weight * value)``, in [0, 1]."""
    remaining = 1.0
    for signal in signals:
        remaining *= 1.0 - signal.weight * signal.value
    return min(1.0, max(0.0, 1.0 - remaining))
