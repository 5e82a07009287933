"""The local console's state, computed from provenance records and usage objects built here (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelrouter.local.console_state import (
    NO_ROUTE,
    PROMPT_PREVIEW_CHARS,
    RECENT_LIMIT,
    breaker_view,
    console_state,
    recent_requests,
    routing_mix,
    spend_rows,
)
from modelrouter.policy.execution import Cooldown

NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
COOLDOWN = Cooldown(failures=3, window_s=60, pause_s=30)


def attempt(
    model: str, outcome: str = "success", *, retryable: bool | None = None, **fields: Any
) -> dict[str, Any]:
    """An attempt as a provenance record holds it."""
    return {
        "number": 1, "model": model, "provider": "openai", "outcome": outcome, "retryable": retryable,
        "error_code": "server_error" if outcome == "error" else None, "error_message": None,
        "started_ms": 5.0, "duration_ms": 40.0, "cost_usd": 0.001 if outcome == "success" else 0.0,
        "checks": [], **fields,
    }  # fmt: skip


def record(
    seconds_ago: float, *, tenant: str = "acme", route: str | None = "support", outcome: str = "success",
    model: str | None = "small", attempts: list[dict[str, Any]] | None = None, **fields: Any,
) -> dict[str, Any]:  # fmt: skip
    """A provenance record made ``seconds_ago`` before :data:`NOW`."""
    created = (NOW - timedelta(seconds=seconds_ago)).isoformat(timespec="milliseconds")
    request_id = f"req-{tenant}-{seconds_ago:g}"
    if attempts is None:
        attempts = [attempt(model)] if model and outcome == "success" else []
    return {
        "tenant_id": tenant, "request_id": request_id, "sort_key": f"{created}#{request_id}",
        "created_at": created, "route": route, "outcome": outcome, "model": model, "attempts": attempts,
        "cost_usd": sum(a["cost_usd"] for a in attempts), "latency_ms": 50.0 + seconds_ago,
        "candidates": [], "exclusions": [], "checks": [], **fields,
    }  # fmt: skip


def candidate(model: str, source: str, cost: float) -> dict[str, Any]:
    """A candidate as a provenance record holds it."""
    return {
        "model": model, "provider": "openai", "provider_model_id": f"{model}-1", "source": source,
        "max_output_tokens": 100, "estimated_cost_usd": cost, "max_cost_usd": 10 * cost,
        "predicted_quality": None,
    }  # fmt: skip


def failed(
    seconds_ago: float, model: str = "small", *, retryable: bool = True, **fields: Any
) -> dict[str, Any]:
    """A request that failed after one call to ``model``."""
    calls = [attempt(model, "error", retryable=retryable)]
    return record(seconds_ago, outcome="failed", model=None, attempts=calls, **fields)


def test_recent_requests_are_newest_first_across_tenants_and_limited() -> None:
    # Given records of two tenants, interleaved in time and given out of order, more than the limit
    records = [record(float(age), tenant="acme" if age % 2 else "lex") for age in range(RECENT_LIMIT + 10)]
    shuffled = records[1::2] + records[0::2]

    # When the recent requests are listed
    listed = recent_requests(shuffled)

    # Then they are the newest ones, newest first, and no more than the limit
    expected = sorted(records, key=lambda r: r["created_at"], reverse=True)[:RECENT_LIMIT]
    assert [r["request_id"] for r in listed] == [r["request_id"] for r in expected]
    assert {r["tenant_id"] for r in listed} == {"acme", "lex"}


def test_a_request_carries_its_decision_explained() -> None:
    # Given a request whose route had candidates in order, an excluded model, a failed and a successful
    # attempt, and checks on the answer
    candidates = [candidate("small", "tier:easy", 0.001), candidate("large", "escalation:hard", 0.01)]
    exclusions = [{"model": "eu", "reason": "residency", "detail": "model in eu, tenant allows us"}]
    checks = [{"name": "guardrails", "passed": True, "action": "accept", "detail": "no violation"}]
    attempts = [
        attempt("small", "error", retryable=True, number=1),
        attempt("large", checks=checks, number=2),
    ]
    item = record(
        1, model="large", attempts=attempts, candidates=candidates, exclusions=exclusions, checks=checks
    )

    # When it is listed
    (view,) = recent_requests([item])

    # Then its candidates keep their order and why they are in the list, exclusions their reasons,
    # attempts their outcomes and errors, and the answer its checks
    assert [(c["model"], c["source"]) for c in view["candidates"]] == [
        (c["model"], c["source"]) for c in candidates
    ]
    assert view["exclusions"] == exclusions
    assert [(a["model"], a["outcome"], a["error_code"]) for a in view["attempts"]] == [
        (a["model"], a["outcome"], a["error_code"]) for a in attempts
    ]
    assert view["checks"] == checks
    assert (view["route"], view["model"], view["cost_usd"]) == (item["route"], "large", item["cost_usd"])


def test_the_prompt_shows_only_when_the_record_stores_it() -> None:
    # Given a record without a prompt, and one of a tenant that stores prompts (a long last user message
    # in parts, after an earlier one)
    long_text = "<b>" + "x" * (2 * PROMPT_PREVIEW_CHARS)
    stored = record(
        1,
        prompt=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": [{"type": "text", "text": long_text}]},
        ],
    )

    # When they are listed
    views = {v["request_id"]: v for v in recent_requests([record(2), stored])}

    # Then only the stored one has a preview: the last user message, cut, markup untouched (the page escapes)
    assert views[record(2)["request_id"]]["prompt"] is None
    assert views[stored["request_id"]]["prompt"] == long_text[:PROMPT_PREVIEW_CHARS]


def test_routing_mix_counts_each_route_outcome_and_model_share() -> None:
    # Given requests on two routes: answers by two models, a failure, and refusals with and without a route
    records = [
        *[record(i, route="support", model="small") for i in range(3)],
        record(10, route="support", model="large"),
        failed(11, route="support"),
        record(12, route="support", outcome="refused", model=None),
        record(13, route="general", model="small"),
        record(14, route=None, outcome="refused", model=None),
    ]

    # When the mix is computed
    rows = {row["route"]: row for row in routing_mix(records)}

    # Then each route counts its requests by outcome, answering models by share, and its cost
    support = [r for r in records if r["route"] == "support"]
    assert next(iter(rows)) == "support"  # busiest first
    assert set(rows) == {"support", "general", NO_ROUTE}
    assert (rows["support"]["requests"], rows["support"]["answered"]) == (len(support), 4)
    assert (rows["support"]["refused"], rows["support"]["failed"]) == (1, 1)
    assert {m["model"]: m["answers"] for m in rows["support"]["models"]} == {"small": 3, "large": 1}
    assert sum(m["share"] for m in rows["support"]["models"]) == pytest.approx(1.0)
    assert rows["support"]["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in support))
    assert rows[NO_ROUTE]["models"] == []
    assert rows[NO_ROUTE]["mean_latency_ms"] is None


def _cooling(seconds_ago: float, model: str) -> dict[str, Any]:
    exclusion = {"model": model, "reason": "cooling_down", "detail": "circuit breaker open"}
    return record(seconds_ago, model="large", attempts=[attempt("large")], exclusions=[exclusion])


def _state(records: list[dict[str, Any]], model: str) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {
        row["model"]: row for row in breaker_view(records, [model], COOLDOWN, NOW)["models"]
    }
    return rows[model]


def test_breakers_show_a_model_found_cooling_within_the_pause() -> None:
    # Given failures of "small", then a request that found it cooling down, within the pause
    failures = [failed(20 + i) for i in range(COOLDOWN.failures)]
    records = [_cooling(COOLDOWN.pause_s / 2, "small"), *failures]

    # When the breakers are inferred at NOW
    row = _state(records, "small")

    # Then "small" is cooling; once the pause has passed, or after a later answer, it is not
    assert row["state"] == "cooling"
    assert _state([_cooling(COOLDOWN.pause_s + 1, "small")], "small")["state"] != "cooling"
    assert _state([record(1, model="small"), *records], "small")["state"] == "closed"


def test_breakers_count_only_retryable_failures_within_the_window() -> None:
    # Given two retryable failures of "small" in the window, one outside it, and a non-retryable one
    records = [failed(5), failed(10), failed(COOLDOWN.window_s + 5), failed(2, retryable=False)]

    # When the breakers are inferred
    row = _state(records, "small")

    # Then it is failing, with the two in the window counted
    assert (row["state"], row["failures_in_window"]) == ("failing", 2)
    assert str(COOLDOWN.failures) in row["detail"]


def test_breakers_of_models_without_calls_are_unknown_and_the_view_says_what_it_is() -> None:
    # Given no record naming "idle", and an answer by "small" after its failure
    records = [record(1, model="small"), failed(5)]

    # When the breakers are inferred
    view = breaker_view(records, ["small", "idle"], COOLDOWN, NOW)

    # Then "small" is closed, "idle" unknown, and the view names its source and the cooldown it assumes
    assert {row["model"]: row["state"] for row in view["models"]} == {"small": "closed", "idle": "unknown"}
    assert "provenance" in view["source"]
    assert view["cooldown"] == COOLDOWN.model_dump()


def test_spend_rows_give_the_used_fraction_of_each_limited_period() -> None:
    # Given a tenant with a daily limit only, and one whose usage could not be read
    daily: dict[str, Any] = {
        "period": "2025-01-10",
        "committed_usd": 1.5,
        "spent_usd": 1.0,
        "held_usd": 0.5,
        "limit_usd": 5.0,
    }
    monthly = {
        "period": "2025-01",
        "committed_usd": 7.0,
        "spent_usd": 7.0,
        "held_usd": 0.0,
        "limit_usd": None,
    }
    usage = {"tenant_id": "acme", "periods": {"daily": daily, "monthly": monthly}, "open_holds": 1}
    broken = {"tenant_id": "lex", "error": "budget table unreachable"}

    # When the spend rows are built
    rows = {row["tenant_id"]: row for row in spend_rows([usage, broken])}

    # Then the limited period has committed ÷ limit, the other none, and the error passes through
    periods = rows["acme"]["periods"]
    assert periods["daily"]["used_fraction"] == pytest.approx(daily["committed_usd"] / daily["limit_usd"])
    assert periods["monthly"]["used_fraction"] is None
    assert rows["lex"] == broken


def test_console_state_puts_every_part_together_and_tolerates_incomplete_records() -> None:
    # Given a normal record and a minimal one (written when the full record could not be built)
    incomplete = {
        "tenant_id": "acme", "request_id": "r-min", "created_at": "not a time", "outcome": "error",
        "record_incomplete": True, "attempts": [{"model": "small", "outcome": "error", "cost_usd": 0.0}],
    }  # fmt: skip
    records = [record(1), incomplete]

    # When the whole state is computed
    state = console_state(
        records=records, usages=[], policy={"name": "p", "version": "v1"}, models=["small"],
        cooldown=COOLDOWN, containers={"router": []}, now=NOW,
    )  # fmt: skip

    # Then it has every part, over the window given
    assert state["window"] == len(records)
    assert {r["request_id"] for r in state["requests"]} == {r["request_id"] for r in records}
    assert state["policy"] == {"name": "p", "version": "v1"}
    assert [m["model"] for m in state["breakers"]["models"]] == ["small"]
    assert state["generated_at"] == NOW.isoformat(timespec="seconds")
