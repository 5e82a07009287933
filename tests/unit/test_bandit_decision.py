"""Bandit and weighted routes in the decision engine: the choice distribution, the propensity, the bandit
block, determinism per request id given the posteriors, eligibility first, pins and learned priors."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from tests.helpers import build_policy, chat, features, minimal_policy, model_entry
from tests.learned_fixtures import MODEL_MAP, ROUTER_KEY, keyword_router, sha256_hex

from modelrouter.bandit.posteriors import Evidence
from modelrouter.bandit.snapshot import BanditSnapshot, state_key_of
from modelrouter.policy import Policy
from modelrouter.selection import Decision, ExclusionReason, RequestContext, decide
from modelrouter.selection.bandit import DRAWN, MIN_COST_EVIDENCE, RANKED

STATE_KEY = state_key_of("test-policy", "default")


def bandit_policy(**bandit: Any) -> Policy:
    document = minimal_policy()
    document["pinning"] = {"models": "*"}
    document["models"].insert(1, model_entry("medium", pricing={"input_per_mtok": 2, "output_per_mtok": 8}))
    block = {"segments": {"by": [{"feature": "language", "values": ["en", "de"]}]}, **bandit}
    document["routes"] = [
        {"name": "default", "strategy": "bandit", "models": ["small", "medium", "large"], "bandit": block}
    ]
    return build_policy(document)


def decided(
    policy: Policy, request_id: str = "req-1", snapshot: BanditSnapshot | None = None, **kw: Any
) -> Decision:
    states = {snapshot.state_key: snapshot} if snapshot is not None else None
    context = RequestContext(request_id=request_id, tenant_id="t1")
    return decide(policy, kw.pop("request", chat()), context, features=features(**kw), bandit_states=states)


def evidence(**by_model: tuple[float, float]) -> BanditSnapshot:
    """A fresh snapshot of segment language=en: model -> (successes, outcomes), each outcome 1 mUSD."""
    found = {("language=en", m): Evidence(s, n, n * 0.001) for m, (s, n) in by_model.items()}
    return BanditSnapshot(STATE_KEY, found, age_s=2.5)


def test_a_bandit_decision_records_its_distribution_propensity_and_segment() -> None:
    # Given a bandit route with no learning state yet
    policy = bandit_policy()
    # When a request is decided
    decision = decided(policy)
    # Then the distribution covers the eligible models, the propensity is the primary's probability,
    # and the bandit block says what it knew (priors only)
    assert decision.choice is not None
    assert decision.choice.method == "monte_carlo"
    assert decision.choice.draws == 512
    assert set(decision.choice.probabilities) == {"small", "medium", "large"}
    assert sum(decision.choice.probabilities.values()) == pytest.approx(1.0)
    assert decision.propensity == decision.choice.probabilities[decision.primary.model]
    assert decision.bandit is not None
    assert decision.bandit.segment == "language=en"
    assert decision.bandit.state_key == "bandit#test-policy#default"
    assert decision.bandit.evidence == {"small": 0.0, "medium": 0.0, "large": 0.0}
    assert decision.bandit.state_age_s is None
    assert any("priors only" in note for note in decision.notes)


def test_the_primary_is_drawn_then_the_rest_follow_by_posterior_reward() -> None:
    # Given evidence that large is best, small worst
    snapshot = evidence(small=(10, 40), medium=(25, 40), large=(38, 40))
    # When decided
    decision = decided(bandit_policy(), snapshot=snapshot)
    # Then the drawn model is first, the others by posterior mean (costs do not count: lambda = 0)
    assert decision.primary.source == DRAWN
    rest = [c.model for c in decision.candidates[1:]]
    order = [m for m in ("large", "medium", "small") if m != decision.primary.model]
    assert rest == order
    assert {c.source for c in decision.candidates[1:]} == {RANKED}
    assert decision.bandit is not None
    assert decision.bandit.evidence["large"] == 40
    assert decision.bandit.posterior_mean["large"] == pytest.approx(39 / 42)
    assert decision.bandit.state_age_s == 2.5


def test_same_posteriors_and_request_id_give_the_same_decision() -> None:
    # Given a snapshot
    snapshot = evidence(small=(20, 40), medium=(22, 40), large=(23, 40))
    policy = bandit_policy()
    # When the same request id is decided twice, and many ids once
    first = decided(policy, "same", snapshot)
    again = decided(policy, "same", snapshot)
    primaries = Counter(decided(policy, f"id-{n}", snapshot).primary.model for n in range(300))
    # Then the same id gets the same decision, and different ids spread over the models
    assert first == again
    assert len(primaries) == 3


def test_evidence_moves_the_traffic() -> None:
    # Given no evidence, then evidence that medium is far better
    policy = bandit_policy()
    before = decided(policy).choice
    after = decided(policy, snapshot=evidence(small=(5, 50), medium=(48, 50), large=(20, 50))).choice
    # When the distributions are compared
    # Then medium's probability grows from about a third to nearly all
    assert before is not None
    assert after is not None
    assert before.probabilities["medium"] < 0.5
    assert after.probabilities["medium"] > 0.95


def test_bounds_and_the_observed_cost_apply() -> None:
    # Given max_share 0.8, min_share 0.05, lambda 100 per USD; enough outcomes for an observed cost of
    # small and large (1 mUSD each), fewer than MIN_COST_EVIDENCE of medium
    policy = bandit_policy(cost_weight=100.0, min_share=0.05, max_share=0.8)
    few = MIN_COST_EVIDENCE - 1
    snapshot = evidence(small=(45, 50), medium=(few, few), large=(47, 50))
    # When decided
    decision = decided(policy, snapshot=snapshot)
    # Then no model has more than 0.8 or less than 0.05; small and large were charged their mean observed
    # cost, medium the request's estimate
    assert decision.choice is not None
    assert all(0.05 - 1e-9 <= p <= 0.8 + 1e-9 for p in decision.choice.probabilities.values())
    assert decision.bandit is not None
    estimate = next(c.estimated_cost_usd for c in decision.candidates if c.model == "medium")
    assert decision.bandit.estimated_cost_usd == pytest.approx(
        {"small": 0.001, "medium": estimate, "large": 0.001}
    )
    assert estimate != pytest.approx(0.001)


def test_eligibility_comes_first() -> None:
    # Given small's window is too small for a 20,000-token prompt
    document = minimal_policy()
    document["models"][0]["context_window"] = 8_000
    document["routes"] = [{"name": "default", "strategy": "bandit", "models": ["small", "large"]}]
    # When decided
    decision = decide(
        build_policy(document), chat(), RequestContext("r", "t1"), features=features(prompt_tokens=20_000)
    )
    # Then small is excluded and the distribution holds large alone
    assert decision.exclusions[0].reason is ExclusionReason.CONTEXT_TOO_SMALL
    assert decision.choice is not None
    assert decision.choice.probabilities == {"large": 1.0}
    assert decision.choice.method == "exact"
    assert decision.propensity == 1.0


def test_a_pinned_model_has_propensity_one_and_no_distribution() -> None:
    # Given a policy whose pinning allows every model
    policy = bandit_policy()
    # When a request names a model
    decision = decided(policy, request=chat(model="large"))
    # Then the model is not drawn: propensity 1, no distribution, no bandit block
    assert (decision.primary.model, decision.propensity, decision.choice, decision.bandit) == (
        "large",
        1.0,
        None,
        None,
    )


def test_a_weighted_split_records_its_exact_distribution_given_eligibility() -> None:
    # Given a 3:1 split where the challenger's first model (tiny) cannot take the prompt
    document = minimal_policy()
    document["models"].append(model_entry("tiny", context_window=1_000, max_output_tokens=500))
    document["routes"] = [
        {
            "name": "default",
            "strategy": "weighted",
            "variants": [
                {"name": "champion", "weight": 3, "models": ["small"]},
                {"name": "challenger", "weight": 1, "models": ["tiny", "large"]},
            ],
        }
    ]
    policy = build_policy(document)
    # When requests are decided
    decisions = [decided(policy, f"w-{n}", prompt_tokens=2_000) for n in range(200)]
    # Then the challenger's share goes to its first eligible model, and each propensity is exact
    for decision in decisions:
        assert decision.choice is not None
        assert decision.choice.method == "exact"
        assert decision.choice.probabilities == {"small": 0.75, "large": 0.25}
        assert decision.propensity == decision.choice.probabilities[decision.primary.model]
    assert {d.primary.model for d in decisions} == {"small", "large"}


def test_a_learned_prior_seeds_the_posteriors() -> None:
    # Given a router that predicts medium 0.9 and the others 0.2, worth 50 observations
    router, raw = keyword_router({"cheap-7b": 0.2, "mid-34b": 0.9, "frontier": 0.2})
    prior = {"router": ROUTER_KEY, "sha256": sha256_hex(raw), "model_map": dict(MODEL_MAP), "strength": 50}
    policy = bandit_policy(learned_prior=prior)
    route = policy.routes[0]
    assert route.bandit is not None
    assert route.bandit.learned_prior is not None
    routers = {route.bandit.learned_prior.ref: router}
    # When decided with and without the router loaded
    context = RequestContext("r", "t1")
    seeded = decide(policy, chat(), context, features=features(), routers=routers)
    unseeded = decide(policy, chat(), context, features=features())
    # Then the prior means are the predictions and the choice follows them; without the router, the
    # uniform prior and a note
    assert seeded.bandit is not None
    assert seeded.bandit.prior == "learned"
    assert seeded.bandit.posterior_mean["medium"] == pytest.approx(0.9)
    assert seeded.choice is not None
    assert seeded.choice.probabilities["medium"] > 0.95
    assert seeded.primary.predicted_quality == pytest.approx(0.9)
    assert unseeded.bandit is not None
    assert unseeded.bandit.prior == "uniform"
    assert any("uniform priors used" in note for note in unseeded.notes)
