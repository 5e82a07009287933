"""The local console's breaker view with the shared breakers read from the HealthTable
(local.console_state.shared_breakers): the shared state decides whether a model is cooling."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.test_console_state import COOLDOWN, NOW, record

from modelrouter.health.items import SharedState, epoch_ms
from modelrouter.local.console_state import SHARED_BREAKER_SOURCE, breaker_view, shared_breakers

NOW_MS = epoch_ms(NOW.timestamp())


def test_each_shared_state_is_named_with_when_it_reopens() -> None:
    # Given one model per shared state at NOW
    states = [
        SharedState("open", open_until=NOW_MS + 12_000, opened_at=NOW_MS - 18_000),
        SharedState("probing", open_until=NOW_MS - 1_000, probe_by="c1:1", probe_until=NOW_MS + 9_000),
        SharedState("half", open_until=NOW_MS - 1_000),
        SharedState("closed", gen=2),
    ]
    # When the console reads them
    rows = shared_breakers(states, NOW)
    # Then each has its state, and an open one says until when
    assert {model: row["state"] for model, row in rows.items()} == {
        "open": "open",
        "probing": "probing",
        "half": "half_open",
        "closed": "closed",
    }
    assert rows["open"]["open_until"] == (NOW + timedelta(seconds=12)).isoformat()
    assert rows["closed"]["open_until"] is None


def test_the_shared_breaker_decides_whether_a_model_is_cooling() -> None:
    # Given "small" answering in the recent records, but its shared breaker open; "large" closed
    shared = shared_breakers([SharedState("small", open_until=NOW_MS + 5_000), SharedState("large")], NOW)
    records = [record(1, model="small"), record(2, model="large")]
    # When the breaker view is built with the shared states
    view = breaker_view(records, ["small", "large"], COOLDOWN, NOW, shared)
    # Then "small" is cooling (everywhere), "large" closed, and the view says where this comes from
    rows = {row["model"]: row for row in view["models"]}
    assert rows["small"]["state"] == "cooling"
    assert "every container" in rows["small"]["detail"]
    assert rows["large"]["state"] == "closed"
    assert rows["small"]["shared"]["state"] == "open"
    assert view["source"] == SHARED_BREAKER_SOURCE
