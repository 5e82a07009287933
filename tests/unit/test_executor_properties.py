"""Whatever the failures: attempts stay within the policy's limits and time within the deadline."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.fakes import HANG, FakeClock, ScriptedProvider, answer
from tests.helpers import build_policy, chat, features, minimal_policy, model_entry

from modelrouter.execution import ExecutionError, Executor, request_deadline
from modelrouter.policy import ProviderKind
from modelrouter.providers.errors import (
    AuthError,
    ContextTooLongError,
    MalformedResponseError,
    OverloadedError,
    ProviderServerError,
    RateLimitedError,
)
from modelrouter.selection import RequestContext, decide

MODELS = ["m1", "m2", "m3", "m4"]

_steps = st.one_of(
    st.just(HANG),
    st.builds(lambda s: RateLimitedError("429", retry_after_s=s), st.one_of(st.none(), st.floats(0, 10))),
    st.just(ProviderServerError("500")),
    st.just(OverloadedError("529")),
    st.just(MalformedResponseError("truncated")),
    st.just(AuthError("401")),
    st.just(ContextTooLongError("too long")),
    st.just(answer("not json")),
    st.just(answer('{"total": 1}')),
)


@settings(max_examples=150, deadline=None)
@given(
    scripts=st.fixed_dictionaries({m: st.lists(_steps, min_size=1, max_size=6) for m in MODELS}),
    per_model=st.integers(1, 4),
    extra_total=st.integers(0, 8),
    budget_ms=st.integers(100, 20_000),
    latency_s=st.floats(0.0, 3.0),
    json_request=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_attempts_and_time_stay_within_limits(
    scripts: dict[str, list[Any]],
    per_model: int,
    extra_total: int,
    budget_ms: int,
    latency_s: float,
    json_request: bool,
    seed: int,
) -> None:
    # Given any failure script per model, any limits and any deadline
    document = minimal_policy()
    document["models"] = [model_entry(m, context_window=10_000 * (i + 1)) for i, m in enumerate(MODELS)]
    document["routes"] = [{"name": "r", "models": MODELS, "checks": {"json_schema": {"max_repairs": 2}}}]
    document["execution"] = {
        "max_attempts_per_model": per_model,
        "max_total_attempts": per_model + extra_total,
        "min_attempt_ms": 50,
    }
    policy = build_policy(document)
    clock = FakeClock()
    provider = ScriptedProvider(
        ProviderKind.BEDROCK, clock, {m: list(s) for m, s in scripts.items()}, latency_s
    )
    executor = Executor({ProviderKind.BEDROCK: provider}, policy, clock=clock, rng=random.Random(seed))
    schema = {"type": "object", "required": ["total"]}
    fields = {"response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": schema}}}
    request = chat("x", **fields) if json_request else chat("x")
    decision = decide(
        policy,
        request,
        RequestContext("r", "t1"),
        features=features(response_format="json_schema" if json_request else "text"),
    )
    deadline = request_deadline(clock, budget_ms, policy.execution)
    started = clock.now()
    # When executed
    try:
        attempts = executor.execute(decision, request, deadline).attempts
    except ExecutionError as error:
        attempts = error.attempts
    # Then the call counts respect the limits
    calls = [a for a in attempts if a.called]
    assert len(calls) == len(provider.calls)
    assert len(calls) <= policy.execution.max_total_attempts
    for model in MODELS:
        assert sum(1 for a in calls if a.model == model) <= policy.execution.max_attempts_per_model
    # and the whole execution, backoff included, ends by the deadline
    assert clock.now() - started <= budget_ms / 1000 + 1e-9
    # and no call was given more time than was left
    assert all(call.timeout_s <= budget_ms / 1000 + 1e-9 for call in provider.calls)
