"""The policy loader: YAML strictness, structural validation, paths and lines in every error."""

from __future__ import annotations

import json

import pytest
from tests.helpers import EXAMPLE_POLICY, build_policy, minimal_policy, model_entry, policy_from

from modelrouter.errors import PolicyError
from modelrouter.policy import DataClassification, load_policy_file, parse_policy


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_example_policy_loads_without_warnings() -> None:
    # Given the shipped example policy
    # When it is loaded
    loaded = load_policy_file(EXAMPLE_POLICY)
    # Then it is valid, realistic in size and clean
    policy = loaded.policy
    assert loaded.warnings == []
    assert len(policy.models) >= 8
    assert {m.provider.value for m in policy.models} == {"bedrock", "openai", "anthropic"}
    assert len(policy.tenants) >= 3
    assert {"support-triage", "document-extraction", "coding-assistant", "fraud-triage"} <= set(
        policy.route_by_name
    )
    assert loaded.digest.startswith("sha256:")


def test_json_policy_is_accepted() -> None:
    # Given a policy written as JSON
    text = json.dumps(minimal_policy())
    # When it is parsed
    loaded = parse_policy(text)
    # Then it gives the same policy as YAML would
    assert loaded.policy.name == "test-policy"


def test_malformed_yaml_reports_the_line() -> None:
    # Given YAML with a bad indentation on line 3
    # When it is parsed
    problems = problems_of("version: 1\nname: x\n  bad: [\n")
    # Then the error names the line
    assert len(problems) == 1
    assert "(line 3)" in problems[0]
    assert "invalid YAML" in problems[0]


def test_duplicate_yaml_keys_are_rejected() -> None:
    # Given a mapping that repeats a key (PyYAML would silently keep the last)
    problems = problems_of("version: 1\nname: a\nname: b\n")
    # Then the duplicate is an error on its line
    assert problems == ["<root> (line 3): invalid YAML: duplicate key 'name'"]


def test_yaml_11_booleans_stay_strings() -> None:
    # Given a route matching the language "no" (Norwegian), which YAML 1.1 reads as false
    document = minimal_policy()
    document["routes"].insert(0, {"name": "norsk", "when": {"languages": ["xx"]}, "models": ["small"]})
    text = policy_text(document).replace("- xx", "- no")
    # When it is parsed
    policy = parse_policy(text).policy
    # Then the code stays the string "no"
    assert policy.routes[0].when.languages == ["no"]


def policy_text(document: dict[str, object]) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False)


def test_unknown_keys_are_rejected_with_path_and_line() -> None:
    # Given a misspelt key inside a model
    document = minimal_policy()
    document["models"][1]["pricng"] = {"input_per_mtok": 1}
    # When it is parsed
    problems = problems_of(policy_text(document))
    # Then the error names the exact path and line
    assert any(p.startswith("models[1].pricng (line ") and "unknown field" in p for p in problems)


def test_wrong_types_name_the_field_and_value() -> None:
    # Given a context window given as text
    document = minimal_policy()
    document["models"][0]["context_window"] = "lots"
    problems = problems_of(policy_text(document))
    # Then the problem says which field and what was given
    assert any(p.startswith("models[0].context_window") and "'lots'" in p for p in problems)


def test_negative_price_is_rejected() -> None:
    document = minimal_policy()
    document["models"][0]["pricing"]["output_per_mtok"] = -0.5
    problems = problems_of(policy_text(document))
    assert any(p.startswith("models[0].pricing.output_per_mtok") and "-0.5" in p for p in problems)


def test_version_must_be_1() -> None:
    document = minimal_policy()
    document["version"] = 2
    problems = problems_of(policy_text(document))
    assert any(p.startswith("version") for p in problems)


def test_not_a_mapping() -> None:
    assert problems_of("- just\n- a list\n") == [
        "<root> (line 1): a policy must be a mapping with 'version', 'models', ..."
    ]


