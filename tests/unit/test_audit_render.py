"""Provenance records as text (audit.render) and a listing's totals (audit.listing): every part of a record
shown, hostile values escaped, missing fields shown as ``-``, totals that add the rows up."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.audit.listing import checks_summary, percentile, totals
from modelrouter.audit.render import clean, render_listing, render_record
from modelrouter.outcome_cost import cost_per_successful_outcome

ESCAPE = "\x1b[2J\x1b]0;owned\x07"
"""A terminal escape sequence (clear the screen, set the title) a hostile value could carry."""


def record(**fields: Any) -> dict[str, Any]:
    """A record with the fields audit shows, as the router writes them."""
    base: dict[str, Any] = {
        "tenant_id": "acme",
        "request_id": "r1",
        "created_at": "2025-01-31T23:59:59.999+00:00",
        "sort_key": "2025-01-31T23:59:59.999+00:00#r1",
        "policy": {"name": "example", "version": "v7"},
        "route": "support-faq",
        "matched_by": "when",
        "strategy": "fallback",
        "classification": "internal",
        "features": {
            "language": "en",
            "difficulty": 0.2,
            "prompt_tokens": 40,
            "messages": 1,
            "pii_kinds": [],
        },
        "candidates": [
            {
                "model": "m1",
                "provider": "bedrock",
                "source": "listed",
                "max_output_tokens": 500,
                "estimated_cost_usd": 0.0001,
                "max_cost_usd": 0.001,
            },
            {
                "model": "m2",
                "provider": "openai",
                "source": "listed",
                "max_output_tokens": 500,
                "estimated_cost_usd": 0.0002,
                "max_cost_usd": 0.002,
            },
        ],
        "exclusions": [{"model": "m3", "reason": "cooling_down", "detail": "circuit open for 12 s"}],
        "attempts": [
            {
                "number": 1,
                "model": "m1",
                "outcome": "error",
                "error_code": "server_error",
                "duration_ms": 12.5,
                "cost_usd": 0.0,
                "input_tokens": 0,
                "output_tokens": 0,
                "max_tokens_sent": 500,
            },
            {
                "number": 2,
                "model": "m2",
                "outcome": "success",
                "error_code": None,
                "duration_ms": 80.0,
                "cost_usd": 0.00015,
                "input_tokens": 40,
                "output_tokens": 12,
                "max_tokens_sent": 500,
            },
        ],
        "checks": [
            {"name": "json_schema", "passed": True, "action": "accept", "detail": "valid", "rule": None}
        ],
        "outcome": "success",
        "error_code": None,
        "model": "m2",
        "chosen_model": "m1",
        "propensity": 1.0,
        "cost_usd": 0.00015,
        "reserved_usd": 0.002,
        "latency_ms": 95.25,
        "feedback": {"thumbs": "up", "score": None, "at": "2025-02-01T09:00:00.000+00:00"},
        "reward": {"value": 1.0, "source": "feedback"},
        "notes": ["m3 cools down until 12:00:12"],
    }
    base.update(fields)
    return base


def test_a_record_shows_decision_candidates_exclusions_attempts_checks_cost_latency_and_feedback() -> None:
    # Given a fallback record (m1 failed, m2 answered) with feedback
    # When it is rendered
    text = render_record(record())
    # Then each part is there: the route and how it matched, the candidates in order, why m3 was left out,
    # both attempts, the check, the cost, latency and the feedback
    assert "support-faq (matched by when, strategy fallback)" in text
    candidates = text.split("candidates (in order):", 1)[1].split("left out:", 1)[0]
    assert candidates.index(" m1 ") < candidates.index(" m2 ")
    assert "cooling_down  circuit open for 12 s" in text
    attempts = text.split("attempts:", 1)[1].split("checks of the answer:", 1)[0]
    assert "server_error" in attempts
    assert "success" in attempts
    assert "json_schema" in text.split("checks of the answer:", 1)[1]
    assert "answered by m2" in text
    assert "$0.00015" in text
    assert "95.2 ms" in text
    assert "thumbs up" in text
    assert "reward 1.0 from feedback" in text
    assert "m3 cools down" in text


def test_a_refusal_and_an_incomplete_record_render_with_dashes() -> None:
    # Given a refusal (no attempts, no model) and a minimal record (most fields missing)
    refusal = {
        "tenant_id": "acme",
        "request_id": "r2",
        "outcome": "refused",
        "error_code": "no_route",
        "reason": "no route matches",
        "attempts": [],
        "cost_usd": 0.0,
    }
    minimal = {"request_id": "r3", "record_incomplete": True, "attempts": [{"model": "m1"}], "policy": "odd"}
    # When they are rendered
    refused, incomplete = render_record(refusal), render_record(minimal)
    # Then they say what they are, and what is absent shows as "-"
    assert "refused: no_route" in refused
    assert "no route matches" in refused
    assert "attempts:\n  none" in refused
    assert "minimal form" in incomplete
    assert "policy          - @ -" in incomplete


@pytest.mark.parametrize("field", ["request_id", "route", "model", "error_code", "reason", "outcome"])
def test_hostile_values_never_reach_the_terminal_unescaped(field: str) -> None:
    # Given a record whose field carries a terminal escape sequence
    hostile = record(**{"outcome": "error", field: ESCAPE})
    # When it is rendered, whole and as a listing row
    text = render_record(hostile) + render_listing([hostile], totals([hostile]), truncated=False)
    # Then no control character is printed; the sequence shows escaped
    assert all(char.isprintable() or char == "\n" for char in text)
    assert "\\x1b[2J" in text


@given(st.text())
def test_clean_is_printable_and_leaves_printable_text_alone(text: str) -> None:
    # Given any text / When cleaned / Then the result is printable, and unchanged if it already was
    cleaned = clean(text)
    assert cleaned.isprintable()
    assert cleaned == text or not text.isprintable()


def test_totals_add_the_listed_records_up() -> None:
    # Given a success rated down, a success, an error with a cost and a refusal
    records = [
        record(request_id="a", cost_usd=0.5, latency_ms=100.0, feedback={"thumbs": "down"}),
        record(request_id="b", cost_usd=0.25, latency_ms=300.0, feedback=None),
        record(request_id="c", outcome="error", error_code="timeout", cost_usd=0.125, latency_ms=200.0),
        record(request_id="d", outcome="refused", cost_usd=0.0, latency_ms=None),
    ]
    # When totalled
    summary = totals(records)
    # Then outcomes are counted, cost summed, and cost per successful outcome is outcome_cost's
    assert summary.outcomes == {"success": 2, "error": 1, "refused": 1}
    assert (summary.cost_usd, summary.successful_outcomes) == cost_per_successful_outcome(records)[:2]
    assert summary.cost_per_successful_outcome_usd == cost_per_successful_outcome(records)[2]
    # And latency percentiles are by nearest rank over the records that have one
    assert (summary.latency_p50_ms, summary.latency_p99_ms) == (200.0, 300.0)


def test_an_empty_listing_says_so() -> None:
    # Given no records / When listed / Then it says so, with zero totals and no percentiles
    text = render_listing([], totals([]), truncated=False)
    assert text.startswith("no records")
    assert "0 records: 0 success, 0 error, 0 refused" in text
    assert "p50 -" in text


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1), st.floats(min_value=0.01, max_value=1))
def test_percentile_is_a_listed_value_with_that_share_at_or_below_it(
    values: list[float], share: float
) -> None:
    # Given latencies and a share / When the nearest-rank percentile is taken
    found = percentile(values, share)
    # Then it is one of them, and at least that share of them is at or below it
    assert found in values
    assert sum(value <= found for value in values) >= share * len(values)


def test_checks_summary() -> None:
    # Given no checks, passing checks, and a failed one / Then each is summed up in a few words
    assert checks_summary(None) == "-"
    assert checks_summary([{"name": "a", "passed": True}, {"name": "b", "passed": True}]) == "2 passed"
    assert checks_summary([{"name": "a", "passed": True}, {"name": "pii", "passed": False}]) == "failed: pii"
