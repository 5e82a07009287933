"""A bandit route learns each request's implicit reward in its settlement transaction (issue 13, item 2):
exactly when the route, the table, the reward and the hold allow it, and the record says where it went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from tests.fakes import Streamed, answer
from tests.service_fakes import ServiceRig, service_rig
from tests.unit.test_attempt_lifecycle import body
from tests.unit.test_provenance_outcomes import (
    BANDIT,
    JSON_ANSWER,
    THOMPSON,
    answer_whole,
    bandit_key,
    drawn,
    policy,
)

from modelrouter.learning.state import reward_update
from modelrouter.live import LiveChat
from modelrouter.providers.errors import ProviderServerError

TABLE = "learning"
ESCALATING = {"checks": {"json_schema": {"on_failure": "escalate"}}}


@pytest.fixture(autouse=True)
def bandit_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every decision is a bandit route's draw of m1."""
    drawn(monkeypatch, choice=THOMPSON, propensity=THOMPSON.probabilities["m1"], bandit=BANDIT)


def expected_update(record: dict[str, Any], reward: float, model: str = "m1") -> dict[str, Any]:
    """The learning update the record's request should have carried: its reward, and what the chosen
    model's own calls cost, added to the item of its segment and its start's window."""
    key = bandit_key(datetime.fromisoformat(record["created_at"]), model)
    cost = sum(attempt["cost_usd"] for attempt in record["attempts"] if attempt["model"] == model)
    return reward_update(TABLE, key, reward, cost)


def learning_rig(route: dict[str, Any] | None = None, **scripts: list[Any]) -> ServiceRig:
    return service_rig(policy(route), {"m1": [answer()], "m2": [answer()], **scripts}, learning_table=TABLE)


def test_a_passed_answer_is_learned_with_its_charge_and_the_record_says_where() -> None:
    # Given a bandit route with a learning table
    rig = learning_rig()
    # When m1 answers and passes
    record = answer_whole(rig)
    # Then the settlement carried the reward's update, once
    update = expected_update(record, 1.0)
    assert rig.ledger.extras == {"req-1": update}
    # and the stored record names the item its reward was added to
    key = update["Update"]["Key"]
    assert record["reward"]["applied_to"]["pk"] == key["pk"]["S"] == BANDIT.state_key
    assert record["reward"]["applied_to"]["sk"] == key["sk"]["S"]
    assert record["reward"]["value"] == 1.0


def test_an_escalation_teaches_zero_for_the_chosen_model_at_its_own_cost() -> None:
    # Given m1 fails its check and m2 answers
    rig = learning_rig(ESCALATING, m1=[answer("[1]")], m2=[answer('{"total": 1}')])
    # When the request is served
    record = answer_whole(rig, **JSON_ANSWER)
    # Then m1 (the drawn model) learns 0, weighed against its own call only
    assert record["model"] == "m2"
    assert rig.ledger.extras == {"req-1": expected_update(record, 0.0)}
    own = sum(attempt["cost_usd"] for attempt in record["attempts"] if attempt["model"] == "m1")
    assert 0 < own < record["cost_usd"]


@pytest.mark.parametrize(
    ("scripts", "route"),
    [
        pytest.param({"m1": [ProviderServerError("down")]}, None, id="fallback"),
        pytest.param(
            {model: [ProviderServerError("down")] for model in ("m1", "m2", "m3")}, None, id="failed"
        ),
    ],
)
def test_a_request_without_a_reward_teaches_nothing(scripts: dict[str, list[Any]], route: Any) -> None:
    # Given a chosen model that never answers
    rig = learning_rig(route, **scripts)
    # When the request ends
    record = answer_whole(rig)
    # Then nothing is learned, and the record says so
    assert rig.ledger.extras == {}
    assert record["reward"] == {"value": None, "source": None, "applied_to": None}


def test_a_cancelled_stream_teaches_nothing() -> None:
    # Given a bandit route whose model streams, and a client that leaves after one piece
    rig = learning_rig(m1=[Streamed(pieces=tuple(f"w{i} " for i in range(20)))])
    live = rig.service.respond("t1", body(stream=True), "req-1")
    assert isinstance(live, LiveChat)
    next(iter(live.items))
    live.close()
    # Then the request was charged, but nothing learned
    assert "req-1" in rig.ledger.ledger
    assert rig.ledger.extras == {}
    assert rig.records()["req-1"]["implicit"]["signal"] == "cancelled"


def test_without_a_learning_table_nothing_is_learned() -> None:
    # Given a deployment without a learning table
    rig = service_rig(policy(), {"m1": [answer()]})
    # When a bandit request passes
    record = answer_whole(rig)
    # Then the reward is recorded but counted nowhere
    assert rig.ledger.extras == {}
    assert record["reward"] == {"value": 1.0, "source": "implicit", "applied_to": None}


def test_when_only_the_learning_update_fails_the_request_settles_and_its_record_says_so() -> None:
    # Given a ledger that settles but cannot apply the learning update
    rig = learning_rig()
    rig.ledger.fail_extra = True
    # When a request passes
    record = answer_whole(rig)
    # Then it is charged, and its stored record claims no learning item
    assert "req-1" in rig.ledger.ledger
    assert rig.ledger.extras == {}
    assert record["reward"] == {"value": 1.0, "source": "implicit", "applied_to": None}


def test_a_failed_settlement_logs_a_record_that_claims_no_learning() -> None:
    # Given a ledger that cannot settle at all
    rig = learning_rig()
    rig.ledger.fail_settle = True
    # When a request passes
    rig.service.chat("t1", body(), "req-1")
    # Then the record goes to the log, saying its reward was counted nowhere
    [(logged, _)] = rig.telemetry.named("settlement_failed")
    assert logged["reward"] == {"value": 1.0, "source": "implicit", "applied_to": None}
    assert rig.ledger.extras == {}


def test_a_request_served_failing_open_does_not_learn() -> None:
    # Given a policy that serves when the budget store is down, and a store that is down
    rig = service_rig(policy(budget_store_failure="fail_open"), {"m1": [answer()]}, learning_table=TABLE)
    rig.ledger.fail_reserve = True
    # When a request passes
    answer_whole(rig)
    # Then it is recorded through the sink, and nothing is learned (no transaction to carry it)
    record = rig.provenance.records["req-1"]
    assert record["reward"] == {"value": 1.0, "source": "implicit", "applied_to": None}
    assert rig.ledger.extras == {}
