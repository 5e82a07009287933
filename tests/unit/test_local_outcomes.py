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
    POLICY,
    REQUESTS,
    ROUTER,
    outcome_lines,
    prompts,
    repin,
    write_outcomes,
)

from modelrouter.learned.artifact import load_router
from modelrouter.learned.features import FeatureRecipe
from modelrouter.local.models import PROFILES
from modelrouter.local.skills import TOPICS, answer_quality, topic_of
from modelrouter.policy.artifacts import load_local_routers
from modelrouter.policy.loader import load_policy_file
from modelrouter.request import parse_chat_request
from modelrouter.selection import RequestContext, decide
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
    assert router.recipe == FeatureRecipe(hash_bits=HASH_BITS)  # today's recipe defaults: refit if not
    assert router.models == tuple(PROFILES)
    # And its cross-validated predictions tell the small model's successes from its failures
    assert router.metrics["models"]["local-small"]["auc"] > 0.8


def test_repin_rewrites_only_the_pin_of_that_router(tmp_path: Path) -> None:
    # Given a policy pinning two routers
    old, new = "a" * 64, "b" * 64
    text = "".join(f"{name}:\n  router: routers/{name}.json\n  sha256: {old}\n" for name in ("x", "y"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    # When one is re-pinned, Then only its pin changes; an unknown key changes nothing
    assert repin(policy, "routers/x.json", new)
    assert policy.read_text() == text.replace(old, new, 1)
    assert not repin(policy, "routers/z.json", new)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Translate 'where is the train station?' into Spanish.", "local-small"),
        ("Can my landlord keep the deposit if the lease says nothing about cleaning?", "local-large"),
    ],
)
def test_the_local_policys_learned_route_sends_each_question_to_the_cheapest_model_fit_for_it(
    text: str, first: str
) -> None:
    # Given policies/local.yaml and the router it pins (the pin must match the committed file)
    loaded = load_policy_file(POLICY)
    routers = load_local_routers(loaded.policy, POLICY)
    # When the learned route decides for a translation (local-small's forte) and a legal question
    request = parse_chat_request({"messages": [{"role": "user", "content": text}]})
    decision = decide(loaded.policy, request, RequestContext("r-1", "helpdesk"), routers=routers)
    # Then the cheapest model predicted to reach the quality target goes first; every cheaper one falls short
    chosen = decision.candidates[0]
    assert (decision.route, chosen.model, chosen.source) == ("learned-assistant", first, "learned:target")
    cheaper = [c for c in decision.candidates if c.estimated_cost_usd < chosen.estimated_cost_usd]
    assert all(c.predicted_quality is not None and c.predicted_quality < 0.8 for c in cheaper)
    # And the chosen model does answer it well
    assert answer_quality(PROFILES[first], text) == 1.0
