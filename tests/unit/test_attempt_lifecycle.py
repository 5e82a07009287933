"""One owner for an attempt's life (issue 8, items 1, 2, 4, 5, 6, 11, 12): breakers always concluded,
hung models fall back, every call charged and recorded, budgets bounded, refusals audited."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from tests.fakes import HANG, answer
from tests.helpers import build_policy, minimal_policy, three_models
from tests.service_fakes import ServiceRig, service_rig

from modelrouter.accounting.errors import BudgetExhaustedError
from modelrouter.errors import ModelsCoolingDownError, NoEligibleModelError, RequestDeniedError
from modelrouter.execution.records import DeadlineExceededError, ExecutionCrashedError
from modelrouter.policy import Policy
from modelrouter.providers.errors import BadRequestError, ContextTooLongError, ProviderServerError
from modelrouter.providers.types import ProviderCall, ProviderResult, Usage


def policy(route: dict[str, Any] | None = None, budget: float = 10.0, **execution: Any) -> Policy:
    document = minimal_policy()
    document["models"] = three_models()
    document["routes"] = [{"name": "r", "models": ["m1", "m2", "m3"], **(route or {})}]
    document["tenants"][0]["budget"] = {"daily_usd": budget}
    document["tenants"].append(
        {"id": "internal-only", "budget": {"daily_usd": 1}, "max_classification": "internal"}
    )
    if execution:
        document["execution"] = execution
    return build_policy(document)


def body(text: str = "hello", **fields: Any) -> bytes:
    return json.dumps({"model": "auto", "messages": [{"role": "user", "content": text}], **fields}).encode()


def trip(rig: ServiceRig, model: str) -> None:
    """Open ``model``'s breaker with as many retryable failures as its cooldown needs."""
    for _ in range(rig.service.executor(policy()).breakers._cooldown.failures):
        permit = rig.breakers.permit(model)
        assert permit is not None
        permit.failed()


def assert_books_balance(rig: ServiceRig) -> None:
    """Ledger = Σ charged attempts = Σ provenance costs, no open holds, one record per request."""
    records = rig.records()
    assert not rig.ledger.holds
    assert set(rig.ledger.ledger) <= set(records)
    for request_id, charged in rig.ledger.ledger.items():
        assert float(charged) == pytest.approx(records[request_id]["cost_usd"], abs=1e-9)
        attempts = records[request_id]["attempts"]
        assert records[request_id]["cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in attempts))


# --- item 1: a breaker probe is concluded however the call ends ------------------------------------


@pytest.mark.parametrize(
    "probe_step",
    [
        pytest.param(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), id="crash"),
        pytest.param(ContextTooLongError("too long"), id="context_too_long"),
        pytest.param(BadRequestError("bad"), id="non_retryable"),
    ],
)
def test_a_half_open_probe_that_ends_any_other_way_leaves_the_model_probeable(probe_step: Any) -> None:
    # Given m1's breaker open, its pause over, and the probe call ending in something other than an answer
    rig = service_rig(policy(), {"m1": [probe_step, answer("back")], "m2": [answer()], "m3": [answer()]})
    trip(rig, "m1")
    rig.clock.advance(31)

    def probe(call: ProviderCall) -> ProviderResult:
        if isinstance(probe_step, Exception):
            raise probe_step
        return answer()

    rig.provider.scripts["m1"] = [probe, answer("back")]
    # When one request takes the probe
    with contextlib.suppress(ExecutionCrashedError):
        rig.service.chat("t1", body(), "req-probe")
    # Then the next request may probe m1 again, and its answer closes the breaker
    outcome = rig.service.chat("t1", body(), "req-next")
    assert outcome.result.model == "m1"
    assert "m1" not in rig.breakers.open_models()
    assert_books_balance(rig)


def test_a_probe_skipped_for_the_deadline_is_never_taken() -> None:
    # Given m1 open with its pause over, and a request whose deadline passes before any call
    rig = service_rig(policy({"limits": {"latency_budget_ms": 200}}), {"m1": [answer()]})
    trip(rig, "m1")
    rig.clock.advance(31)
    # When it runs (min_attempt_ms 300 > budget 200: no call starts)
    with pytest.raises(DeadlineExceededError):
        rig.service.chat("t1", body(), "req-late")
    # Then the probe is still free for the next request
    assert rig.breakers.allow("m1")


