"""Every provenance record carries the feedback loop's fields (issue 13, item 2): the chosen model, its
propensity and choice distribution, the implicit outcome of each path, and the reward."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from tests.fakes import Streamed, answer
from tests.helpers import build_policy
from tests.service_fakes import ServiceRig, service_rig
from tests.unit.test_attempt_lifecycle import body
from tests.unit.test_attempt_lifecycle import policy as lifecycle_policy

import modelrouter.service as service_module
from modelrouter.errors import ModelRouterError
from modelrouter.learning.implicit import RETRY_PENALTY
from modelrouter.learning.state import StateKey, state_key_for
from modelrouter.live import LiveChat
from modelrouter.policy import Policy
from modelrouter.providers.errors import ProviderServerError
from modelrouter.selection.decision import BanditChoice, ChoiceDistribution, Decision

SCHEMA = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
JSON_ANSWER = {"response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}}
WEIGHTED = ChoiceDistribution(probabilities={"m1": 0.7, "m2": 0.2, "m3": 0.1}, method="exact")
THOMPSON = ChoiceDistribution(
    probabilities={"m1": 0.55, "m2": 0.3, "m3": 0.15}, method="monte_carlo", draws=512
)
BANDIT = BanditChoice(
    segment="language=en|difficulty=0",
    state_key="bandit#test-policy#r",
    window_seconds=3600,
    horizon_seconds=7 * 86400,
    cost_weight=0.5,
    evidence={"m1": 12.0, "m2": 4.0, "m3": 0.0},
    posterior_mean={"m1": 0.8, "m2": 0.6, "m3": 0.5},
    estimated_cost_usd={"m1": 0.0001, "m2": 0.0001, "m3": 0.0001},
    state_age_s=2.0,
)


def bandit_key(started: datetime, model: str = "m1") -> StateKey:
    """The learning-state item a request of :data:`BANDIT` that started at ``started`` counts into."""
    return state_key_for(
        BANDIT.state_key, BANDIT.segment, model, started=started,
        window_seconds=BANDIT.window_seconds, horizon_seconds=BANDIT.horizon_seconds,
    )  # fmt: skip


def policy(
    route: dict[str, Any] | None = None, budget: float = 10.0, *, store_prompts: bool = False, **defaults: Any
) -> Policy:
    """The lifecycle tests' policy (route ``r`` over m1, m2, m3, with ``route``'s fields; a weighted
    split's ``variants`` replace the list), its tenant storing prompts or not, with policy ``defaults``."""
    document = lifecycle_policy(None, budget).model_dump(mode="json", exclude_none=True, by_alias=True)
    document["routes"][0].update(route or {})
    if "variants" in document["routes"][0]:
        del document["routes"][0]["models"]
    document["tenants"][0]["store_prompts"] = store_prompts
    document["defaults"] = {**document.get("defaults", {}), **defaults}
    return build_policy(document)


def drawn(monkeypatch: pytest.MonkeyPatch, **update: Any) -> None:
    """Make every decision the service takes carry ``update`` (a stochastic strategy's fields), as if
    the route's strategy had drawn its primary with that distribution."""
    original: Callable[..., Decision] = service_module.decide_for

    def decide_for(*arguments: Any, **options: Any) -> Decision:
        return original(*arguments, **options).model_copy(update=update)

    monkeypatch.setattr(service_module, "decide_for", decide_for)


def answer_whole(rig: ServiceRig, request_id: str = "req-1", **fields: Any) -> dict[str, Any]:
    """Send one whole request (its failure is expected by some paths) and return its record."""
    with contextlib.suppress(ModelRouterError):
        rig.service.chat("t1", body(**fields), request_id)
    return rig.records()[request_id]


PATHS = {
    "passed": ({"m1": [answer()]}, {}, {}),
    "retried": (
        {"m1": [answer('{"sum": 1}'), answer('{"total": 2}')]},
        {"checks": {"json_schema": {"on_failure": "repair", "max_repairs": 1}}},
        JSON_ANSWER,
    ),
    "escalated": (
        {"m1": [answer("[1]")], "m2": [answer('{"total": 2}')]},
        {"checks": {"json_schema": {"on_failure": "escalate"}}},
        JSON_ANSWER,
    ),
    "fallback": ({"m1": [ProviderServerError("down")], "m2": [answer()]}, {}, {}),
    "failed": ({model: [ProviderServerError("down")] for model in ("m1", "m2", "m3")}, {}, {}),
}


