"""``benchmarks/local_outcomes.py``: reproducible outcomes of the simulated models, and the committed
router fitted on them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from benchmarks.local_outcomes import (
    FITTED_AT,
    HASH_BITS,
    REQUESTS,
    ROUTER,
    outcome_lines,
    prompts,
    write_outcomes,
)

from modelrouter.learned.artifact import load_router
from modelrouter.local.models import PROFILES
from modelrouter.local.skills import TOPICS, answer_quality, topic_of
from modelrouter.training.metrics import auc
from modelrouter.training.outcomes import OutcomeTable, read_outcomes, tabulate

SMALL_RUN = 120
"""Prompts in the quick runs."""


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> OutcomeTable:
    """The full outcomes, written and read back as ``make local-router`` does."""
    path = tmp_path_factory.mktemp("outcomes") / "local-outcomes.jsonl"
    write_outcomes(path)
    return tabulate(read_outcomes([path]))


def test_the_same_seed_writes_the_same_file_and_another_seed_other_prompts(tmp_path: Path) -> None:
    # When the outcomes are written twice with the same seed, and once with another
    first, second, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    write_outcomes(first, SMALL_RUN)
    write_outcomes(second, SMALL_RUN)
    write_outcomes(other, SMALL_RUN, seed=1)
    # Then the first two are byte-identical, and the third asks other things
    assert first.read_bytes() == second.read_bytes()
    assert prompts(SMALL_RUN) != prompts(SMALL_RUN, seed=1)


def test_each_prompt_is_answered_by_every_model_priced_from_the_local_policy() -> None:
    # When the outcomes of a few prompts are generated
    lines = list(outcome_lines(SMALL_RUN))
    # Then every prompt has one line per simulated model, with its quality, topic tag and price
    assert len(lines) == SMALL_RUN * len(PROFILES)
    by_request: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_request.setdefault(str(line["request_id"]), []).append(line)
    for outcomes in by_request.values():
        prompt = outcomes[0]["prompt"]
        assert [o["model"] for o in outcomes] == list(PROFILES)
        assert [o["quality"] for o in outcomes] == [answer_quality(p, prompt) for p in PROFILES.values()]
        assert all(o["tags"] == [topic_of(prompt)] for o in outcomes)
        costs = [o["cost_usd"] for o in outcomes]
        assert 0 < costs[0] < costs[1] < costs[2]  # local-small < local-medium < local-large


def test_prompts_cover_every_topic_with_varied_lengths(table: OutcomeTable) -> None:
    assert len(table.request_ids) == REQUESTS
    topics = Counter(tags[0] for tags in table.tags)
    assert set(topics) == set(TOPICS)
    assert min(topics.values()) > REQUESTS / len(TOPICS) / 2
    lengths = [len(text) for text in table.texts]
    assert max(lengths) > 5 * min(lengths)


def test_the_routers_difficulty_barely_predicts_the_small_models_failures(table: OutcomeTable) -> None:
    # Given the small model's outcomes and the router's own difficulty score of each prompt
    quality = np.array(table.quality)[:, table.models.index("local-small")]
    difficulty = np.array([features.difficulty.score for features in table.features])
    # Then "easier" (lower) difficulty ranks successes hardly better than chance
    found = auc(-difficulty, quality)
    assert found is not None
    assert 0.4 < found < 0.6


def test_the_committed_router_was_fitted_on_these_outcomes(table: OutcomeTable) -> None:
    # Given the committed artifact
    router = load_router(ROUTER.read_bytes(), str(ROUTER))
    training = router.document["training"]
    # Then it was fitted on exactly the outcomes the generator writes, reproducibly
    assert training["data_sha256"] == table.digest
    assert training["fitted_at"] == FITTED_AT
    assert router.recipe.hash_bits == HASH_BITS
    assert router.models == tuple(PROFILES)
    # And its cross-validated predictions tell the small model's successes from its failures
    assert router.metrics["models"]["local-small"]["auc"] > 0.8
