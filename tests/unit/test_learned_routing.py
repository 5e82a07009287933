"""The ``learned`` strategy and the learned difficulty in the decision engine: ordering by predicted
quality and cost, eligibility first, and a fallback to the listed order when the router cannot score."""

from __future__ import annotations

import builtins
import socket
import urllib.request
from collections.abc import Mapping
from typing import Any

import pytest
from tests.helpers import build_policy, chat, features, model_entry
from tests.learned_fixtures import ROUTER_KEY, keyword_router, learned_policy, sha256_hex

from modelrouter.learned.artifact import LearnedRouter
from modelrouter.policy import ArtifactRef, Policy
from modelrouter.request import ChatRequest
from modelrouter.selection import Decision, ExclusionReason, RequestContext, decide

# Predicted quality without the keyword, and for a prompt that is the keyword "prove".
EASY = {"cheap-7b": 0.9, "mid-34b": 0.95, "frontier": 0.97}
HARD = {"cheap-7b": 0.3, "mid-34b": 0.85, "frontier": 0.95}


def routed(
    policy: Policy,
    routers: Mapping[ArtifactRef, Any],
    request: ChatRequest | None = None,
    **feature_overrides: Any,
) -> Decision:
    context = RequestContext(request_id="req-1", tenant_id="t1")
    return decide(
        policy, request or chat("hello"), context, features=features(**feature_overrides), routers=routers
    )


def learned_setup(**learned: Any) -> tuple[Policy, dict[ArtifactRef, LearnedRouter], LearnedRouter]:
    router, raw = keyword_router(EASY, with_keyword=HARD)
    policy = build_policy(learned_policy(raw, **learned))
    assert policy.routes[0].learned is not None
    return policy, {policy.routes[0].learned.ref: router}, router


def order(decision: Decision) -> list[tuple[str, str]]:
    return [(c.model, c.source) for c in decision.candidates]


def test_the_cheapest_candidate_that_reaches_the_target_goes_first() -> None:
    # Given a learned route with quality_target 0.8, and an easy prompt every model is predicted to answer
    policy, routers, router = learned_setup()
    # When it is decided
    decision = routed(policy, routers, chat("hello"))
    # Then the cheapest (small, 0.9 ≥ 0.8) goes first; the rest follow by predicted quality
    assert order(decision) == [
        ("small", "learned:target"),
        ("large", "learned:utility"),
        ("medium", "learned:utility"),
    ]
    assert [c.predicted_quality for c in decision.candidates] == pytest.approx([0.9, 0.97, 0.95])
    # And the decision records the artifact and the objective
    assert decision.learned is not None
    assert decision.learned.model_dump() == {
        "router": ROUTER_KEY,
        "digest": router.digest,
        "objective": "quality_target",
        "value": 0.8,
        "applied": True,
    }


def test_a_hard_prompt_skips_the_models_predicted_below_the_target() -> None:
    # Given a prompt the small model is predicted to fail (0.3 < 0.8)
    policy, routers, _ = learned_setup()
    # When it is decided
    decision = routed(policy, routers, chat("prove"))
    # Then the cheapest model predicted to reach the target (medium, 0.85) goes first
    assert order(decision) == [
        ("medium", "learned:target"),
        ("large", "learned:utility"),
        ("small", "learned:utility"),
    ]
    assert [c.predicted_quality for c in decision.candidates] == pytest.approx([0.85, 0.95, 0.3])


def test_when_no_candidate_reaches_the_target_the_best_predicted_goes_first() -> None:
    # Given a target no model is predicted to reach
    policy, routers, _ = learned_setup(quality_target=0.99)
    # When it is decided
    decision = routed(policy, routers, chat("prove"))
    # Then the best predicted goes first, then by predicted quality
    assert order(decision) == [
        ("large", "learned:best"),
        ("medium", "learned:utility"),
        ("small", "learned:utility"),
    ]


