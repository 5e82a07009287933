"""Cross-reference checks: unknown and duplicate names, threshold tiers, unreachable routes."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import minimal_policy, model_entry, policy_from

from modelrouter.errors import PolicyError


def problems(document: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    return [str(problem) for problem in caught.value.problems]


def test_unknown_model_in_a_tier_names_the_exact_path() -> None:
    # Given a threshold route whose hard tier names a model missing from the catalog
    document = minimal_policy()
    document["routes"].insert(
        0,
        {
            "name": "tiered",
            "when": {"tags": ["x"]},
            "strategy": "threshold",
            "tiers": {"easy": ["small"], "hard": ["large", "gpt-5x"]},
            "thresholds": {"hard": 0.5},
        },
    )
    # When the policy is loaded
    found = problems(document)
    # Then the error points at routes[0].tiers.hard[1], with its line
    assert len(found) == 1
    assert found[0].startswith("routes[0].tiers.hard[1] (line ")
    assert found[0].endswith("unknown model 'gpt-5x'")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["models"].append(model_entry("small")), "models[2]: duplicate model id 'small'"),
        (
            lambda d: d["tenants"].append({"id": "t1", "budget": {"daily_usd": 1}}),
            "tenants[1]: duplicate tenant id",
        ),
        (
            lambda d: d["routes"].append({"name": "default", "models": ["small"]}),
            "routes[1]: duplicate route name",
        ),
        (
            lambda d: d["tenants"][0].update(allowed_models=["nope"]),
            "tenants[0].allowed_models[0]: unknown model 'nope'",
        ),
        (
            lambda d: d["tenants"][0].update(allowed_tags=["gold"]),
            "tenants[0].allowed_tags[0]: unknown tag 'gold'",
        ),
        (
            lambda d: d["tenants"][0].update(default_route="nowhere"),
            "tenants[0].default_route: unknown route",
        ),
        (
            lambda d: d["tenants"][0].update(over_budget_route="nowhere"),
            "tenants[0].over_budget_route: unknown route",
        ),
        (lambda d: d.update(defaults={"route": "nowhere"}), "defaults.route: unknown route 'nowhere'"),
        (lambda d: d.update(pinning={"models": ["nope"]}), "pinning.models[0]: unknown model 'nope'"),
        (lambda d: d.update(pinning={"routes": ["nope"]}), "pinning.routes[0]: unknown route 'nope'"),
        (
            lambda d: d["routes"][0].update(models=["small", "small"]),
            "routes[0].models[1]: model 'small' is listed more",
        ),
        (
            lambda d: d["routes"][0].update(name="small"),
            "routes[0].name: route name 'small' is also a model id",
        ),
        (lambda d: d["routes"][0].update(name="auto"), "routes[0].name: 'auto' is reserved"),
    ],
)
def test_reference_errors(mutate: Any, expected: str) -> None:
    # Given the minimal policy with one broken reference
    document = minimal_policy()
    mutate(document)
    # When it is loaded, Then the error names the path
    found = problems(document)
    assert any(p.replace(_line(p), "").startswith(expected) for p in found), found


def _line(problem: str) -> str:
    start = problem.find(" (line ")
    return problem[start : problem.find(")", start) + 1] if start != -1 else "\0"


def test_route_when_unknown_tenant() -> None:
    document = minimal_policy()
    document["routes"].insert(0, {"name": "r", "when": {"tenants": ["t1", "ghost"]}, "models": ["small"]})
    assert any("routes[0].when.tenants[1]" in p and "unknown tenant 'ghost'" in p for p in problems(document))


@pytest.mark.parametrize(
    ("tiers", "thresholds", "expected"),
    [
        ({"easy": ["small"], "hard": ["large"]}, {"hard": 0.5, "mid": 0.3}, "unknown tier 'mid'"),
        ({"easy": ["small"], "hard": ["large"]}, {"easy": 0.1, "hard": 0.5}, "the first tier 'easy'"),
        ({"easy": ["small"], "hard": ["large"]}, {}, "tier 'hard' needs a threshold"),
        (
            {"easy": ["small"], "mid": ["large"], "hard": ["large"]},
            {"mid": 0.7, "hard": 0.5},
            "must be above",
        ),
        ({"easy": ["small"], "hard": ["large"]}, {"hard": 1.5}, "must be in (0, 1]"),
        ({"easy": [], "hard": ["large"]}, {"hard": 0.5}, "tiers.easy"),
    ],
)
def test_threshold_rules(tiers: dict[str, list[str]], thresholds: dict[str, float], expected: str) -> None:
    document = minimal_policy()
    document["routes"][0] = {
        "name": "default",
        "strategy": "threshold",
        "tiers": tiers,
        "thresholds": thresholds,
    }
    assert any(expected in p for p in problems(document)), problems(document)


def test_route_after_a_catch_all_is_unreachable() -> None:
    # Given a route placed after the catch-all route
    document = minimal_policy()
    document["routes"].append({"name": "later", "when": {"has_tools": True}, "models": ["large"]})
    # Then it is an error that names the shadowing route
    found = problems(document)
    assert any(p.startswith("routes[1]") and "taken by the earlier route 'default'" in p for p in found)


def test_route_shadowed_by_a_wider_condition() -> None:
    # Given a route for tenants [t1] before one for tenant t1 with tools
    document = minimal_policy()
    document["routes"][0:0] = [
        {"name": "wide", "when": {"tenants": ["t1"], "difficulty": {"min": 0.2}}, "models": ["small"]},
        {
            "name": "narrow",
            "when": {"tenants": ["t1"], "has_tools": True, "difficulty": {"min": 0.5}},
            "models": ["large"],
        },
    ]
    assert any(p.startswith("routes[1]") and "'wide'" in p for p in problems(document))


def test_overlapping_but_not_shadowed_routes_are_fine() -> None:
    # Given two routes whose conditions overlap without one containing the other
    document = minimal_policy()
    document["routes"][0:0] = [
        {"name": "a", "when": {"difficulty": {"min": 0.2, "max": 0.6}}, "models": ["small"]},
        {"name": "b", "when": {"difficulty": {"min": 0.5, "max": 0.9}}, "models": ["large"]},
        {"name": "c", "when": {"intents": {"keywords": ["refund", "invoice"]}}, "models": ["large"]},
        {"name": "d", "when": {"intents": {"keywords": ["refund", "chargeback"]}}, "models": ["large"]},
    ]
    # Then the policy loads
    assert [r.name for r in policy_from(document).policy.routes] == ["a", "b", "c", "d", "default"]


def test_shadowed_route_that_is_a_default_is_only_a_warning() -> None:
    # Given a shadowed route that a tenant uses as its over-budget route
    document = minimal_policy()
    document["routes"].append({"name": "cheap", "models": ["small"]})
    document["tenants"][0]["over_budget_route"] = "cheap"
    # When loaded, Then it is a warning, not an error
    loaded = policy_from(document)
    assert [w.path for w in loaded.warnings] == ["routes[1].when"]


def test_disabled_model_in_a_route_is_a_warning() -> None:
    document = minimal_policy()
    document["models"][1]["enabled"] = False
    loaded = policy_from(document)
    assert any(w.path == "routes[0].models[1]" and "disabled" in w.message for w in loaded.warnings)


def test_no_route_for_some_requests_is_a_warning() -> None:
    document = minimal_policy()
    document["routes"][0]["when"] = {"has_tools": True}
    loaded = policy_from(document)
    assert any(w.path == "tenants[0]" and "refused" in w.message for w in loaded.warnings)


def test_output_format_must_fit_the_formats_matched() -> None:
    document = minimal_policy()
    document["routes"].insert(
        0,
        {
            "name": "x",
            "when": {"response_formats": ["text"]},
            "models": ["small"],
            "limits": {"output_format": "json_schema"},
        },
    )
    assert any(p.startswith("routes[0].limits.output_format") for p in problems(document))


def test_all_problems_are_reported_at_once() -> None:
    # Given three independent broken references
    document = minimal_policy()
    document["tenants"][0]["allowed_models"] = ["nope"]
    document["tenants"][0]["default_route"] = "nowhere"
    document["routes"][0]["models"] = ["small", "ghost"]
    # Then all three are reported together
    assert len(problems(document)) == 3