def test_missing_file_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy_file("/nonexistent/policy.yaml")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"region": None}, "a bedrock model needs 'region'"),
        ({"model_id": "anthropic.claude-latest"}, "not pinned to a version"),
        ({"max_output_tokens": 200_000}, "max_output_tokens cannot exceed context_window"),
        ({"api_key": {"secretsmanager": "k"}}, "called with IAM"),
        ({"provider": "openai", "region": None}, "needs 'base_url'"),
        ({"provider": "anthropic", "region": None}, "needs 'api_key'"),
        (
            {"provider": "openai", "region": None, "base_url": "https://x/v1", "model_id": "gpt-4o-latest"},
            "floating alias",
        ),
        ({"api_version": "2024-06-01"}, "apply to openai-compatible (Azure) models only"),
        ({"residency": "US"}, "residency"),
    ],
)
def test_model_provider_rules(overrides: dict[str, object], message: str) -> None:
    # Given a catalog entry that breaks one provider rule
    document = minimal_policy()
    document["models"][0] = {k: v for k, v in model_entry("small", **overrides).items() if v is not None}
    # When it is parsed
    problems = problems_of(policy_text(document))
    # Then the problem is reported at that model
    assert any(p.startswith("models[0]") and message in p for p in problems), problems


def test_secret_ref_needs_exactly_one_store() -> None:
    document = minimal_policy()
    document["models"][0] = {
        k: v
        for k, v in model_entry(
            "small",
            provider="openai",
            region=None,
            base_url="https://x/v1",
            api_key={"secretsmanager": "a", "ssm": "/b"},
        ).items()
        if v is not None
    }
    problems = problems_of(policy_text(document))
    assert any("exactly one of 'secretsmanager' or 'ssm'" in p for p in problems)


def test_bad_regex_in_intents_is_rejected() -> None:
    document = minimal_policy()
    document["routes"].insert(
        0, {"name": "r", "when": {"intents": {"patterns": ["(unclosed"]}}, "models": ["small"]}
    )
    problems = problems_of(policy_text(document))
    assert any(
        p.startswith("routes[0].when.intents.patterns[0]") and "invalid regular expression" in p
        for p in problems
    )


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"name": "r", "strategy": "threshold", "models": ["small"]}, "needs thresholds, tiers"),
        (
            {"name": "r", "models": ["small"], "variants": [{"name": "a", "weight": 1, "models": ["small"]}]},
            "does not apply",
        ),
        ({"name": "r", "when": {"difficulty": {"min": 0.9, "max": 0.1}}, "models": ["small"]}, "above max"),
        ({"name": "r", "when": {"tenants": []}, "models": ["small"]}, "must not be empty"),
        ({"name": "r", "models": []}, "must not be empty"),
    ],
)
def test_route_structure_rules(route: dict[str, object], message: str) -> None:
    document = minimal_policy()
    document["routes"].insert(0, route)
    problems = problems_of(policy_text(document))
    assert any(p.startswith("routes[0]") and message in p for p in problems), problems


def test_tenant_default_classification_within_max() -> None:
    document = minimal_policy()
    document["tenants"][0]["max_classification"] = "internal"
    document["tenants"][0]["default_classification"] = "restricted"
    problems = problems_of(policy_text(document))
    assert any(p.startswith("tenants[0]") and "above max_classification" in p for p in problems)


def test_budget_needs_a_limit() -> None:
    document = minimal_policy()
    document["tenants"][0]["budget"] = {}
    problems = problems_of(policy_text(document))
    assert any(p.startswith("tenants[0].budget") for p in problems)


def test_defaults_and_lookups() -> None:
    # Given the minimal policy
    policy = build_policy(minimal_policy())
    # Then defaults are filled in and lookups work
    assert policy.tenants[0].default_classification is DataClassification.INTERNAL
    assert policy.model_by_id["large"].pricing.output_per_mtok == 20
    assert policy.route_by_name["default"].models == ["small", "large"]


def test_policy_is_immutable() -> None:
    policy = policy_from(minimal_policy()).policy
    with pytest.raises(ValueError, match="frozen"):
        policy.name = "other"  # type: ignore[misc]