# --- item 2: a hung model falls back within the route's latency budget -----------------------------


def test_a_hung_primary_falls_back_to_a_healthy_model_inside_the_budget() -> None:
    # Given m1 hangs and the route allows 15 s in all
    rig = service_rig(policy({"limits": {"latency_budget_ms": 15_000}}), {"m1": [HANG], "m2": [answer("ok")]})
    started = rig.clock.now()
    # When a request runs
    outcome = rig.service.chat("t1", body(), "req-hang")
    # Then m2 answers, m1 had only its share of the time, and all of it fits the budget
    assert outcome.result.model == "m2"
    assert [(a.model, a.outcome) for a in outcome.result.attempts] == [("m1", "error"), ("m2", "success")]
    assert outcome.result.attempts[0].timeout_ms == pytest.approx(5_000)
    assert rig.clock.now() - started < 15


# --- item 4: every model call is charged and recorded, whatever is raised --------------------------


def test_an_adapter_crash_after_sending_is_charged_from_the_estimate_and_recorded() -> None:
    # Given an adapter that raises something that is not a provider error
    rig = service_rig(policy(), {"m1": [lambda call: (_ for _ in ()).throw(RuntimeError("adapter bug"))]})
    # When a request runs, Then it is a crash (500)...
    with pytest.raises(ExecutionCrashedError):
        rig.service.chat("t1", body(), "req-crash")
    # ...and the call is charged from the router's estimate, recorded once, and the hold settled
    record = rig.records()["req-crash"]
    assert record["outcome"] == "error"
    assert record["error_code"] == "internal_error"
    assert record["cost_usd"] > 0
    assert record["usage_estimated"] is True
    assert rig.ledger.released == []
    assert_books_balance(rig)


def test_a_check_that_raises_after_an_answer_charges_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a model that answers with known usage, and an answer check that raises
    rig = service_rig(policy(), {"m1": [answer(usage=Usage(1_000, 500))]})

    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("check bug")

    monkeypatch.setattr("modelrouter.execution.executor.evaluate_answer", broken)
    # When a request runs
    with pytest.raises(ExecutionCrashedError):
        rig.service.chat("t1", body(), "req-check")
    # Then the answer's real usage is charged: $1/M in, $2/M out
    assert float(rig.ledger.ledger["req-check"]) == pytest.approx((1_000 + 1_000) / 1e6)
    assert_books_balance(rig)


def test_a_record_that_cannot_be_built_still_settles_with_a_minimal_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given building the provenance record raises
    rig = service_rig(policy(), {"m1": [answer()]})

    def broken(**_: Any) -> Any:
        raise ValueError("record bug")

    monkeypatch.setattr("modelrouter.closing.build_record", broken)
    # When a request is answered
    rig.service.chat("t1", body(), "req-record")
    # Then the hold is settled with the real cost and a minimal record
    assert rig.records()["req-record"]["record_incomplete"] is True
    assert_books_balance(rig)


def test_a_failed_settlement_never_releases_the_hold_and_logs_the_record() -> None:
    # Given the budget store fails at settlement
    rig = service_rig(policy(), {"m1": [answer()]})
    rig.ledger.fail_settle = True
    # When a request is answered
    outcome = rig.service.chat("t1", body(), "req-settle")
    # Then the answer is returned, the hold is not released uncharged, and the record (with its cost)
    # is logged
    assert outcome.closed.settled is False
    assert rig.ledger.released == []
    ((record, reason),) = rig.telemetry.named("settlement_failed")
    assert record["cost_usd"] == pytest.approx(outcome.result.cost_usd)
    assert "settlement" in reason


# --- items 5 and 6: budgets that hold -------------------------------------------------------------


def test_max_tokens_sent_is_clamped_to_what_the_reservation_still_covers() -> None:
    # Given a model that fails retryably once then answers, each call costing close to its worst case
    rig = service_rig(policy(), {"m1": [ProviderServerError("boom"), answer(usage=Usage(10, 900))]})
    # When a request with max_tokens 1000 runs
    outcome = rig.service.chat("t1", body(max_tokens=1_000), "req-clamp")
    # Then every call was sent a max_tokens whose worst case fit what was left of the hold
    sent = [call.max_output_tokens for call in rig.provider.calls]
    assert sent[0] == 1_000
    assert all(tokens <= 1_000 for tokens in sent)
    assert outcome.closed.cost_usd <= outcome.reserved_usd
    assert_books_balance(rig)


