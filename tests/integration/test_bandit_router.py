"""A bandit route through the router handler on moto (tables from ``template.yaml``): the answer and its
provenance record carry the choice, the propensity and the bandit block; learning-state items (as the
settlement writes them) are read by the container's cache and move the distribution; and a warm request
makes no DynamoDB call for the learning state while the cache's copy is fresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from modelrouter.learning.state import reward_update, state_key_for
from tests.helpers import minimal_policy, rest_event
from tests.integration.rig import RouterRig, router_environment, running_router

STATE_KEY = "bandit#test-policy#learner"
WINDOW_SECONDS, HORIZON_WINDOWS = 600, 12


def policy_text(refresh_seconds: float) -> str:
    document = minimal_policy()
    document["routes"] = [
        {
            "name": "learner",
            "strategy": "bandit",
            "models": ["small", "large"],
            "bandit": {
                "min_share": 0.05,
                "max_share": 0.95,
                "refresh_seconds": refresh_seconds,
                "memory": {"window_seconds": WINDOW_SECONDS, "horizon_windows": HORIZON_WINDOWS},
            },
        }
    ]
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router(policy_text(request.param).encode()) as running:
        yield running


def ask(rig: RouterRig, number: int) -> dict[str, Any]:
    event = rest_event(
        "POST", "/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "Hi"}]})
    )
    event["requestContext"]["requestId"] = f"req-bandit-{number}"
    status, body, _ = rig.call(event)
    assert status == 200, body
    return dict(body["router"])


def learn(rig: RouterRig, model: str, reward: float, times: int) -> None:
    """Count ``times`` outcomes of ``model`` in this window, with the settlement's own update item."""
    key = state_key_for(
        STATE_KEY, "all", model, started=datetime.now(UTC),
        window_seconds=WINDOW_SECONDS, horizon_seconds=WINDOW_SECONDS * HORIZON_WINDOWS,
    )  # fmt: skip
    for _ in range(times):
        update = reward_update(rig.tables["LearningTable"], key, reward, 0.001)
        rig.dynamodb.transact_write_items(TransactItems=[update])


class CallCounter:
    """Every DynamoDB operation the rig's client makes (a botocore event hook)."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        client.meta.events.register("before-parameter-build.dynamodb", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, str(params.get("TableName", ""))))


@pytest.mark.parametrize("rig", [0], indirect=True)
def test_the_answer_and_its_record_carry_the_choice_and_what_the_bandit_knew(rig: RouterRig) -> None:
    # Given a bandit route over small and large, read on every request, with no evidence yet
    # When a chat request is answered
    router = ask(rig, 1)
    # Then the router block has the distribution, the primary's propensity and the bandit block
    assert router["strategy"] == "bandit"
    assert set(router["choice"]["probabilities"]) == {"small", "large"}
    assert router["choice"]["method"] == "monte_carlo"
    assert router["propensity"] == router["choice"]["probabilities"][router["model"]]
    assert router["bandit"]["state_key"] == STATE_KEY
    assert router["bandit"]["segment"] == "all"
    assert router["bandit"]["state_age_s"] is not None
    # and so does the provenance record, whose implicit reward was learned at settlement
    [record] = rig.provenance_items("t1")
    assert record["chosen_model"] == router["model"]
    assert float(record["propensity"]) == pytest.approx(router["propensity"])
    assert record["bandit"]["state_key"] == STATE_KEY
    assert record["reward"]["applied_to"]["pk"] == STATE_KEY


@pytest.mark.parametrize("rig", [0], indirect=True)
def test_learning_state_items_move_the_distribution(rig: RouterRig) -> None:
    # Given a first answer on the priors
    before = ask(rig, 1)["choice"]["probabilities"]
    # When the learning table says large answers well and small badly, as settlements would write it
    learn(rig, "large", 1.0, 40)
    learn(rig, "small", 0.0, 40)
    after = ask(rig, 2)
    # Then the next request's cache read sees the evidence and sends (nearly) everything to large
    assert before["large"] < 0.9
    assert after["choice"]["probabilities"]["large"] == pytest.approx(0.95)
    assert after["bandit"]["evidence"]["large"] >= 40
    assert after["bandit"]["evidence"]["small"] >= 40


@pytest.mark.parametrize("rig", [300], indirect=True)
def test_a_warm_request_makes_no_learning_state_call_while_the_copy_is_fresh(rig: RouterRig) -> None:
    # Given a container that answered once (its cache read the route's state then)
    counter = CallCounter(rig.dynamodb)
    ask(rig, 1)
    cold = list(counter.calls)
    # When more requests come within refresh_seconds
    counter.calls.clear()
    for number in range(2, 6):
        ask(rig, number)
    # Then the first read the state once; the warm ones make only the reserve and settle transactions
    learning = rig.tables["LearningTable"]
    assert ("Query", learning) in cold
    assert all(table != learning for _, table in counter.calls)
    assert len(counter.calls) == 2 * 4
