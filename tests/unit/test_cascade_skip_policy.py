"""Policy validation of a ``cascade`` block: where it applies, its model map (the learned route's checks,
at the cascade block's paths), and the artifact it loads with."""

from __future__ import annotations

import pytest
from tests.helpers import policy_from
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes, sha256_hex
from tests.unit.test_cascade_skip import cascade_document
from tests.unit.test_policy_learned import RAW, problems_of

from modelrouter.errors import PolicyError
from modelrouter.policy import ArtifactRef
from modelrouter.policy.artifacts import load_routers


def test_a_cascade_route_with_a_cascade_block_loads_and_pins_its_router() -> None:
    # Given a cascade route whose block names the artifact, pins it and maps every model
    loaded = policy_from(cascade_document(RAW))
    # Then it loads without warnings, and the block is one of the artifacts the policy loads
    route = loaded.policy.routes[0]
    assert loaded.warnings == []
    assert [(location, pin.ref) for location, pin in route.router_pins()] == [
        (("cascade",), ArtifactRef(ROUTER_KEY, sha256_hex(RAW), None))
    ]


def test_a_model_missing_from_the_cascade_model_map_is_an_error_at_its_place_in_models() -> None:
    # Given a cascade block whose model map leaves out the medium model
    document = cascade_document(RAW)
    del document["routes"][0]["cascade"]["model_map"]["mid-34b"]
    # Then the policy is refused at the medium model's place, naming the block to fix
    expected = "model 'medium' has no entry in cascade.model_map (map the artifact's name for it)"
    assert problems_of(document) == {"routes[0].models[1]": expected}


def test_a_cascade_model_map_target_outside_the_catalog_is_an_error() -> None:
    document = cascade_document(RAW)
    document["routes"][0]["cascade"]["model_map"]["ghost-1b"] = "ghost"
    assert problems_of(document) == {"routes[0].cascade.model_map.ghost-1b": "unknown model 'ghost'"}


def test_two_artifact_names_for_one_model_in_the_cascade_model_map_is_an_error() -> None:
    document = cascade_document(RAW)
    document["routes"][0]["cascade"]["model_map"]["cheap-7b-v2"] = "small"
    assert problems_of(document) == {
        "routes[0].cascade.model_map.cheap-7b-v2": "model 'small' is already the target of 'cheap-7b'"
    }


@pytest.mark.parametrize("strategy", ["fallback", "learned"])
def test_a_cascade_block_on_another_strategy_is_refused_saying_so(strategy: str) -> None:
    # Given a route of another strategy carrying a cascade block
    document = cascade_document(RAW)
    route = document["routes"][0]
    route["strategy"] = strategy
    if strategy == "learned":
        route["learned"] = {**route["cascade"], "quality_target": 0.8}
        del route["learned"]["skip_below"]
    # Then the route is invalid and says the block does not apply to it
    assert problems_of(document)["routes[0]"].endswith(f"cascade does not apply to a {strategy} route")


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_skip_below_is_a_quality_in_0_1(value: float) -> None:
    document = cascade_document(RAW, skip_below=value)
    assert "routes[0].cascade.skip_below" in problems_of(document)


def test_a_cascade_model_map_name_the_artifact_does_not_predict_rejects_the_policy() -> None:
    # Given an artifact that predicts no 'mid-34b', which the cascade block maps
    narrow = keyword_router_bytes({"cheap-7b": 0.9, "frontier": 0.9})
    policy = policy_from(cascade_document(narrow)).policy
    # When its artifacts are loaded with it
    with pytest.raises(PolicyError) as caught:
        load_routers(policy, lambda ref: narrow, source="test.yaml")
    # Then the policy is rejected at the name the artifact lacks
    assert {p.path: p.message for p in caught.value.problems} == {
        "routes[0].cascade.model_map.mid-34b": f"'mid-34b' is not a model of {ROUTER_KEY} "
        "(it predicts: cheap-7b, frontier)"
    }
