"""The demo's expectations: a scenario whose answer does not show what it is there to show is reported."""

from __future__ import annotations

from typing import Any

from modelrouter.local.demo_scenarios import USE_CASES, Scenario, unmet

BORDERLINE = next(scenario for scenario in USE_CASES if scenario.request == "fraud-borderline")


def answer(
    route: str, model: str, attempts: list[dict[str, Any]], checks: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"router": {"route": route, "model": model, "attempts": attempts, "checks": checks}}


ESCALATED = answer(
    "fraud-triage",
    "local-large-restricted",
    [
        {"model": "local-small-onprem", "outcome": "check_failed", "error_code": None, "rule": "borderline"},
        {"model": "local-large-restricted", "outcome": "success", "error_code": None},
    ],
    [{"name": "rules", "passed": True, "action": "accept"}],
)


def test_an_answer_that_shows_the_scenario_has_nothing_unmet() -> None:
    assert unmet(BORDERLINE, ESCALATED) == []


def test_each_expectation_is_checked() -> None:
    # Given answers that differ from the borderline scenario in one respect each
    first_pass_only = answer(
        "fraud-triage",
        "local-small-onprem",
        [{"model": "local-small-onprem", "outcome": "success", "error_code": None}],
        [{"name": "rules", "passed": True, "action": "accept", "rule": "clear"}],
    )
    other_route = {"router": {**ESCALATED["router"], "route": "general"}}
    refused = {"status": 403, "error": {"code": "classification_not_allowed"}}
    # Then each is reported, naming what is missing
    assert unmet(BORDERLINE, first_pass_only) == [
        "answered by local-small-onprem, not local-large-restricted",
        "attempts local-small-onprem success, not "
        "local-small-onprem check_failed → local-large-restricted success",
        "rule borderline did not fire (fired: ['clear'])",
    ]
    assert unmet(BORDERLINE, other_route) == ["route general, not fraud-triage"]
    assert unmet(BORDERLINE, refused) == ["refused with 403 classification_not_allowed"]
    assert unmet(Scenario("anything", "t", "r"), refused) == ["refused with 403 classification_not_allowed"]
