"""Confidence before the call: a ``cascade`` route skips the tiers its learned router predicts below
``skip_below`` (never the last, never a pinned model), eligibility first, and a router that cannot
score skips nothing, with a note."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from tests.helpers import build_policy, chat, features
from tests.learned_fixtures import MODEL_MAP, ROUTER_KEY, keyword_router, learned_policy, sha256_hex

from modelrouter.learned.artifact import LearnedRouter
from modelrouter.policy import ArtifactRef, Policy
from modelrouter.request import ChatRequest
from modelrouter.selection import Decision, ExclusionReason, RequestContext, decide

# Predicted quality without the keyword, and for a prompt that is the keyword "prove".
EASY = {"cheap-7b": 0.9, "mid-34b": 0.95, "frontier": 0.97}
HARD = {"cheap-7b": 0.31, "mid-34b": 0.85, "frontier": 0.95}
SKIP_BELOW = 0.4


def cascade_document(raw: bytes, **block: Any) -> dict[str, Any]:
    """A policy whose one route is a cascade over small, medium and large (cheapest first) with a
    ``cascade`` block reading the artifact ``raw``; ``block`` overrides the block's fields."""
    document = learned_policy(raw)
    cascade = {
        "router": ROUTER_KEY,
        "sha256": sha256_hex(raw),
        "model_map": dict(MODEL_MAP),
        "skip_below": SKIP_BELOW,
        **block,
    }
    document["routes"] = [
        {"name": "default", "strategy": "cascade", "models": ["small", "medium", "large"], "cascade": cascade}
    ]
    return document


def setup(
    quality: Mapping[str, float] = EASY, with_keyword: Mapping[str, float] = HARD, **block: Any
) -> tuple[Policy, dict[ArtifactRef, LearnedRouter]]:
    router, raw = keyword_router(quality, with_keyword=with_keyword)
    policy = build_policy(cascade_document(raw, **block))
    spec = policy.routes[0].cascade
    assert spec is not None
    return policy, {spec.ref: router}


def routed(
    policy: Policy,
    routers: Mapping[ArtifactRef, Any],
    request: ChatRequest,
    **feature_overrides: Any,
) -> Decision:
    context = RequestContext(request_id="req-1", tenant_id="t1")
    return decide(policy, request, context, features=features(**feature_overrides), routers=routers)


def kept(decision: Decision) -> list[str]:
    return [c.model for c in decision.candidates]


def predicted(decision: Decision) -> list[float | None]:
    return [c.predicted_quality for c in decision.candidates]


def skips(decision: Decision) -> dict[str, str]:
    return {
        e.model: e.detail for e in decision.exclusions if e.reason is ExclusionReason.PREDICTED_BELOW_SKIP
    }


def test_a_tier_predicted_below_skip_below_is_skipped_and_the_decision_says_why() -> None:
    # Given a cascade with skip_below 0.4, and a prompt the small model is predicted to fail (0.31)
    policy, routers = setup()
    # When it is decided
    decision = routed(policy, routers, chat("prove"))
    # Then the small tier is left out as predicted_below_skip, with the prediction and the router
    assert skips(decision) == {"small": f"predicted quality 0.310 < skip_below 0.400 ({ROUTER_KEY})"}
    # And the cascade starts at the medium tier, each kept tier with its predicted quality
    assert kept(decision) == ["medium", "large"]
    assert predicted(decision) == pytest.approx([0.85, 0.95])
    assert {c.source for c in decision.candidates} == {"cascade"}
    assert decision.notes == ()


def test_no_tier_is_skipped_when_every_prediction_reaches_skip_below() -> None:
    # Given an easy prompt (0.9, 0.95, 0.97, all at or above 0.4)
    policy, routers = setup()
    # When it is decided
    decision = routed(policy, routers, chat("hello"))
    # Then the cascade keeps every tier, cheapest first, each with its prediction
    assert kept(decision) == ["small", "medium", "large"]
    assert predicted(decision) == pytest.approx([0.9, 0.95, 0.97])
    assert decision.exclusions == ()


def test_a_prediction_exactly_at_skip_below_is_kept() -> None:
    # Given skip_below equal to the small model's prediction for "prove"
    policy, routers = setup(skip_below=HARD["cheap-7b"])
    # When it is decided, Then the small tier is tried (only a prediction below the threshold skips)
    assert [c.model for c in routed(policy, routers, chat("prove")).candidates] == [
        "small",
        "medium",
        "large",
    ]


