"""Invariants under random fault sequences (issue 8): through the real executor and service, on a fake
clock and in-memory ports, whatever the providers do:

* every model serves again once faults stop and its breaker's pause has passed;
* the ledger total = Σ charged attempts = Σ provenance costs; no hold is left open;
* every request leaves exactly one provenance record.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fakes import HANG, answer
from tests.service_fakes import service_rig
from tests.unit.test_attempt_lifecycle import policy

from modelrouter.errors import ModelRouterError
from modelrouter.providers.errors import (
    BadRequestError,
    ContextTooLongError,
    MalformedResponseError,
    ProviderServerError,
    RateLimitedError,
)
from modelrouter.providers.types import ProviderCall, ProviderResult, Usage

MODELS = ("m1", "m2", "m3")


def _crash(call: ProviderCall) -> ProviderResult:
    raise RuntimeError("adapter bug")


def _step(kind: str, tokens: int) -> Any:
    return {
        "answer": answer(usage=Usage(tokens, tokens // 2)),
        "no_usage": answer("an answer with no usage " * 3, usage=Usage()),
        "over_delivery": answer(usage=Usage(tokens, 50_000)),
        "bad_json": answer("not json"),
        "server_error": ProviderServerError("boom"),
        "rate_limited": RateLimitedError("slow down", retry_after_s=0.5),
        "rate_limited_long": RateLimitedError("slow down", retry_after_s=120),
        "malformed": MalformedResponseError("garbage"),
        "bad_request": BadRequestError("bad"),
        "too_long": ContextTooLongError("too long"),
        "hang": HANG,
        "crash": _crash,
    }[kind]


STEPS = st.sampled_from(
    ["answer", "no_usage", "over_delivery", "bad_json", "server_error", "rate_limited", "rate_limited_long",
     "malformed", "bad_request", "too_long", "hang", "crash"]
)  # fmt: skip
SCRIPT = st.lists(st.tuples(STEPS, st.integers(1, 5_000)), min_size=1, max_size=4)
REQUEST = st.fixed_dictionaries(
    {
        "scripts": st.fixed_dictionaries(dict.fromkeys(MODELS, SCRIPT)),
        "json": st.booleans(),
        "max_tokens": st.one_of(st.none(), st.integers(1, 1_000)),
        "pause_s": st.floats(0, 40),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(REQUEST, min_size=1, max_size=12), budget=st.sampled_from([0.002, 0.05, 10.0]))
def test_random_faults_never_break_the_books_or_wedge_a_breaker(
    requests: list[dict[str, Any]], budget: float
) -> None:
    # Given a service on fakes with a daily budget
    rig = service_rig(policy({"limits": {"latency_budget_ms": 20_000}}), {m: [answer()] for m in MODELS},
                      limits={"t1": budget})  # fmt: skip
    request_ids = []
    # When requests run against random provider behaviour
    for number, request in enumerate(requests):
        rig.provider.scripts = {
            model: [_step(kind, tokens) for kind, tokens in script]
            for model, script in request["scripts"].items()
        }
        fields: dict[str, Any] = {}
        if request["max_tokens"] is not None:
            fields["max_tokens"] = request["max_tokens"]
        if request["json"]:
            schema = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
            fields["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": schema},
            }
        request_id = f"req-{number}"
        request_ids.append(request_id)
        text = json.dumps({"messages": [{"role": "user", "content": "hello"}], **fields}).encode()
        with contextlib.suppress(ModelRouterError):
            rig.service.chat("t1", text, request_id)
        rig.clock.advance(request["pause_s"])

    # Then the books balance: one record per request, ledger = Σ attempts = Σ records, no open holds
    records = rig.records()
    assert sorted(records) == sorted(request_ids)
    assert not rig.ledger.holds
    for request_id, record in records.items():
        attempts_cost = sum(a["cost_usd"] for a in record["attempts"])
        assert record["cost_usd"] == pytest.approx(attempts_cost, abs=1e-12)
        if request_id in rig.ledger.ledger:
            assert float(rig.ledger.ledger[request_id]) == pytest.approx(record["cost_usd"], abs=1e-9)
        else:
            assert record["outcome"] == "refused"
            assert record["cost_usd"] == 0
    total = sum(rig.ledger.ledger.values(), Decimal(0))
    assert float(total) == pytest.approx(sum(r["cost_usd"] for r in records.values()), abs=1e-8)
    # and committed spend stays within the limit plus what providers over-delivered
    overage = sum(r.get("overage_usd", 0.0) for r in records.values())
    assert float(rig.ledger.committed.get("t1", Decimal(0))) <= budget + overage + 1e-9

    # Then, once faults stop and the pause has passed, every model serves again
    rig.ledger.limits.clear()
    rig.clock.advance(rig.service.executor(policy()).breakers._cooldown.pause_s + 1)
    for model in MODELS:
        assert rig.breakers.allow(model), f"{model} still cooling down"
    rig.provider.scripts = {model: [answer()] for model in MODELS}
    outcome = rig.service.chat(
        "t1", json.dumps({"messages": [{"role": "user", "content": "hi"}]}), "req-after"
    )
    assert outcome.result.model == "m1"
    assert not rig.breakers.open_models()