@pytest.mark.parametrize(
    ("path", "signal", "reward"),
    [
        ("passed", "passed", 1.0),
        ("retried", "passed", 1.0 - RETRY_PENALTY),
        ("escalated", "escalated", 0.0),
        ("fallback", "fallback", None),
        ("failed", "failed", None),
    ],
)
def test_each_path_records_its_implicit_signal_and_reward(
    path: str, signal: str, reward: float | None
) -> None:
    # Given a fallback route over m1, m2, m3 whose models behave as the path needs
    scripts, route, fields = PATHS[path]
    rig = service_rig(policy(route), {"m1": [answer()], "m2": [answer()], "m3": [answer()], **scripts})
    # When one request is served
    record = answer_whole(rig, **fields)
    # Then its record judges the chosen model (the primary) by its own attempts
    implicit = record["implicit"]
    assert (record["chosen_model"], implicit["chosen_model"]) == ("m1", "m1")
    assert (implicit["signal"], implicit["reward"]) == (signal, reward)
    assert implicit["retried"] is (path == "retried")
    assert implicit["escalated"] is (path == "escalated")
    assert implicit["fallback"] is (path == "fallback")
    assert implicit["answered_by"] == record["model"]
    # and the reward is the implicit one, counted nowhere (not a bandit route)
    source = "implicit" if reward is not None else None
    assert record["reward"] == {"value": reward, "source": source, "applied_to": None}
    # and a deterministic route's primary was chosen for sure
    assert (record["propensity"], record["choice"]) == (1.0, None)
    assert "bandit" not in record


def test_a_stream_read_to_its_end_passes_and_one_the_client_leaves_is_cancelled() -> None:
    # Given a route whose first model streams fifty pieces
    rig = service_rig(policy(), {"m1": [Streamed(pieces=tuple(f"w{i} " for i in range(50)))]})
    # When one stream is read to its end and another is left after two pieces
    whole = rig.service.respond("t1", body(stream=True), "whole")
    left = rig.service.respond("t1", body(stream=True), "left")
    assert isinstance(whole, LiveChat)
    assert isinstance(left, LiveChat)
    list(whole.items)
    pieces = iter(left.items)
    next(pieces)
    next(pieces)
    left.close()
    # Then the finished stream passed and the abandoned one is cancelled, with no reward
    records = rig.records()
    assert (records["whole"]["implicit"]["signal"], records["whole"]["reward"]["value"]) == ("passed", 1.0)
    assert records["left"]["streaming"]["end"] == "client_disconnected"
    assert records["left"]["implicit"]["signal"] == "cancelled"
    assert records["left"]["reward"] == {"value": None, "source": None, "applied_to": None}


def test_a_stream_that_breaks_after_its_first_token_failed() -> None:
    # Given a primary that breaks after two pieces
    rig = service_rig(policy(), {"m1": [Streamed(error=ProviderServerError("reset"), fail_after=2)]})
    live = rig.service.respond("t1", body(stream=True), "req-1")
    assert isinstance(live, LiveChat)
    # When the client reads the stream to its end
    list(live.items)
    # Then the chosen model returned no answer: the request teaches nothing
    record = rig.records()["req-1"]
    assert record["streaming"]["end"] == "provider_error"
    assert (record["implicit"]["signal"], record["reward"]["value"]) == ("failed", None)


def test_refused_requests_record_refused_with_the_decision_they_had() -> None:
    # Given a tenant whose budget cannot hold one request
    rig = service_rig(policy(budget=10.0), {"m1": [answer()]}, limits={"t1": 0.0})
    # When it asks, and a tenant the policy does not know asks too
    for tenant, request_id in (("t1", "poor"), ("nobody", "stranger")):
        with pytest.raises(ModelRouterError):
            rig.service.chat(tenant, body(), request_id)
    # Then the budget refusal names the model the route would have chosen, for sure
    poor, stranger = rig.records()["poor"], rig.records()["stranger"]
    assert poor["outcome"] == "refused"
    assert (poor["chosen_model"], poor["propensity"]) == ("m1", 1.0)
    assert poor["implicit"]["signal"] == "refused"
    assert poor["reward"] == {"value": None, "source": None, "applied_to": None}
    # and the unknown tenant's record, refused before any decision, names no model
    assert (stranger["chosen_model"], stranger["propensity"], stranger["choice"]) == (None, None, None)
    assert (stranger["implicit"]["signal"], stranger["implicit"]["chosen_model"]) == ("refused", None)


