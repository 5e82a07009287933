"""Replaying a candidate policy's ``decide`` on logged outcome lines (pi(a|x)), and the estimates on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import ROOT, build_policy, minimal_policy, model_entry
from tests.ope_logs import logged_lines, write_lines

from modelrouter.learned import load_router
from modelrouter.policy import load_policy_file
from modelrouter.policy.document import Policy
from modelrouter.training.ope_evaluate import (
    MeanQualityModel,
    RouterQualityModel,
    estimate_logged,
    estimate_replay,
    mean_costs,
    router_names,
)
from modelrouter.training.ope_replay import check_logged, replay, variant_policy
from modelrouter.training.outcomes import Outcome, OutcomesError, read_outcomes

SPLIT = {"small": 0.75, "large": 0.25}
QUALITY = {"small": 0.6, "large": 0.9, "extra": 0.5}
COST = {"small": 0.001, "large": 0.01, "extra": 0.002}


def logging_policy() -> Policy:
    """t1's traffic split 3:1 between small and large; gold-tier requests to large; the rest to small."""
    document = minimal_policy()
    document["models"].append(model_entry("extra"))
    document["models"].append(model_entry("tiny", max_classification="internal"))
    document["tenants"].append(
        {"id": "t2", "budget": {"daily_usd": 10}, "max_classification": "confidential"}
    )
    document["routes"] = [
        {"name": "gold", "when": {"metadata.tier": "gold"}, "models": ["large"]},
        {
            "name": "split",
            "when": {"tenants": ["t1"]},
            "strategy": "weighted",
            "variants": [
                {"name": "champion", "weight": 3, "models": ["small"]},
                {"name": "challenger", "weight": 1, "models": ["large"]},
            ],
        },
        {"name": "default", "models": ["small", "large"]},
    ]
    return build_policy(document)


def candidate_policy(models: list[str]) -> Policy:
    """Every request of every tenant to ``models`` (fallback order)."""
    document = minimal_policy()
    document["models"].extend([model_entry("extra"), model_entry("tiny", max_classification="internal")])
    document["tenants"].append(
        {"id": "t2", "budget": {"daily_usd": 10}, "max_classification": "confidential"}
    )
    document["routes"] = [{"name": "all", "models": models}]
    return build_policy(document)


def outcomes_of(tmp_path: Path, lines: list[dict[str, Any]]) -> list[Outcome]:
    return read_outcomes([write_lines(tmp_path / "logged.jsonl", lines)])


def line(request_id: str, model: str = "small", **fields: Any) -> dict[str, Any]:
    base = {
        "request_id": request_id,
        "prompt": "Hello there",
        "model": model,
        "quality": 1,
        "cost_usd": 0.001,
    }
    return base | {"tenant": "t1", "propensity": 0.75} | fields


def test_a_weighted_route_replays_as_its_exact_choice_distribution(tmp_path: Path) -> None:
    # Given logged lines of tenant t1, When the weighted policy is replayed on them
    outcomes = outcomes_of(tmp_path, [line("r1"), line("r2", "large", propensity=0.25)])
    replayed = replay(logging_policy(), outcomes)
    # Then every line's choice is the split, and the target is the split's share of the logged model
    assert [dict(item.choice) for item in replayed.items] == [SPLIT, SPLIT]
    assert [item.target for item in replayed.items] == [0.75, 0.25]
    assert replayed.refusals() == {}


def test_a_deterministic_route_replays_as_its_primary_and_metadata_is_matched(tmp_path: Path) -> None:
    # Given a gold-tier line (metadata) and a line of tenant t2 (the catch-all route)
    outcomes = outcomes_of(
        tmp_path, [line("r1", "large", metadata={"tier": "gold"}), line("r2", tenant="t2", propensity=1)]
    )
    replayed = replay(logging_policy(), outcomes)
    # Then the gold line goes to large alone, the other to the catch-all's primary
    assert [dict(item.choice) for item in replayed.items] == [{"large": 1.0}, {"small": 1.0}]
    assert replayed.items[1].target == 1.0