@pytest.mark.parametrize(
    ("cost_weight", "expected"),
    [
        # No price on cost: by predicted quality alone
        (0.0, ["large", "medium", "small"]),
        # λ = 50 quality per USD: small 0.3 - 0.045, medium 0.85 - 0.09, large 0.95 - 0.425
        (50.0, ["medium", "large", "small"]),
        # λ = 1000: small 0.3 - 0.9, medium 0.85 - 1.8, large 0.95 - 8.5
        (1000.0, ["small", "medium", "large"]),
    ],
)
def test_cost_weight_orders_by_predicted_quality_minus_weighted_cost(
    cost_weight: float, expected: list[str]
) -> None:
    # Given a learned route with cost_weight λ (costs: small $0.0009, medium $0.0018, large $0.0085)
    policy, routers, _ = learned_setup(cost_weight=cost_weight)
    # When a hard prompt is decided
    decision = routed(policy, routers, chat("prove"))
    # Then the order is by predicted quality - λ · estimated cost
    assert [c.model for c in decision.candidates] == expected
    assert {c.source for c in decision.candidates} == {"learned:utility"}
    assert decision.learned is not None
    assert (decision.learned.objective, decision.learned.value) == ("cost_weight", cost_weight)


def test_an_ineligible_model_is_never_chosen_however_well_it_is_predicted() -> None:
    # Given the best-predicted model's window too small for the request
    router, raw = keyword_router(EASY, with_keyword=HARD)
    document = learned_policy(raw, quality_target=0.9)
    document["models"][2] = model_entry(
        "large",
        pricing={"input_per_mtok": 5, "output_per_mtok": 20},
        context_window=1_000,
        max_output_tokens=500,
    )
    policy = build_policy(document)
    assert policy.routes[0].learned is not None
    # When a hard prompt of 900 tokens is decided
    decision = routed(policy, {policy.routes[0].learned.ref: router}, chat("prove"), prompt_tokens=900)
    # Then the large model is left out with its reason, and the best eligible one goes first
    assert order(decision) == [("medium", "learned:best"), ("small", "learned:utility")]
    assert {e.model: e.reason for e in decision.exclusions} == {"large": ExclusionReason.CONTEXT_TOO_SMALL}


class BrokenRouter:
    """A router whose scoring raises (a corrupt head, a bug)."""

    digest = "sha256:" + "0" * 64

    def score(self, text: str, features: Any) -> dict[str, float]:
        raise ZeroDivisionError("float division by zero")


class NanRouter(BrokenRouter):
    """A router that scores, but not a number."""

    def score(self, text: str, features: Any) -> dict[str, float]:
        return {"cheap-7b": float("nan"), "mid-34b": 0.5, "frontier": 0.5}


@pytest.mark.parametrize(
    ("router", "why"),
    [
        (BrokenRouter(), "could not score the request (ZeroDivisionError)"),
        (NanRouter(), "could not score the request (ValueError)"),
        (None, "is not loaded"),
    ],
    ids=["raises", "nan", "not-loaded"],
)
def test_a_router_that_cannot_score_falls_back_to_the_listed_order(router: Any, why: str) -> None:
    # Given a learned route whose router raises, returns NaN, or was never loaded
    policy, routers, _ = learned_setup()
    ref = next(iter(routers))
    routers = {ref: router} if router is not None else {}
    # When a request is decided, Then it is not an error: the listed order, with a note saying why
    decision = routed(policy, routers, chat("prove"))
    assert order(decision) == [("small", "models"), ("medium", "models"), ("large", "models")]
    assert all(c.predicted_quality is None for c in decision.candidates)
    assert decision.learned is not None
    assert decision.learned.applied is False
    assert any(ROUTER_KEY in note and why in note for note in decision.notes), decision.notes


