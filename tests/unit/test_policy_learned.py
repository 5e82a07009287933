"""Policy validation of learned routes and learned difficulties: pins, objectives, router keys and the
model map, each problem at its path."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import policy_from
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes, learned_policy, sha256_hex

from modelrouter.errors import PolicyError
from modelrouter.policy import Strategy

RAW = keyword_router_bytes({"cheap-7b": 0.9, "mid-34b": 0.9, "frontier": 0.9})


def problems_of(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    return {problem.path: problem.message for problem in caught.value.problems}


def test_a_learned_route_loads() -> None:
    # Given a learned route with a key, a sha256 pin, an objective and a full model map
    loaded = policy_from(learned_policy(RAW))
    # Then it loads, with its pin as the lookup key of its router
    route = loaded.policy.routes[0]
    assert route.strategy is Strategy.LEARNED
    assert route.learned is not None
    assert (route.learned.ref.key, route.learned.ref.sha256) == (ROUTER_KEY, sha256_hex(RAW))
    assert route.learned.catalog_to_artifact["medium"] == "mid-34b"
    assert loaded.warnings == []


def test_a_candidate_missing_from_the_model_map_is_an_error_at_its_place_in_models() -> None:
    # Given a model map without an entry for the route's medium model
    document = learned_policy(RAW)
    del document["routes"][0]["learned"]["model_map"]["mid-34b"]
    # Then the problem points at that model in the route's list
    problems = problems_of(document)
    assert "has no entry in learned.model_map" in problems["routes[0].models[1]"]


def test_a_model_map_target_outside_the_catalog_is_an_error() -> None:
    document = learned_policy(RAW)
    document["routes"][0]["learned"]["model_map"]["ghost-1b"] = "ghost"
    assert problems_of(document) == {"routes[0].learned.model_map.ghost-1b": "unknown model 'ghost'"}


def test_two_artifact_names_for_one_model_is_an_error() -> None:
    document = learned_policy(RAW)
    document["routes"][0]["learned"]["model_map"]["cheap-7b-v2"] = "small"
    problems = problems_of(document)
    assert "already the target of 'cheap-7b'" in problems["routes[0].learned.model_map.cheap-7b-v2"]


@pytest.mark.parametrize(
    "key",
    [
        "../routers/r.json",
        "routers/../../secrets.json",
        "/etc/passwd",
        "s3://other-bucket/r.json",
        "https://example.com/r.json",
        "file:r.json",
        "routers\\r.json",
        "routers//r.json",
        "./r.json",
        "routers/.hidden.json",
        "",
        "models/r.json",
        "r.json",
        "policies/active.yaml",
    ],
)
def test_an_unsafe_router_key_is_an_error(key: str) -> None:
    # Given a router key that is not a plain relative key under routers/ (all the router may read)
    document = learned_policy(RAW, router=key)
    # Then the policy is invalid at that key
    assert "routes[0].learned.router" in problems_of(document)


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ({"sha256": "a" * 64, "version_id": "3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"}, "exactly one of 'sha256'"),
        ({"sha256": None}, "exactly one of 'sha256'"),
    ],
    ids=["both", "neither"],
)
def test_a_router_is_pinned_by_exactly_one_of_sha256_and_version_id(
    pins: dict[str, Any], message: str
) -> None:
    document = learned_policy(RAW, **pins)
    if pins.get("sha256", "") is None:
        del document["routes"][0]["learned"]["sha256"]
    assert message in problems_of(document)["routes[0].learned"]


def test_a_version_id_pin_alone_is_enough() -> None:
    document = learned_policy(RAW, version_id="3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")
    del document["routes"][0]["learned"]["sha256"]
    route = policy_from(document).policy.routes[0]
    assert route.learned is not None
    assert route.learned.ref.version_id == "3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"


@pytest.mark.parametrize("digest", ["A" * 64, "a" * 63, "sha256:" + "a" * 64])
def test_a_sha256_pin_is_64_lowercase_hex_digits(digest: str) -> None:
    assert "routes[0].learned.sha256" in problems_of(learned_policy(RAW, sha256=digest))


@pytest.mark.parametrize(
    "objective", [{"cost_weight": 1000.0}, {"quality_target": None}], ids=["both", "neither"]
)
def test_a_learned_route_has_exactly_one_objective(objective: dict[str, Any]) -> None:
    document = learned_policy(RAW)
    document["routes"][0]["learned"].update(objective)
    if objective.get("quality_target", 0) is None:
        del document["routes"][0]["learned"]["quality_target"]
    assert "exactly one objective" in problems_of(document)["routes[0].learned"]


@pytest.mark.parametrize(("field", "value"), [("quality_target", 1.5), ("cost_weight", -1)])
def test_objectives_are_in_range(field: str, value: float) -> None:
    assert f"routes[0].learned.{field}" in problems_of(learned_policy(RAW, **{field: value}))


def test_a_learned_route_needs_its_learned_block() -> None:
    document = learned_policy(RAW)
    del document["routes"][0]["learned"]
    assert "a learned route needs learned" in problems_of(document)["routes[0]"]


@pytest.mark.parametrize("block", ["learned", "learned_difficulty"])
def test_learned_blocks_do_not_apply_to_a_fallback_route(block: str) -> None:
    # Given a fallback route carrying a learned block
    document = learned_policy(RAW)
    route = document["routes"][0]
    route["strategy"] = "fallback"
    if block == "learned_difficulty":
        pin = {"router": ROUTER_KEY, "sha256": sha256_hex(RAW), "model": "cheap-7b"}
        route[block] = pin
    # Then the route is invalid and says which field does not apply
    assert f"{block} does not apply to a fallback route" in problems_of(document)["routes[0]"]


def test_a_threshold_route_may_have_a_learned_difficulty() -> None:
    document = learned_policy(RAW)
    document["routes"] = [
        {
            "name": "default",
            "strategy": "threshold",
            "tiers": {"easy": ["small"], "hard": ["large"]},
            "thresholds": {"hard": 0.5},
            "learned_difficulty": {"router": ROUTER_KEY, "sha256": sha256_hex(RAW), "model": "cheap-7b"},
        }
    ]
    route = policy_from(document).policy.routes[0]
    assert [location for location, _ in route.router_pins()] == [("learned_difficulty",)]
