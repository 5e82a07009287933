"""Every problem of a policy in one run: schema and cross-reference errors together, in document order,
each with the closest valid name where one is close."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from tests.helpers import minimal_policy, model_entry

from modelrouter.errors import PolicyError
from modelrouter.policy import parse_policy
from modelrouter.policy.routes import Route
from modelrouter.problems import Problem
from modelrouter.suggest import closest


def problems_of(document: dict[str, Any], *, as_json: bool = False) -> list[Problem]:
    text = json.dumps(document) if as_json else yaml.safe_dump(document, sort_keys=False)
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    return caught.value.problems


def paths(problems: list[Problem]) -> list[str]:
    return [problem.path for problem in problems]


def test_typo_unknown_model_and_unknown_default_route_come_out_together() -> None:
    # Given the file: a misspelt key, an unknown model and an unknown default route
    document = {"defaults": {"route": "nowhere"}, **minimal_policy()}
    document["routes"].insert(0, {"name": "first", "when": {"tags": ["x"]}, "models": ["ghost"]})
    document["routes"][1]["candidats"] = ["small"]
    # When it is parsed
    found = problems_of(document)
    # Then all three are reported in one run, in the order they appear in the file
    assert paths(found) == ["defaults.route", "routes[0].models[0]", "routes[1].candidats"]
    assert [problem.line for problem in found] == sorted(problem.line or 0 for problem in found)
    assert "unknown route 'nowhere'" in found[0].message
    assert "unknown model 'ghost'" in found[1].message
    assert found[2].message.startswith("unknown field 'candidats'")


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (
            lambda d: d["routes"][0].update(modles=["small"]),
            "routes[0].modles",
            "unknown field 'modles' (did you mean 'models'?)",
        ),
        (
            lambda d: d["tenants"][0]["budget"].update(daily_sud=1),
            "tenants[0].budget.daily_sud",
            "unknown field 'daily_sud' (did you mean 'daily_usd'?)",
        ),
        (
            lambda d: d["routes"][0].update(checks={"guardrail": {}}),
            "routes[0].checks.guardrail",
            "unknown field 'guardrail' (did you mean 'guardrails'?)",
        ),
        (
            lambda d: d["routes"][0].update(models=["small", "lage"]),
            "routes[0].models[1]",
            "unknown model 'lage' (did you mean 'large'?)",
        ),
        (
            lambda d: d.update(defaults={"route": "defualt"}),
            "defaults.route",
            "unknown route 'defualt' (did you mean 'default'?)",
        ),
        (
            lambda d: d["routes"][0].update(when={"tenants": ["t-1"]}),
            "routes[0].when.tenants[0]",
            "unknown tenant 't-1' (did you mean 't1'?)",
        ),
        (
            lambda d: d["routes"][0].update(strategy="cascde"),
            "routes[0].strategy",
            "(did you mean 'cascade'?)",
        ),
        (
            lambda d: d["tenants"][0].update(max_classification="confidental"),
            "tenants[0].max_classification",
            "(did you mean 'confidential'?)",
        ),
        (
            lambda d: d["routes"][0].update(streaming="incremantal"),
            "routes[0].streaming",
            "(did you mean 'incremental'?)",
        ),
        (
            lambda d: d["routes"].__setitem__(
                0,
                {
                    "name": "default",
                    "strategy": "threshold",
                    "tiers": {"easy": ["small"], "hard": ["large"]},
                    "thresholds": {"hrad": 0.5},
                },
            ),
            "routes[0].thresholds.hrad",
            "unknown tier 'hrad' (did you mean 'hard'?)",
        ),
    ],
)
def test_misspelt_names_get_the_closest_valid_one(mutate: Any, path: str, message: str) -> None:
    # Given the minimal policy with one misspelt key, name or value
    document = minimal_policy()
    mutate(document)
    # When it is parsed, Then the problem at that path names the closest valid spelling
    found = {problem.path: problem.message for problem in problems_of(document)}
    assert message in found[path], found


def test_a_name_far_from_every_valid_one_gets_no_guess() -> None:
    # Given an unknown key and an unknown model, both unlike anything valid
    document = minimal_policy()
    document["routes"][0]["zzz"] = 1
    document["routes"][0]["models"] = ["small", "qqqqqq"]
    # When parsed
    found = {problem.path: problem.message for problem in problems_of(document)}
    # Then no guess is made: the key's message lists the keys a route may have instead
    assert "did you mean" not in found["routes[0].zzz"]
    assert all(name in found["routes[0].zzz"] for name in Route.model_fields)
    assert found["routes[0].models[1]"] == "unknown model 'qqqqqq'"


def test_names_of_items_that_failed_still_count_as_known() -> None:
    # Given a route with a misspelt key that a tenant names as its default, and a broken model it lists
    document = minimal_policy()
    document["models"].append(model_entry("extra", context_window="big"))
    document["routes"].insert(0, {"name": "special", "when": {"tags": ["x"]}, "models": ["extra"], "x": 1})
    document["tenants"][0]["default_route"] = "special"
    # When parsed
    found = problems_of(document)
    # Then only the two schema problems come out: no 'unknown route' or 'unknown model' for them
    assert paths(found) == ["models[2].context_window", "routes[0].x"]


def test_a_section_that_failed_whole_does_not_flood_its_references() -> None:
    # Given a policy whose model catalog is not a list, and a route naming a model
    document = minimal_policy()
    document["models"] = {"small": model_entry("small")}
    # When parsed, Then the catalog is the one problem: its names are unknown, not all wrong
    assert paths(problems_of(document)) == ["models"]


def test_paths_keep_the_documents_numbering_after_a_failed_item() -> None:
    # Given a broken route before a route with an unknown model
    document = minimal_policy()
    document["routes"].insert(0, {"name": "broken", "when": {"tags": "x"}, "models": ["small"]})
    document["routes"].insert(1, {"name": "second", "when": {"tags": ["y"]}, "models": ["nope"]})
    # When parsed, Then the unknown model is reported at routes[1], its place in the file
    assert paths(problems_of(document)) == ["routes[0].when.tags", "routes[1].models[0]"]


def test_reachability_waits_for_the_routes_to_be_valid() -> None:
    # Given a route whose 'when' is broken, ahead of a narrower route
    document = minimal_policy()
    document["routes"].insert(0, {"name": "wide", "when": {"tagz": ["x"]}, "models": ["small"]})
    document["routes"].insert(1, {"name": "narrow", "when": {"tags": ["x"]}, "models": ["small"]})
    # When parsed, Then the broken key is reported, not a guess that the later route is unreachable
    found = problems_of(document)
    assert paths(found) == ["routes[0].when.tagz"]


def test_problems_on_one_line_are_sorted_by_path_with_numeric_indexes() -> None:
    # Given a one-line JSON policy with unknown models in routes 2 and 10 (all problems on line 1)
    document = minimal_policy()
    document["routes"] = [
        {"name": f"r{index}", "when": {"tags": [f"t{index}"]}, "models": ["small"]} for index in range(11)
    ] + [{"name": "default", "models": ["small"]}]
    document["routes"][10]["models"] = ["nope10"]
    document["routes"][2]["models"] = ["nope2"]
    # When parsed, Then routes[2] comes before routes[10]
    assert paths(problems_of(document, as_json=True)) == ["routes[2].models[0]", "routes[10].models[0]"]


def test_closest_ignores_names_that_are_not_close() -> None:
    # Given names near and far from a valid set
    choices = ["acme-support", "globex", "lexdoc-eu"]
    # Then only a near one gets a suggestion
    assert closest("acme-suport", choices) == "acme-support"
    assert closest("nosuch", choices) is None
