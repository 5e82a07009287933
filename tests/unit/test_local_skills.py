"""The simulated models' hidden skill profile: topics, niches, determinism, and no use of router features."""

from __future__ import annotations

import pytest

from modelrouter.features import extract_features
from modelrouter.features.records import RequestFeatures
from modelrouter.learned.features import dense_features
from modelrouter.local.models import PROFILES, SimRequest, simulate
from modelrouter.local.skills import (
    GENERAL,
    SKILLS,
    TOPICS,
    answer_quality,
    good_chance,
    is_niche,
    topic_of,
    trickiness,
)
from modelrouter.request import parse_chat_request

SMALL, MEDIUM, LARGE = PROFILES["local-small"], PROFILES["local-medium"], PROFILES["local-large"]
TRANSLATION = "Translate 'good morning' into French."
LEGAL = "Is this verbal lease legally binding?"
"""Same length and router features as TRANSLATION; local-small answers it badly."""
ROUTER_HARD_TRANSLATION = (
    "Translate step by step, then compare: 'good morning' into French, and analyze each word in detail first."
)
"""A translation the router's difficulty score rates hard (multi-step wording)."""
PROMPTS = (
    TRANSLATION,
    LEGAL,
    ROUTER_HARD_TRANSLATION,
    "What is the capital of France?",
    "Compare Python and Rust for a CLI tool, in detail.",
    "Which dose of ibuprofen is safe for a patient with a fever?",
    "Solve this riddle: what has keys but cannot open locks?",
    "Hello",
)


def features(text: str) -> RequestFeatures:
    """The router's features of a one-message request."""
    return extract_features(parse_chat_request({"messages": [{"role": "user", "content": text}]}))


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Calculate 17 percent of 240.", "arithmetic"),
        ("My Python script crashes with a traceback.", "code"),
        ("Can my landlord keep the deposit under this lease?", "legal"),
        ("Is ibuprofen safe with a fever?", "medical"),
        ("Who painted the Mona Lisa, and in which century?", "trivia"),
        ("Translate this sentence into Spanish.", "translation"),
        ("Summarize this article in three bullet points.", "summarisation"),
        ("Solve this logic puzzle about knights and knaves.", "reasoning"),
        ("I was charged twice; where is my refund?", "support"),
        ("Tell me something nice.", GENERAL),
    ],
)
def test_topics_are_recognised_from_the_prompts_words(text: str, topic: str) -> None:
    assert topic_of(text) == topic


def test_niche_prompts_lower_small_models_chances_most() -> None:
    # Given a translation into a common language and one into a niche language
    common, niche = "Translate 'thank you' into Spanish.", "Translate 'thank you' into Icelandic."
    assert (is_niche(common), is_niche(niche)) == (False, True)
    # Then every model's chance falls on the niche one, the small model's most
    drops = {name: good_chance(s, common) - good_chance(s, niche) for name, s in SKILLS.items()}
    assert drops["local-small"] > drops["local-medium"] > drops["local-large"] > 0


def test_every_profile_names_every_topic_the_small_model_wins_some_the_large_one_is_best_on_average() -> None:
    assert all(set(skills.by_topic) == set(TOPICS) for skills in SKILLS.values())
    small, large = SKILLS["local-small"].by_topic, SKILLS["local-large"].by_topic
    # The small model is at least as good as the large one on some topic, and far worse on others
    assert any(small[topic] >= large[topic] for topic in TOPICS)
    assert any(large[topic] - small[topic] > 0.5 for topic in TOPICS)
    means = {name: sum(s.by_topic.values()) / len(TOPICS) for name, s in SKILLS.items()}
    assert max(means, key=means.__getitem__) == "local-large"


def test_quality_is_deterministic_zero_or_one_and_is_what_the_simulator_answers() -> None:
    for text in PROMPTS:
        for profile in PROFILES.values():
            # When a model is asked the same thing twice
            first, second = answer_quality(profile, text), answer_quality(profile, text)
            # Then it does equally well both times, and its simulated answer agrees
            assert first == second
            assert first in {0.0, 1.0}
            answer = simulate(profile, SimRequest(last_user_text=text, prompt_chars=len(text)))
            assert answer.good is (first == 1.0)
            assert answer.topic == topic_of(text)


def test_trickiness_is_shared_by_every_model_and_stable() -> None:
    # The same text always has the same trickiness, within [0, 1); different texts differ
    values = [trickiness(text) for text in PROMPTS]
    assert values == [trickiness(text) for text in PROMPTS]
    assert all(0 <= value < 1 for value in values)
    assert len(set(values)) == len(values)


def test_same_router_features_different_outcomes() -> None:
    # Given two prompts the router cannot tell apart: identical difficulty and request features
    assert dense_features(features(TRANSLATION)) == dense_features(features(LEGAL))
    # When the small model answers both
    # Then it does well on the translation and badly on the legal question
    assert (answer_quality(SMALL, TRANSLATION), answer_quality(SMALL, LEGAL)) == (1.0, 0.0)


def test_router_difficulty_does_not_order_the_outcomes() -> None:
    # Given a prompt the router scores hard and one it scores easy
    hard, easy = features(ROUTER_HARD_TRANSLATION).difficulty.score, features(LEGAL).difficulty.score
    assert hard > 0.5
    assert easy < 0.01
    # Then the small model answers the "hard" one well and the "easy" one badly
    assert (answer_quality(SMALL, ROUTER_HARD_TRANSLATION), answer_quality(SMALL, LEGAL)) == (1.0, 0.0)
    # and the large model answers both well: same outcome, very different difficulty
    assert answer_quality(LARGE, ROUTER_HARD_TRANSLATION) == answer_quality(LARGE, LEGAL) == 1.0


def test_models_fail_independently_on_one_prompt() -> None:
    # The same prompt can go either way per model: the noise is drawn per (model, prompt)
    outcomes = {(answer_quality(SMALL, t), answer_quality(MEDIUM, t)) for t in PROMPTS}
    assert (0.0, 1.0) in outcomes
    assert (1.0, 1.0) in outcomes