def test_refused_requests_and_unlogged_models_are_reported(tmp_path: Path) -> None:
    # Given a line of an unknown tenant, a confidential line, and an ordinary one
    outcomes = outcomes_of(
        tmp_path,
        [
            line("r1", tenant="nobody"),
            line("r2", metadata={"data_classification": "confidential"}),
            line("r3"),
        ],
    )
    # When a candidate that routes everything to tiny (internal data only), then extra, is replayed
    replayed = replay(candidate_policy(["tiny", "extra"]), outcomes)
    # Then the unknown tenant is refused by code, the confidential line goes to extra (tiny is not cleared)
    assert replayed.refusals() == {"unknown_tenant": 1}
    assert [dict(item.choice) for item in replayed.routed] == [{"extra": 1.0}, {"tiny": 1.0}]
    # And the models the candidate would choose that no line logged are counted per request
    assert replayed.unlogged_models() == {"extra": 1, "tiny": 1}
    # When every model of the route is out of reach, Then the request is refused as no_eligible_model
    only_tiny = replay(candidate_policy(["tiny"]), outcomes[1:2])
    assert only_tiny.refusals() == {"no_eligible_model": 1}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [line("r1"), {k: v for k, v in line("r2").items() if k != "propensity"}],
            r"logged\.jsonl:2: no 'propensity'",
        ),
        ([{k: v for k, v in line("r1").items() if k != "tenant"}], r"logged\.jsonl:1: no 'tenant'"),
        ([line("r1"), line("r1")], r"logged\.jsonl:2: request 'r1' is logged twice"),
        ([line("r1", propensity=1e-300)], r"logged\.jsonl:1: 'propensity' 1e-300 is below 1e-12"),
    ],
)
def test_lines_that_cannot_be_replayed_are_errors_naming_the_line(
    tmp_path: Path, lines: list[dict[str, Any]], message: str
) -> None:
    # When logged lines lack a propensity or a tenant, repeat a request, or carry a propensity so small that
    # its weight would overflow the estimators' sums, Then the error names the line
    with pytest.raises(OutcomesError, match=message):
        check_logged(outcomes_of(tmp_path, lines))


def test_estimates_on_traffic_logged_by_the_weighted_split(tmp_path: Path) -> None:
    # Given 3,000 requests of t1 routed by the 3:1 split (its own propensities), small right 60 %, large 90 %
    logged = outcomes_of(tmp_path, logged_lines(logging_policy(), "t1", 3_000, QUALITY, COST, seed=4))
    costs, model = mean_costs(logged), MeanQualityModel(logged)
    # When the candidate "everything to large" is estimated
    large = estimate_replay(replay(candidate_policy(["large"]), logged), model, costs, confidence=0.95)
    # Then SNIPS and DR are within two half-widths (about four standard errors) of large's true quality,
    # from about a quarter of the requests, and the cost is large's
    for estimate in (large.quality_snips, large.quality_dr):
        assert abs(estimate.value - QUALITY["large"]) <= 2 * estimate.half_width
    assert large.cost_snips.value == pytest.approx(COST["large"])
    assert large.quality_snips.effective_n == pytest.approx(3_000 / 4, rel=0.1)
    assert large.choices == {"large": 3_000}
    # And the logging policy replayed on its own log gives back the plain logged mean
    itself = estimate_replay(replay(logging_policy(), logged), model, costs, confidence=0.95)
    plain = estimate_logged(logged, confidence=0.95)
    assert itself.quality_snips.value == pytest.approx(plain.quality.value)
    assert plain.models == {"small": pytest.approx(2_250, rel=0.05), "large": pytest.approx(750, rel=0.15)}


def test_a_variant_policy_sends_every_request_to_the_variants_first_eligible_model(tmp_path: Path) -> None:
    # Given lines of several tenants, some gold-tier (another route of the full policy)
    policy = logging_policy()
    outcomes = outcomes_of(
        tmp_path, [line("r1"), line("r2", tenant="t2"), line("r3", metadata={"tier": "gold"})]
    )
    # When the split route reduced to its challenger is replayed
    challenger = replay(variant_policy(policy, policy.route_by_name["split"], "challenger"), outcomes)
    # Then each request goes to the challenger's model, whatever route it would have matched
    assert [dict(item.choice) for item in challenger.items] == [{"large": 1.0}] * 3
    with pytest.raises(ValueError, match="no variant 'nope'"):
        variant_policy(policy, policy.route_by_name["split"], "nope")


def test_a_learned_router_is_the_reward_model_by_catalog_id(tmp_path: Path) -> None:
    # Given the local router (fitted on local-small, local-medium, local-large) and the local policy's maps
    router_file = ROOT / "policies" / "routers" / "local-router.json"
    router = load_router(router_file.read_bytes(), str(router_file))
    local = load_policy_file(ROOT / "policies" / "local.yaml").policy
    names = router_names([local])
    assert names["local-small"] == "local-small"
    outcomes = outcomes_of(tmp_path, [line("r1", "local-small", prompt="Prove that 17 is prime.")])
    fallback = MeanQualityModel(outcomes)
    model = RouterQualityModel(router, names, fallback, str(router_file))
    # When it predicts a known model and a model it does not know
    predicted = model.predict(outcomes[0], ["local-large", "someone-else"])
    # Then the known one is the router's own score, the unknown one the logged mean (and is recorded)
    from modelrouter.features import extract_features
    from modelrouter.learned import request_text

    scores = router.score(request_text(outcomes[0].request), extract_features(outcomes[0].request))
    assert predicted["local-large"] == scores["local-large"]
    assert predicted["someone-else"] == fallback.overall
    assert model.unknown == {"someone-else"}
    assert "learned router" in model.description
    assert json.dumps(estimate_logged(outcomes * 2, confidence=0.9).quality.as_json())
