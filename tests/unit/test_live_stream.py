"""Live streams through the real service and streamed execution, on fakes (issue 9).

Tokens go out as they arrive; before the first token a failure falls back invisibly, after it the
stream ends as a recorded failure; a client that goes away stops the call and is charged for what was
generated; every stream closes its request exactly once.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fakes import HANG, Streamed, answer
from tests.helpers import minimal_policy, policy_from
from tests.service_fakes import ServiceRig, service_rig
from tests.unit.test_attempt_lifecycle import assert_books_balance, body, policy

from modelrouter.errors import ModelRouterError, PolicyError
from modelrouter.execution.records import AllCandidatesFailedError
from modelrouter.execution.streaming import StreamDelta
from modelrouter.live import LiveChat, LiveEnd
from modelrouter.providers.errors import ProviderServerError, RateLimitedError
from modelrouter.providers.types import ToolCallDelta, Usage
from modelrouter.service import ChatOutcome

MODELS = ("m1", "m2", "m3")


def _rig(
    scripts: dict[str, list[Any]], route: dict[str, Any] | None = None, budget: float = 10.0
) -> ServiceRig:
    route_fields = {"limits": {"latency_budget_ms": 20_000}, **(route or {})}
    return service_rig(policy(route_fields, budget=budget), scripts)


def _primary(step: Any) -> dict[str, list[Any]]:
    """m1 follows ``step``; m2 and m3 answer."""
    return {"m1": [step], "m2": [answer()], "m3": [answer()]}


def _open(rig: ServiceRig, request_id: str = "req-1", **fields: Any) -> LiveChat:
    live = rig.service.respond("t1", body(stream=True, **fields), request_id)
    assert isinstance(live, LiveChat)
    return live


def _drain(live: LiveChat) -> tuple[list[StreamDelta], LiveEnd]:
    deltas: list[StreamDelta] = []
    for item in live.items:
        if isinstance(item, LiveEnd):
            return deltas, item
        deltas.append(item)
    raise AssertionError("the stream ended without a LiveEnd")


def test_a_stream_forwards_every_piece_and_closes_the_request_once() -> None:
    # Given a route without text checks and a model that streams four pieces
    rig = _rig(_primary(Streamed()))
    # When the stream is read to its end
    live = _open(rig)
    deltas, end = _drain(live)
    # Then every piece arrived, in order, and the ending is a clean one
    assert "".join(d.text for d in deltas) == "Hello, world."
    assert [d.text for d in deltas] == ["Hello", ", ", "world", "."]
    assert end.finish.end == "complete"
    assert end.finish.finish_reason == "stop"
    # and the request has one record, charged from the reported usage, with the stream's figures
    record = rig.records()["req-1"]
    assert record["outcome"] == "success"
    assert record["model"] == "m1"
    assert record["streaming"]["mode"] == "incremental"
    assert record["streaming"]["chunks"] == 4
    assert record["streaming"]["end"] == "complete"
    assert record["streaming"]["first_token_ms"] is not None
    assert record["attempts"][0]["first_token_ms"] is not None
    assert record["usage_estimated"] is False
    assert record["cost_usd"] == pytest.approx((100 * 1 + 20 * 2) / 1e6)
    assert_books_balance(rig)
    # and telemetry heard of the stream's end once
    [(_, model, figures)] = rig.telemetry.named("stream_ended")
    assert model == "m1"
    assert figures["end"] == "complete"


def test_a_failure_before_the_first_token_falls_back_invisibly() -> None:
    # Given a primary that fails before sending anything, and a healthy second model
    rig = _rig({**_primary(ProviderServerError("boom")), "m2": [Streamed(pieces=("from ", "m2"))]})
    # When the client streams
    deltas, end = _drain(_open(rig))
    # Then it sees only the second model's answer
    assert "".join(d.text for d in deltas) == "from m2"
    assert {d.model for d in deltas} == {"m2"}
    assert end.finish.end == "complete"
    record = rig.records()["req-1"]
    assert [a["outcome"] for a in record["attempts"]][-1] == "success"
    assert record["attempts"][0]["model"] == "m1"
    assert record["attempts"][0]["outcome"] == "error"
    assert_books_balance(rig)


def test_a_stall_before_the_first_byte_falls_back() -> None:
    # Given a primary that never sends a byte
    rig = _rig({"m1": [HANG], "m2": [Streamed(pieces=("ok",))], "m3": [answer()]})
    # When the client streams
    deltas, _ = _drain(_open(rig))
    # Then the second model answers, and the hung one is recorded as a timeout
    assert deltas[0].model == "m2"
    assert rig.records()["req-1"]["attempts"][0]["error_code"] == "timeout"


def test_a_failure_after_the_first_token_ends_the_stream_as_a_failure() -> None:
    # Given a primary that breaks after two pieces
    broken = Streamed(error=ProviderServerError("connection reset"), fail_after=2)
    rig = _rig(_primary(broken))
    # When the client streams
    deltas, end = _drain(_open(rig))
    # Then it got the two pieces and an ending that says the provider failed, with no fallback
    assert [d.text for d in deltas] == ["Hello", ", "]
    assert end.finish.end == "provider_error"
    assert end.finish.finish_reason == "error"
    assert rig.provider.calls_to("m2") == 0
    # and the record says failure, charged from the router's own count of what was generated
    record = rig.records()["req-1"]
    assert record["outcome"] == "error"
    assert record["error_code"] == "server_error"
    assert record["streaming"]["end"] == "provider_error"
    attempt = record["attempts"][0]
    assert attempt["outcome"] == "error"
    assert attempt["usage_estimated"] is True
    assert attempt["output_tokens"] >= 1
    assert record["cost_usd"] > 0
    assert_books_balance(rig)


def test_a_client_that_goes_away_stops_the_call_and_pays_for_what_was_generated() -> None:
    # Given a long stream
    rig = _rig(_primary(Streamed(pieces=tuple(f"word{i} " for i in range(50)))))
    live = _open(rig)
    # When the client reads two pieces and disconnects
    iterator = iter(live.items)
    next(iterator)
    next(iterator)
    live.close()
    # Then the provider's stream was closed at once
    assert rig.provider.closed_streams == ["m1"]
    # and the request is closed once: cancelled attempt, estimated usage, hold settled
    record = rig.records()["req-1"]
    assert record["streaming"]["end"] == "client_disconnected"
    assert record["error_code"] == "client_disconnected"
    attempt = record["attempts"][0]
    assert attempt["outcome"] == "cancelled"
    assert attempt["usage_estimated"] is True
    assert 1 <= attempt["output_tokens"] < 50 * 2
    assert record["cost_usd"] > 0
    assert_books_balance(rig)
    # and the breaker was not left holding a probe
    assert rig.breakers.allow("m1")


def test_closing_before_reading_anything_still_closes_the_request_once() -> None:
    # Given an opened stream whose first piece is already produced
    rig = _rig(_primary(Streamed()))
    live = _open(rig)
    # When the client goes away before reading
    live.close()
    live.close()  # twice is harmless
    # Then one record, settled
    assert list(rig.records()) == ["req-1"]
    assert_books_balance(rig)


def test_when_every_candidate_fails_before_a_token_the_client_gets_an_error_not_a_stream() -> None:
    # Given three models that all fail before sending anything
    rig = _rig({m: [RateLimitedError("slow down", retry_after_s=300)] for m in MODELS})
    # When the client asks for a stream
    # Then the service raises (the API answers an ordinary HTTP error) and the request is recorded
    with pytest.raises(AllCandidatesFailedError):
        rig.service.respond("t1", body(stream=True), "req-1")
    assert rig.records()["req-1"]["outcome"] == "error"
    assert_books_balance(rig)


def test_tool_call_fragments_stream_through() -> None:
    # Given a model that streams a tool call in fragments
    calls = (
        ToolCallDelta(0, "call_1", "lookup", ""),
        ToolCallDelta(0, None, None, '{"q": '),
        ToolCallDelta(0, None, None, '"x"}'),
    )
    rig = _rig({"m1": [Streamed(pieces=(), tool_calls=calls, finish_reason="tool_calls")], "m2": [answer()],
                "m3": [answer()]})  # fmt: skip
    # When streamed
    deltas, end = _drain(_open(rig))
    # Then the fragments arrive as tool call deltas and the finish assembles them
    assert [d.tool_call for d in deltas] == list(calls)
    assert end.finish.finish_reason == "tool_calls"
    assert end.finish.answer.tool_calls[0].arguments == '{"q": "x"}'
    assert end.finish.answer.tool_calls[0].name == "lookup"


def test_validated_routes_and_json_requests_are_answered_whole() -> None:
    # Given a route in validated mode, and a JSON-schema request on an incremental route
    validated = _rig({m: [answer()] for m in MODELS}, route={"streaming": "validated"})
    incremental = _rig({m: [answer('{"x": 1}')] for m in MODELS})
    schema = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
    json_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    # When both stream
    first = validated.service.respond("t1", body(stream=True), "req-1")
    second = incremental.service.respond("t1", body(stream=True, response_format=json_format), "req-2")
    # Then both are checked whole (a ChatOutcome rendered as events by the API)
    assert isinstance(first, ChatOutcome)
    assert isinstance(second, ChatOutcome)


def test_a_provider_without_usage_is_charged_from_the_router_count() -> None:
    # Given a stream whose provider never reports usage
    rig = _rig(_primary(Streamed(usage=None)))
    # When streamed to the end
    _drain(_open(rig))
    # Then the success is charged from the router's estimate, flagged
    record = rig.records()["req-1"]
    assert record["outcome"] == "success"
    assert record["usage_estimated"] is True
    assert record["cost_usd"] > 0


STREAM_STEPS = st.sampled_from(
    ["ok", "no_usage", "fail_early", "fail_late", "rate_limited", "hang", "no_end"]
)


def _stream_step(kind: str) -> Any:
    return {
        "ok": Streamed(),
        "no_usage": Streamed(usage=None),
        "fail_early": Streamed(error=ProviderServerError("reset"), fail_after=0),
        "fail_late": Streamed(error=ProviderServerError("reset"), fail_after=3),
        "rate_limited": RateLimitedError("slow down", retry_after_s=0.5),
        "hang": HANG,
        "no_end": Streamed(terminal=False),
    }[kind]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests=st.lists(
        st.tuples(
            st.fixed_dictionaries(dict.fromkeys(MODELS, st.lists(STREAM_STEPS, min_size=1, max_size=3))),
            st.one_of(st.none(), st.integers(0, 6)),
        ),
        min_size=1,
        max_size=8,
    ),
    budget=st.sampled_from([0.0005, 10.0]),
)
def test_random_stream_faults_and_disconnects_never_break_the_books(
    requests: list[tuple[dict[str, list[str]], int | None]], budget: float
) -> None:
    # Given a service on fakes with a budget
    rig = _rig({m: [Streamed()] for m in MODELS}, budget=budget)
    ids = []
    # When streams run against random provider behaviour, and some clients leave after a few items
    for number, (scripts, leave_after) in enumerate(requests):
        rig.provider.scripts = {m: [_stream_step(kind) for kind in steps] for m, steps in scripts.items()}
        request_id = f"req-{number}"
        ids.append(request_id)
        with contextlib.suppress(ModelRouterError):
            live = _open(rig, request_id)
            for count, _ in enumerate(live.items):
                if leave_after is not None and count >= leave_after:
                    live.close()
                    break
        rig.clock.advance(1)
    # Then one record per request, no open holds, ledger = Σ attempts = Σ records
    records = rig.records()
    assert sorted(records) == sorted(ids)
    assert not rig.ledger.holds
    for request_id, record in records.items():
        assert record["cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in record["attempts"]), abs=1e-12)
        if request_id in rig.ledger.ledger:
            assert float(rig.ledger.ledger[request_id]) == pytest.approx(record["cost_usd"], abs=1e-9)
    total = sum(rig.ledger.ledger.values(), Decimal(0))
    assert float(total) == pytest.approx(sum(r["cost_usd"] for r in records.values()), abs=1e-8)
    # and no breaker is left with a probe taken: after the pause every model serves again
    rig.clock.advance(rig.service.executor(policy()).breakers._cooldown.pause_s + 1)
    assert all(rig.breakers.allow(m) for m in MODELS)
    assert json.dumps(records)  # records stay plain JSON


def test_usage_is_what_the_provider_reported_when_it_did() -> None:
    # Given a stream with reported usage
    rig = _rig(_primary(Streamed(usage=Usage(input_tokens=7, output_tokens=3))))
    # When streamed
    _, end = _drain(_open(rig))
    # Then the finish carries it
    assert end.finish.answer.usage == Usage(input_tokens=7, output_tokens=3)


def _guarded(scripts: dict[str, list[Any]], on_failure: str = "escalate", pii: str = "allow") -> ServiceRig:
    checks = {"guardrails": {"blocked_terms": ["forbidden"], "pii": pii, "on_failure": on_failure}}
    return _rig(scripts, route={"checks": checks})


def test_a_blocked_term_after_the_first_token_cuts_the_stream_with_content_filter() -> None:
    # Given a guarded route and a model whose answer turns bad after a while
    pieces = ("This is a long and harmless opening sentence. ", "Then the for", "bidden word.")
    rig = _guarded(_primary(Streamed(pieces=pieces)))
    # When streamed
    deltas, end = _drain(_open(rig))
    # Then the harmless part was sent, not a letter of the term, and the stream ends as content_filter
    sent = "".join(d.text for d in deltas)
    assert sent.startswith("This is a long")
    assert "forb" not in sent
    assert end.finish.end == "content_filter"
    assert end.finish.finish_reason == "content_filter"
    record = rig.records()["req-1"]
    assert record["outcome"] == "error"
    assert record["error_code"] == "content_filtered"
    assert record["attempts"][0]["outcome"] == "check_failed"
    assert rig.provider.calls_to("m2") == 0


def test_a_block_while_the_text_is_still_held_back_escalates_invisibly() -> None:
    # Given a guarded route whose primary answers with the term at once
    rig = _guarded({**_primary(Streamed(pieces=("forbidden",))), "m2": [Streamed(pieces=("clean answer",))]})
    # When streamed
    deltas, end = _drain(_open(rig))
    # Then the client only sees the second model's answer
    assert "".join(d.text for d in deltas) == "clean answer"
    assert end.finish.model == "m2"
    assert rig.records()["req-1"]["attempts"][0]["checks"][0]["action"] == "escalate"


def test_a_block_before_the_first_token_on_a_failing_route_is_an_http_error() -> None:
    # Given a route whose guardrails fail the request
    rig = _guarded(_primary(Streamed(pieces=("forbidden",))), on_failure="fail")
    # When streamed, Then the request fails before any token (an ordinary HTTP error)
    with pytest.raises(ModelRouterError) as raised:
        rig.service.respond("t1", body(stream=True), "req-1")
    assert raised.value.code == "answer_rejected"
    assert_books_balance(rig)


def test_personal_data_split_across_pieces_is_redacted_in_flight() -> None:
    # Given a guarded route and a card number streamed in three pieces
    pieces = ("Your card 4111 11", "11 1111 ", "1111 is on file. Thanks for asking today.")
    rig = _guarded(_primary(Streamed(pieces=pieces)), pii="redact")
    # When streamed
    deltas, end = _drain(_open(rig))
    # Then no digit of it left the router, and the redaction marker did
    sent = "".join(d.text for d in deltas)
    assert "4111" not in sent
    assert "[REDACTED:" in sent
    assert sent.endswith("Thanks for asking today.")
    assert end.finish.end == "complete"


@pytest.mark.parametrize(
    ("guardrails", "named"),
    [
        ({"require_citation": r"\[\d+\]"}, "require_citation"),
        ({"blocked_patterns": ["secret.*"]}, "unbounded"),
    ],
)
def test_a_route_that_asks_to_stream_incrementally_with_whole_answer_checks_is_refused(
    guardrails: dict[str, Any], named: str
) -> None:
    # Given a route that streams incrementally but has a check that needs the whole answer
    document = minimal_policy()
    document["routes"][0].update({"streaming": "incremental", "checks": {"guardrails": guardrails}})
    # When the policy loads, Then it is refused, naming the route's field and the check
    with pytest.raises(PolicyError) as raised:
        policy_from(document)
    assert "streaming" in str(raised.value)
    assert named in str(raised.value)


def test_auto_streaming_with_whole_answer_checks_is_validated() -> None:
    # Given an auto route with a citation requirement
    rig = _rig(
        {m: [answer("see [1]")] for m in MODELS},
        route={"checks": {"guardrails": {"require_citation": r"\[\d+\]"}}},
    )
    # When a client streams, Then the answer is checked whole
    assert isinstance(rig.service.respond("t1", body(stream=True), "req-1"), ChatOutcome)


@pytest.mark.parametrize("fail_after", [0, 2])
def test_an_adapter_bug_mid_stream_is_charged_recorded_and_releases_its_permit(fail_after: int) -> None:
    # Given an adapter that raises something that is not a provider error, before or after a token
    crash = Streamed(error=RuntimeError("adapter bug"), fail_after=fail_after)  # type: ignore[arg-type]
    rig = _rig(_primary(crash))
    # When a client streams, Then the failure surfaces (a 500 before a token, a broken stream after)
    with pytest.raises(ModelRouterError) as raised:
        _drain(_open(rig))
    assert raised.value.code == "internal_error"
    # and the call was charged from the router's estimate and recorded once, the hold settled
    record = rig.records()["req-1"]
    assert record["outcome"] == "error"
    assert record["attempts"][0]["usage_estimated"] is True
    assert record["cost_usd"] > 0
    assert_books_balance(rig)
    # and no probe is left taken
    assert rig.breakers.allow("m1")