def test_the_most_expensive_eligible_tier_is_never_skipped() -> None:
    # Given a prompt every model is predicted to fail
    policy, routers = setup(with_keyword={"cheap-7b": 0.1, "mid-34b": 0.2, "frontier": 0.3})
    # When it is decided
    decision = routed(policy, routers, chat("prove"))
    # Then the cheaper tiers are skipped and the last one stays, with its (low) prediction
    assert set(skips(decision)) == {"small", "medium"}
    assert kept(decision) == ["large"]
    assert predicted(decision) == pytest.approx([0.3])


def test_a_middle_tier_predicted_below_is_skipped_too() -> None:
    # Given a prompt the small model is predicted to answer but the medium one to fail
    policy, routers = setup(with_keyword={"cheap-7b": 0.7, "mid-34b": 0.2, "frontier": 0.9})
    # When it is decided
    decision = routed(policy, routers, chat("prove"))
    # Then a failed small answer escalates straight to the large model
    assert kept(decision) == ["small", "large"]
    assert set(skips(decision)) == {"medium"}


def test_eligibility_comes_first_so_the_last_eligible_tier_is_kept() -> None:
    # Given the large model's window too small for a 900-token prompt, and every model predicted to fail
    router, raw = keyword_router(EASY, with_keyword={"cheap-7b": 0.1, "mid-34b": 0.2, "frontier": 0.3})
    document = cascade_document(raw)
    document["models"][2].update(context_window=1_000, max_output_tokens=500)
    policy = build_policy(document)
    assert policy.routes[0].cascade is not None
    # When it is decided
    decision = routed(policy, {policy.routes[0].cascade.ref: router}, chat("prove"), prompt_tokens=900)
    # Then the large model is out for its window, and medium, the last eligible tier, is kept
    assert {e.model: e.reason for e in decision.exclusions} == {
        "large": ExclusionReason.CONTEXT_TOO_SMALL,
        "small": ExclusionReason.PREDICTED_BELOW_SKIP,
    }
    assert kept(decision) == ["medium"]
    assert predicted(decision) == pytest.approx([0.2])


def test_a_pinned_model_is_never_skipped() -> None:
    # Given a policy that lets the tenant pin any model, and a prompt the small model is predicted to fail
    router, raw = keyword_router(EASY, with_keyword=HARD)
    document = cascade_document(raw)
    document["pinning"] = {"routes": "*", "models": "*"}
    policy = build_policy(document)
    assert policy.routes[0].cascade is not None
    # When the request pins the small model
    decision = routed(policy, {policy.routes[0].cascade.ref: router}, chat("prove", model="small"))
    # Then the small model is the one candidate: nothing skipped, nothing scored
    assert (kept(decision), predicted(decision)) == (["small"], [None])
    assert decision.exclusions == ()


class BrokenRouter:
    """A router whose scoring raises."""

    digest = "sha256:" + "0" * 64

    def score(self, text: str, features: Any) -> dict[str, float]:
        raise ZeroDivisionError("float division by zero")


@pytest.mark.parametrize(
    ("router", "why"),
    [(BrokenRouter(), "could not score the request (ZeroDivisionError)"), (None, "is not loaded")],
    ids=["raises", "not-loaded"],
)
def test_a_router_that_cannot_score_skips_nothing_and_says_why(router: Any, why: str) -> None:
    # Given a cascade whose router raises or was never loaded
    policy, routers = setup()
    ref = next(iter(routers))
    # When a prompt the router would have skipped a tier for is decided
    decision = routed(policy, {ref: router} if router is not None else {}, chat("prove"))
    # Then it is not an error: every tier is kept, cheapest first, with a note saying why
    assert (kept(decision), predicted(decision)) == (["small", "medium", "large"], [None, None, None])
    assert decision.exclusions == ()
    assert decision.notes == (f"learned router {ROUTER_KEY} {why}: no cascade tier skipped",)


def test_a_cascade_route_without_the_block_is_unchanged() -> None:
    # Given a plain cascade route
    _, raw = keyword_router(EASY, with_keyword=HARD)
    document = cascade_document(raw)
    del document["routes"][0]["cascade"]
    # When a prompt is decided, Then nothing is scored or skipped
    decision = routed(build_policy(document), {}, chat("prove"))
    assert (kept(decision), predicted(decision)) == (["small", "medium", "large"], [None, None, None])
    assert (decision.exclusions, decision.notes) == ((), ())