def test_an_answer_past_the_clamp_is_charged_as_overage() -> None:
    # Given a provider that ignores max_tokens and bills 10x the answer length
    rig = service_rig(policy(budget_reserve_calls=1), {"m1": [answer(usage=Usage(10, 10_000))]})
    # When a request runs
    outcome = rig.service.chat("t1", body(max_tokens=1_000), "req-over")
    # Then the whole cost is charged, the excess is on the record and counted by a metric
    assert outcome.closed.overage_usd == pytest.approx(outcome.closed.cost_usd - outcome.reserved_usd)
    assert rig.records()["req-over"]["overage_usd"] == pytest.approx(outcome.closed.overage_usd)
    assert rig.telemetry.named("budget_overage")
    assert_books_balance(rig)


def test_an_answer_without_usage_is_charged_from_the_routers_estimate() -> None:
    # Given a provider that reports no usage at all
    rig = service_rig(policy(), {"m1": [answer("a fairly long answer " * 20, usage=Usage())]})
    # When a request runs
    outcome = rig.service.chat("t1", body("count the words in this sentence"), "req-nousage")
    # Then it is charged a non-zero estimate, flagged on the attempt and the record
    (attempt,) = outcome.result.attempts
    assert attempt.usage_estimated
    assert attempt.cost_usd > 0
    assert attempt.output_tokens > 0
    assert rig.records()["req-nousage"]["usage_estimated"] is True
    assert_books_balance(rig)


def test_a_new_tenant_without_max_tokens_is_served_on_a_route_with_default_max_tokens() -> None:
    # Given a small budget ($0.01) and big models (1,000 output tokens at $2/M, reserved twice)
    tight = policy({"limits": {"default_max_tokens": 300}}, budget=0.003)
    rig = service_rig(tight, {"m1": [answer()], "m2": [answer()], "m3": [answer()]}, limits={"t1": 0.003})
    # When its first request sets no max_tokens
    outcome = rig.service.chat("t1", body(), "req-first")
    # Then it is admitted with the route's default sent to the model
    assert rig.provider.calls[0].max_output_tokens == 300
    assert outcome.reserved_usd <= 0.003


def test_a_429_says_which_max_tokens_would_fit_and_that_value_is_admitted() -> None:
    # Given a budget too small for the default answer length
    rig = service_rig(policy(budget=0.002), {"m1": [answer()], "m2": [answer()], "m3": [answer()]},
                      limits={"t1": 0.002})  # fmt: skip
    # When a request without max_tokens is refused
    with pytest.raises(BudgetExhaustedError) as refused:
        rig.service.chat("t1", body(), "req-big")
    hint = refused.value.max_tokens_hint
    assert hint is not None
    assert f"set max_tokens ≤ {hint}" in refused.value.message
    assert hint >= 1
    # Then the suggested max_tokens is admitted, and the refusal was audited
    rig.service.chat("t1", body(max_tokens=hint), "req-fits")
    assert rig.records()["req-big"]["outcome"] == "refused"
    assert rig.records()["req-big"]["error_code"] == "budget_exhausted"


# --- item 11: every candidate cooling down is a 503 with Retry-After --------------------------------


def test_every_candidate_cooling_down_is_a_503_with_the_soonest_reopening() -> None:
    # Given all three models' breakers open, m3's 10 s later than the others
    rig = service_rig(policy(), {"m1": [answer()], "m2": [answer()], "m3": [answer()]})
    trip(rig, "m3")
    rig.clock.advance(10)
    trip(rig, "m1")
    trip(rig, "m2")
    # When a request arrives
    with pytest.raises(ModelsCoolingDownError) as caught:
        rig.service.chat("t1", body(), "req-cool")
    # Then it is told to come back when m3 may be probed (30 s pause - 10 s)
    assert caught.value.retry_after_s == pytest.approx(20)
    assert caught.value.http_status == 503
    assert rig.records()["req-cool"]["outcome"] == "refused"


def test_a_cooling_model_that_could_not_serve_anyway_stays_a_422() -> None:
    # Given a route whose only model is cooling down, and a prompt larger than its window
    rig = service_rig(policy({"models": ["m1"]}), {"m1": [answer()]})
    trip(rig, "m1")
    # When the request arrives
    with pytest.raises(NoEligibleModelError) as caught:
        rig.service.chat("t1", body("word " * 30_000), "req-big-prompt")
    # Then waiting would not help: 422, not 503
    assert not isinstance(caught.value, ModelsCoolingDownError)
    assert caught.value.http_status == 422


