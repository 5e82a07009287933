"""Refusals through the handler on moto (issue 8, items 6, 11, 12): audited in the provenance table, a
429 that says what would fit, 503 with Retry-After when every candidate cools down, and store errors
that never quote DynamoDB."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from tests.helpers import EXAMPLE_POLICY, load_event
from tests.integration.rig import router_environment, running_router


def _policy(**acme: Any) -> str:
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    tenant = next(t for t in policy["tenants"] if t["id"] == "acme-support")
    tenant.update(acme)
    return yaml.safe_dump(policy, sort_keys=False)


def _event(name: str, request_id: str, **body: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    event["requestContext"]["requestId"] = request_id
    if body:
        event["body"] = json.dumps({**json.loads(event["body"]), **body})
    return event


def test_a_classification_refusal_leaves_one_refused_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the router, and a request declaring data above acme-support's clearance
    router_environment(monkeypatch)
    with running_router() as rig:
        # When it is refused
        status, body, _ = rig.call(_event("bad-classification", "req-refused-403"))
        # Then the refusal is in the provenance table, at zero cost, with its reason
        assert status == 403
        (record,) = [r for r in rig.provenance_items("acme-support") if r["request_id"] == "req-refused-403"]
        assert (record["outcome"], record["error_code"], record["cost_usd"]) == (
            "refused",
            body["error"]["code"],
            0,
        )
        assert rig.model_calls() == 0


def test_a_budget_refusal_says_which_max_tokens_fits_and_is_audited(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given acme-support with a budget too small for its default answer length and no downgrade route
    router_environment(monkeypatch)
    policy = _policy(budget={"daily_usd": 0.0005}, over_budget_route=None)
    with running_router(policy) as rig:
        # When a request without max_tokens arrives
        status, body, headers = rig.call(_event("chat-support", "req-429", max_tokens=None))
        # Then 429 names a max_tokens that fits, with Retry-After, and the refusal is recorded
        assert status == 429
        assert "retry-after" in headers
        assert "set max_tokens ≤" in body["error"]["message"]
        hint = int(body["error"]["message"].split("set max_tokens ≤ ")[1].split()[0])
        (record,) = rig.provenance_items("acme-support")
        assert (record["outcome"], record["error_code"]) == ("refused", "budget_exhausted")
        # and that max_tokens is admitted
        status, _, _ = rig.call(_event("chat-support", "req-fits", max_tokens=hint))
        assert status == 200


def test_every_candidate_cooling_down_is_a_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every model's breaker open
    router_environment(monkeypatch)
    with running_router() as rig:
        active = rig.runtime.policies.current().policy
        breakers = rig.runtime.service.executor(active).breakers
        for model in active.models:
            for _ in range(active.execution.cooldown.failures):
                permit = breakers.permit(model.id)
                assert permit is not None
                permit.failed()
        # When a support request arrives
        status, body, headers = rig.call(_event("chat-support", "req-cooling"))
        # Then it is a retryable 503 that says when to come back
        assert status == 503
        assert body["error"]["code"] == "models_cooling_down"
        assert 1 <= int(headers["retry-after"]) <= active.execution.cooldown.pause_s
        assert rig.provenance_items("acme-support")[0]["outcome"] == "refused"