def threshold_policy(raw: bytes, *, learned: bool = True) -> Policy:
    document = learned_policy(raw)
    route: dict[str, Any] = {
        "name": "default",
        "strategy": "threshold",
        "tiers": {"easy": ["small"], "hard": ["large"]},
        "thresholds": {"hard": 0.5},
    }
    if learned:
        route["learned_difficulty"] = {"router": ROUTER_KEY, "sha256": sha256_hex(raw), "model": "cheap-7b"}
    document["routes"] = [route]
    return build_policy(document)


@pytest.mark.parametrize(
    ("prompt", "heuristic", "tier", "difficulty"),
    [
        # The hand-made score says hard; the router predicts the cheap model answers it (0.9)
        ("hello", 0.9, "easy", 0.1),
        # The hand-made score says easy; the router predicts the cheap model fails (0.3)
        ("prove", 0.0, "hard", 0.7),
    ],
)
def test_a_learned_difficulty_picks_the_tier_instead_of_the_hand_made_score(
    prompt: str, heuristic: float, tier: str, difficulty: float
) -> None:
    # Given a threshold route whose difficulty is 1 - the cheap model's predicted quality
    router, raw = keyword_router(EASY, with_keyword=HARD)
    policy = threshold_policy(raw)
    assert policy.routes[0].learned_difficulty is not None
    routers = {policy.routes[0].learned_difficulty.ref: router}
    # When the request is decided with a hand-made difficulty that disagrees
    decision = routed(policy, routers, chat(prompt), difficulty=heuristic)
    # Then the learned difficulty picked the tier, and the decision says so
    assert decision.tier == tier
    assert decision.tier_difficulty is not None
    assert decision.tier_difficulty.source == "learned"
    assert decision.tier_difficulty.value == pytest.approx(difficulty)
    assert (decision.tier_difficulty.model, decision.tier_difficulty.digest) == ("cheap-7b", router.digest)


def test_a_learned_difficulty_without_its_router_falls_back_to_the_hand_made_score() -> None:
    # Given a threshold route with a learned difficulty whose router is not loaded
    _, raw = keyword_router(EASY, with_keyword=HARD)
    policy = threshold_policy(raw)
    # When a request the hand-made score calls hard is decided
    decision = routed(policy, {}, chat("hello"), difficulty=0.9)
    # Then the hand-made score picked the tier, with a note, and the set-aside tier says by what
    assert decision.tier == "hard"
    assert decision.tier_difficulty is not None
    assert (decision.tier_difficulty.source, decision.tier_difficulty.value) == ("features", 0.9)
    assert any("is not loaded" in note for note in decision.notes)
    assert [e.detail for e in decision.exclusions] == ["difficulty 0.900 (features) selected tier 'hard'"]


def test_a_threshold_route_without_a_learned_difficulty_records_the_hand_made_one() -> None:
    # Given a plain threshold route
    _, raw = keyword_router(EASY)
    # When a request is decided, Then the difficulty used is the features' score
    decision = routed(threshold_policy(raw, learned=False), {}, chat("hello"), difficulty=0.2)
    assert decision.tier == "easy"
    assert decision.tier_difficulty is not None
    assert decision.tier_difficulty.model_dump(exclude_none=True) == {"value": 0.2, "source": "features"}
    assert decision.notes == ()


def test_request_data_never_makes_the_engine_open_a_file_or_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a loaded router, and a request that names other artifacts, paths and URLs everywhere it can
    policy, routers, router = learned_setup()
    hostile = (
        "routers/evil.json ../../etc/passwd file:///etc/passwd s3://other-bucket/r.json https://x.test/r"
    )
    request = chat(hostile, metadata={"router": "routers/evil.json", "tags": "s3://other/r.json"})
    opened: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        opened.append(repr(args[:1]))
        raise AssertionError("the decision engine tried I/O")

    # When it is decided with every way to open a file or a connection refused
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    decision = routed(policy, routers, request)
    # Then nothing was opened, and the request was scored by the router the policy loaded
    assert opened == []
    assert decision.learned is not None
    assert decision.learned.digest == router.digest
    assert decision.candidates[0].predicted_quality is not None
