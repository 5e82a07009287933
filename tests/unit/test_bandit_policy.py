"""A bandit route in a policy: share bounds and the learned prior's model map are checked at load, each
problem at its path; the shipped policies' bandit routes load and decide."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import EXAMPLE_POLICY, ROOT, chat, features, minimal_policy, model_entry, policy_from
from tests.learned_fixtures import ROUTER_KEY

from modelrouter.errors import PolicyError
from modelrouter.policy.loader import load_policy_file
from modelrouter.selection import RequestContext, decide

SHA = "0" * 64


def bandit_document(**bandit: Any) -> dict[str, Any]:
    document = minimal_policy()
    document["models"].append(model_entry("medium"))
    document["routes"].insert(
        0,
        {
            "name": "learner",
            "when": {"tags": ["learn"]},
            "strategy": "bandit",
            "models": ["small", "medium", "large"],
            "bandit": bandit,
        },
    )
    return document


def problems(document: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("bandit", "path", "message"),
    [
        (
            {"min_share": {"smal": 0.1}},
            "routes[0].bandit.min_share.smal",
            "not one of this route's models (did you mean 'small'?)",
        ),
        (
            {"max_share": {"gpt-5x": 0.5}},
            "routes[0].bandit.max_share.gpt-5x",
            "not one of this route's models",
        ),
        ({"min_share": 0.4}, "routes[0].bandit.min_share", "min_share add up to 1.2: at most 1 can be met"),
        ({"max_share": 0.3}, "routes[0].bandit.max_share", "max_share add up to 0.9: they must reach 1"),
        (
            {"min_share": {"small": 0.5}, "max_share": {"small": 0.4}},
            "routes[0].bandit.min_share",
            "model 'small': min_share 0.5 is above its max_share 0.4",
        ),
    ],
)
def test_share_bounds_the_route_cannot_meet_are_errors_at_their_path(
    bandit: dict[str, Any], path: str, message: str
) -> None:
    # Given a bandit route with bounds that name another model or cannot add up
    # When the policy is loaded
    found = problems(bandit_document(**bandit))
    # Then the one problem names the field at fault
    assert len(found) == 1
    assert found[0].startswith(f"{path} (line ")
    assert found[0].endswith(message)


def test_the_learned_prior_must_map_every_model_of_the_route() -> None:
    # Given a learned prior whose model map forgets medium
    prior = {"router": ROUTER_KEY, "sha256": SHA, "model_map": {"cheap-7b": "small", "frontier": "large"}}
    # When the policy is loaded
    found = problems(bandit_document(learned_prior=prior))
    # Then medium's entry in the route's models is the error, naming the block to fix
    assert len(found) == 1
    assert found[0].startswith("routes[0].models[1] (line ")
    assert found[0].endswith(
        "model 'medium' has no entry in bandit.learned_prior.model_map (map the artifact's name for it)"
    )


def test_feasible_bounds_load() -> None:
    # Given per-model and shared bounds that add up
    document = bandit_document(min_share={"small": 0.1, "large": 0.2}, max_share=0.9)
    # When the policy is loaded
    route = policy_from(document).policy.routes[0]
    # Then the route has them
    assert route.bandit is not None
    assert (route.bandit.min_share_of("medium"), route.bandit.min_share_of("large")) == (0.0, 0.2)


@pytest.mark.parametrize(
    ("policy_file", "tenant", "metadata", "segment"),
    [
        (EXAMPLE_POLICY, "shopwise", None, "language=en|difficulty=0"),
        (
            ROOT / "policies" / "local.yaml",
            "helpdesk-lab",
            {"task": "translation"},
            "metadata.task=translation",
        ),
    ],
)
def test_the_shipped_policies_bandit_routes_decide(
    policy_file: Any, tenant: str, metadata: dict[str, str] | None, segment: str
) -> None:
    # Given a shipped policy and its bandit route's tenant
    policy = load_policy_file(policy_file).policy
    request = (
        chat("Which of these jackets keeps out the rain?", metadata=metadata) if metadata else chat("Hi")
    )
    # When one of its requests is decided (no learning state: priors)
    decision = decide(policy, request, RequestContext("r1", tenant), features=features(difficulty=0.1))
    # Then the bandit route drew the primary in the request's segment
    assert decision.strategy == "bandit"
    assert decision.bandit is not None
    assert decision.bandit.segment == segment
    assert decision.choice is not None
    assert decision.propensity == decision.choice.probabilities[decision.primary.model]