# --- item 12: refusals leave a provenance record ----------------------------------------------------


def test_403_422_and_429_decisions_each_leave_one_refused_record() -> None:
    rig = service_rig(policy(budget=0.0001), {"m1": [answer()]}, limits={"t1": 0.0001})
    # Given an unknown tenant (403), a card number for an internal-only tenant (403), a budget refusal (429)
    for tenant, text, request_id in [
        ("nosuch", "hello", "req-403-tenant"),
        ("internal-only", "my card is 4111 1111 1111 1111", "req-403-pii"),
        ("t1", "hello", "req-429"),
    ]:
        with pytest.raises((RequestDeniedError, NoEligibleModelError, BudgetExhaustedError)):
            rig.service.chat(tenant, body(text), request_id)
    # Then each left exactly one record, refused, at zero cost, with its reason and no prompt text
    records = rig.records()
    for request_id in ("req-403-tenant", "req-403-pii", "req-429"):
        record = records[request_id]
        assert (record["outcome"], record["cost_usd"], record["attempts"]) == ("refused", 0.0, [])
        assert record["error_code"]
        assert record["reason"]
        assert "4111" not in json.dumps(record)
    assert rig.provider.calls == []


def test_a_reservation_counts_images_and_the_repair_turn() -> None:
    # Given a JSON-schema route that repairs once, and a request with and without an image
    from modelrouter.execution.spending import REPAIR_TURN_TOKENS, reserve_amount
    from modelrouter.features import extract_features
    from modelrouter.features.tokens import IMAGE_TOKENS
    from modelrouter.request import parse_chat_request
    from modelrouter.selection import RequestContext, decide

    schema = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
    fields = {
        "max_tokens": 100,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    plain = parse_chat_request({"messages": [{"role": "user", "content": "read it"}], **fields})
    pictured = parse_chat_request(
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "read it"}, image]}], **fields}
    )
    active = policy({"models": ["m1"]})

    def reserved(request: Any) -> float:
        decision = decide(active, request, RequestContext("r", "t1"), features=extract_features(request))
        return reserve_amount(decision, active)

    # When each is reserved for (two calls, the second carrying the rejected answer and the feedback)
    prompt = extract_features(plain).prompt_tokens
    # Then the second call's prompt includes the repair turn, priced at $1/M in and $2/M out
    expected = (prompt * 1 + 100 * 2 + (prompt + 100 + REPAIR_TURN_TOKENS) * 1 + 100 * 2) / 1e6
    assert reserved(plain) == pytest.approx(expected)
    # and an image adds its worst-case tokens to both calls
    assert reserved(pictured) - reserved(plain) == pytest.approx(2 * IMAGE_TOKENS / 1e6, rel=0.01)


@pytest.mark.parametrize("policy_file", ["policies/local.yaml", "policies/example.yaml"])
def test_every_tenant_of_the_shipped_policies_can_afford_its_first_plain_request(policy_file: str) -> None:
    # Given a shipped policy, and each tenant's first request with no max_tokens
    from modelrouter.execution.spending import reserve_amount
    from modelrouter.features import extract_features
    from modelrouter.policy import load_policy_file
    from modelrouter.request import parse_chat_request
    from modelrouter.selection import RequestContext, decide

    shipped = load_policy_file(policy_file).policy
    question = {"messages": [{"role": "user", "content": "How do I reset my password?"}]}
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    structured = {
        **question,
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    }
    for tenant in shipped.tenants:
        # When it is decided and sized (as JSON for tenants whose routes answer only JSON)
        context = RequestContext.from_metadata("first", tenant.id, None)
        default = shipped.route_by_name.get(tenant.default_route or "")
        answers_json = default is not None and default.limits.output_format is not None
        request = parse_chat_request(structured if answers_json else question)
        decision = decide(shipped, request, context, features=extract_features(request))
        # Then what it reserves fits the tenant's smallest limit (the default max_tokens applies)
        limits = [v for v in (tenant.budget.daily_usd, tenant.budget.monthly_usd) if v is not None]
        assert reserve_amount(decision, shipped) <= min(limits), tenant.id
