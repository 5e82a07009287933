"""Difficulty: trivial requests score low, multi-step technical ones high, every signal explains itself."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.features.difficulty import score_difficulty
from modelrouter.features.records import Difficulty
from modelrouter.request import parse_chat_request

HARD_PROOF = r"""Prove step by step that the sum of the first n odd numbers is n^2, i.e.
$$\sum_{k=1}^{n} (2k - 1) = n^2.$$
First derive it by induction, then explain why the proof works and compare it with a geometric argument.
Finally, implement and analyze a Python function that checks the identity:

```python
def check(limit: int) -> bool:
    total = 0
    for k in range(1, limit + 1):
        total += 2 * k - 1
        if total != k ** 2:
            return False
    return True
```
What is its complexity? Can the check itself be proven correct?"""


def _score(content: str, **extra: Any) -> Difficulty:
    return score_difficulty(parse_chat_request({"messages": [{"role": "user", "content": content}], **extra}))


def _signal(difficulty: Difficulty, name: str) -> float:
    return next(signal.value for signal in difficulty.signals if signal.name == name)


@pytest.mark.parametrize("greeting", ["Hi!", "Hello, how are you?", "Thanks, that's all.", "ok"])
def test_trivial_greeting_scores_low(greeting: str) -> None:
    # Given a greeting / When scored / Then it is easy
    assert _score(greeting).score < 0.2


def test_multi_step_math_and_code_proof_scores_high() -> None:
    # Given a proof with LaTeX, code and several reasoning steps
    # When scored
    difficulty = _score(HARD_PROOF)

    # Then it is hard, and code, math and multi-step wording all fired
    assert difficulty.score > 0.6
    assert _signal(difficulty, "code") > 0.5
    assert _signal(difficulty, "math") > 0.5
    assert _signal(difficulty, "multi_step") == 1.0


def test_signals_explain_themselves() -> None:
    # Given the hard proof
    # When scored
    details = {signal.name: signal.detail for signal in _score(HARD_PROOF).signals}

    # Then each signal says what it saw
    assert set(details) == {"length", "code", "math", "multi_step", "questions", "depth", "structured"}
    assert "1 fenced block" in details["code"]
    assert "LaTeX" in details["math"]
    assert details["multi_step"].startswith("10 cues: step by step, explain why, first … then")
    assert details["questions"] == "2 question marks"
    assert details["depth"] == "1 user turn"
    assert "characters in the latest user message" in details["length"]


def test_score_is_the_noisy_or_of_the_signals() -> None:
    # Given any request / When scored
    difficulty = _score(HARD_PROOF)
    # Then the score is 1 - prod(1 - weight * value) over its signals
    remaining = 1.0
    for signal in difficulty.signals:
        remaining *= 1 - signal.weight * signal.value
    assert difficulty.score == pytest.approx(1 - remaining, abs=1e-3)


def test_one_strong_signal_makes_a_request_hard() -> None:
    # Given a request whose only cue is heavy multi-step wording
    text = "First analyze the contract, then compare both offers step by step and justify the choice."
    # When scored / Then multi-step wording alone lifts it close to its cap
    assert _score(text).score >= 0.45


def test_longer_messages_score_higher_on_length() -> None:
    # Given a short and a long request / When scored / Then length grows and saturates below 1
    short, long = _score("Summarize this."), _score("Summarize this. " + "word " * 3000)
    assert _signal(short, "length") < 0.05
    assert 0.9 < _signal(long, "length") <= 1


def test_many_questions_raise_the_questions_signal() -> None:
    # Given one question and five questions
    # When scored / Then one question is normal, five are a lot
    assert _signal(_score("What is the price?"), "questions") == 0
    assert _signal(_score("What? Why? When? Where? How?"), "questions") == 1


def test_conversation_depth_counts_user_turns() -> None:
    # Given a conversation with four user turns
    messages = []
    for turn in range(4):
        messages += [
            {"role": "user", "content": f"Question {turn}"},
            {"role": "assistant", "content": "Answer"},
        ]
    messages.append({"role": "user", "content": "And the last one?"})

    # When scored
    difficulty = score_difficulty(parse_chat_request({"messages": messages}))

    # Then depth reflects five user turns, and only the last message counts for length
    assert _signal(difficulty, "depth") > 0.5
    assert next(s.detail for s in difficulty.signals if s.name == "depth") == "5 user turns"
    assert next(s.detail for s in difficulty.signals if s.name == "length").startswith("17 characters")


def test_tools_and_schema_make_structured_output_harder() -> None:
    # Given the same question plain, with tools, and with a JSON schema answer
    tool = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}
    schema = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}

    # When scored
    plain = _score("Find the order.")
    with_tools = _score("Find the order.", tools=[tool, tool | {"function": {"name": "lookup"}}])
    with_schema = _score("Find the order.", response_format=schema)

    # Then structure raises the signal and the score
    assert _signal(plain, "structured") == 0
    assert _signal(with_tools, "structured") > 0
    assert _signal(with_schema, "structured") > 0
    assert with_tools.score > plain.score
    assert with_schema.score > plain.score


def test_question_at_the_end_of_a_huge_document_is_seen() -> None:
    # Given a 400 KB pasted document with the actual ask at its very end
    text = "Lorem ipsum dolor sit amet. " * 15_000 + "Now prove step by step that the summary is correct."

    # When scored / Then the multi-step cues at the end are found
    assert _signal(_score(text), "multi_step") > 0


def test_keywords_match_whole_words_only() -> None:
    # Given words that merely contain cue words ("improve" contains "prove")
    # When scored / Then they are no multi-step cues
    assert _signal(_score("Please improve and approve the draft."), "multi_step") == 0


@settings(max_examples=200)
@given(st.text(max_size=3000), st.integers(min_value=1, max_value=4))
def test_score_is_always_in_range(text: str, turns: int) -> None:
    # Given any text over any number of turns
    messages = [{"role": "user", "content": text}] * turns

    # When scored
    difficulty = score_difficulty(parse_chat_request({"messages": messages}))

    # Then the score and every signal are within [0, 1]
    assert 0 <= difficulty.score <= 1
    assert all(0 <= signal.value <= 1 for signal in difficulty.signals)
