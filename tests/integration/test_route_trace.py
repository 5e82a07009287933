"""``POST /v1/route`` through the router handler on moto: the decision carries the trace of the routes'
conditions, a metadata value that does not parse is a reason (never a 400), and routes kept for other
tenants stay out of a tenant's trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.helpers import minimal_policy, rest_event
from tests.integration.rig import RouterRig, router_environment, running_router


def policy() -> dict[str, Any]:
    document = minimal_policy()
    document["tenants"].append({"id": "t2", "budget": {"daily_usd": 10}})
    document["routes"] = [
        {"name": "t2-private", "when": {"tenants": ["t2"]}, "models": ["large"]},
        {"name": "borderline", "when": {"metadata.risk_score": {"between": [0.3, 0.7]}}, "models": ["large"]},
        {"name": "default", "models": ["small"]},
    ]
    return document


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router(yaml.safe_dump(policy(), sort_keys=False).encode()) as running:
        yield running


def route(rig: RouterRig, metadata: dict[str, str]) -> tuple[int, Any]:
    body = {"model": "auto", "messages": [{"role": "user", "content": "Review case 7"}], "metadata": metadata}
    status, answer, _ = rig.call(rest_event("POST", "/v1/route", json.dumps(body)))
    return status, answer


def test_the_decision_says_which_clause_matched(rig: RouterRig) -> None:
    # When a borderline score is routed
    status, body = route(rig, {"risk_score": "0.55"})
    # Then the borderline route is chosen and the trace says why, without a model call
    assert status == 200, body
    assert body["route"] == "borderline"
    (trace,) = body["when_trace"]
    assert trace == {
        "route": "borderline",
        "matched": True,
        "clauses": [
            {"clause": "metadata.risk_score", "matched": True, "detail": "'0.55' between 0.3 and 0.7"}
        ],
    }
    assert rig.model_calls() == 0


def test_an_unparsable_value_is_a_reason_not_an_error(rig: RouterRig) -> None:
    # When the score is not a number
    status, body = route(rig, {"risk_score": "elevated"})
    # Then the request is routed by the catch-all, and the trace names the value's problem
    assert status == 200, body
    assert body["route"] == "default"
    assert [(t["route"], t["matched"]) for t in body["when_trace"]] == [
        ("borderline", False),
        ("default", True),
    ]
    assert body["when_trace"][0]["clauses"][0]["detail"] == "'elevated' is not a number"


def test_another_tenants_routes_stay_out_of_the_trace(rig: RouterRig) -> None:
    # Given t1 routes a request (the first route is t2's)
    _, body = route(rig, {})
    # Then t2's route is not in t1's trace
    assert "t2-private" not in [t["route"] for t in body["when_trace"]]