@pytest.mark.parametrize("distribution", [WEIGHTED, THOMPSON], ids=["weighted", "thompson"])
def test_a_drawn_primary_records_its_distribution_and_propensity(
    monkeypatch: pytest.MonkeyPatch, distribution: ChoiceDistribution
) -> None:
    # Given a strategy that drew m1 from a distribution
    propensity = distribution.probabilities["m1"]
    drawn(monkeypatch, choice=distribution, propensity=propensity)
    rig = service_rig(policy(), {"m1": [answer()]})
    # When the request is served
    record = answer_whole(rig)
    # Then the record carries the distribution (and how it was estimated) and the primary's probability
    assert record["choice"] == distribution.model_dump(mode="json")
    assert record["propensity"] == propensity
    assert record["chosen_model"] == "m1"


def test_a_weighted_route_records_the_exact_propensity_of_each_primary() -> None:
    # Given a 3:1 split between m1 (champion) and m2 (challenger)
    weights = {"m1": 3, "m2": 1}
    variants = [
        {"name": f"v-{model}", "weight": weight, "models": [model]} for model, weight in weights.items()
    ]
    rig = service_rig(
        policy({"strategy": "weighted", "variants": variants}), {"m1": [answer()], "m2": [answer()]}
    )
    # When forty requests are served
    records = [answer_whole(rig, f"w-{n}") for n in range(40)]
    # Then each record's propensity is its primary's share of the split, with the exact distribution
    shares = {model: weight / sum(weights.values()) for model, weight in weights.items()}
    for record in records:
        assert record["propensity"] == shares[record["chosen_model"]]
        assert record["choice"]["method"] == "exact"
        assert {m: p for m, p in record["choice"]["probabilities"].items() if p} == shares
    assert {record["chosen_model"] for record in records} == set(weights)


def test_a_bandit_decision_records_its_bandit_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bandit decision on a service without a learning table
    drawn(monkeypatch, choice=THOMPSON, propensity=THOMPSON.probabilities["m1"], bandit=BANDIT)
    rig = service_rig(policy(), {"m1": [answer()]})
    # When it is served
    record = answer_whole(rig)
    # Then the record keeps what the bandit knew, and the reward was counted nowhere
    assert record["bandit"] == BANDIT.model_dump(mode="json")
    assert record["reward"]["applied_to"] is None


def test_metadata_is_kept_only_where_prompts_are() -> None:
    # Given two deployments, only one of which stores the tenant's prompts
    rig, other = service_rig(policy(store_prompts=True), {}), service_rig(policy(), {})
    metadata = {"tags": "faq,billing", "customer_tier": "gold"}
    # When each sends a request with metadata
    kept = answer_whole(rig, metadata=metadata)
    dropped = answer_whole(other, metadata=metadata)
    # Then the metadata is stored next to the prompt, and not at all without it
    assert (kept["metadata"], kept["prompt"][0]["content"]) == (metadata, "hello")
    assert "metadata" not in dropped
    assert "prompt" not in dropped


def test_a_record_that_cannot_be_built_keeps_the_chosen_model_and_its_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a record builder that fails
    def broken(**_: Any) -> dict[str, Any]:
        raise ValueError("boom")

    monkeypatch.setattr("modelrouter.closing.build_record", broken)
    rig = service_rig(policy(), {"m1": [answer()]})
    # When a request is served
    record = answer_whole(rig)
    # Then the minimal record still says which model was chosen, how sure, and how it did
    assert record["record_incomplete"] is True
    assert (record["chosen_model"], record["propensity"]) == ("m1", 1.0)
    assert record["implicit"]["signal"] == "passed"
    assert record["reward"] == {"value": 1.0, "source": "implicit", "applied_to": None}
