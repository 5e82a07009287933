"""Deployment modes: what the catalog declares, what tenants and classifications require, the exclusions
and the compliance basis the engine records, and the policy checks (the naming check agreeing with
eligibility is a property test in test_compliance_properties.py)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import build_policy, chat, features, minimal_policy, model_entry, policy_from

from modelrouter.errors import NoEligibleModelError, PolicyError
from modelrouter.policy import DataClassification
from modelrouter.policy.common import DeploymentMode
from modelrouter.selection import Decision, ExclusionReason, RequestContext, decide


def four_modes(tenant_modes: list[str] | None, by_level: dict[str, list[str]]) -> dict[str, Any]:
    """A fallback route over four models cleared for restricted data, one per deployment mode (ids:
    retains, zdr, vpc, onprem), for a tenant that may send restricted data."""
    document = minimal_policy()
    ids = {"retains": "provider_retains", "zdr": "zero_retention", "vpc": "vpc", "onprem": "on_prem"}
    document["models"] = [
        model_entry(model_id, max_classification="restricted", deployment_mode=mode)
        for model_id, mode in ids.items()
    ]
    document["tenants"][0]["max_classification"] = "restricted"
    if tenant_modes is not None:
        document["tenants"][0]["required_deployment_modes"] = tenant_modes
    document["defaults"] = {"deployment_modes_by_classification": by_level}
    document["routes"] = [{"name": "default", "models": list(ids)}]
    return document


def decided(document: dict[str, Any], level: str | None, **feature_overrides: Any) -> Decision:
    classification = DataClassification(level) if level is not None else None
    context = RequestContext(request_id="req-1", tenant_id="t1", data_classification=classification)
    return decide(build_policy(document), chat(), context, features=features(**feature_overrides))


# --- the catalog and the policy language ----------------------------------------------------------------


def test_a_model_that_declares_no_mode_is_provider_retains() -> None:
    # Given the minimal policy, whose models declare no deployment mode
    policy = build_policy(minimal_policy())
    # Then they are taken as provider_retains, which no requirement admits by accident
    assert {model.deployment_mode for model in policy.models} == {DeploymentMode.PROVIDER_RETAINS}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["models"][0].update(deployment_mode="vcp"), "did you mean 'vpc'"),
        (lambda d: d["tenants"][0].update(required_deployment_modes=[]), "required_deployment_modes"),
        (
            lambda d: d.update(defaults={"deployment_modes_by_classification": {"secret": ["vpc"]}}),
            "deployment_modes_by_classification",
        ),
    ],
)
def test_bad_modes_are_policy_errors_naming_the_field(mutate: Any, expected: str) -> None:
    # Given a misspelt mode, an empty list of required modes, or an unknown classification
    document = minimal_policy()
    mutate(document)
    # When the policy is loaded, Then it is refused with the field at fault
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("by_level", "level", "allowed"),
    [
        ({}, "restricted", None),
        ({"restricted": ["vpc", "on_prem"]}, "confidential", None),
        ({"restricted": ["vpc", "on_prem"]}, "restricted", {"vpc", "on_prem"}),
        (
            {"internal": ["vpc", "zero_retention"], "restricted": ["vpc", "on_prem"]},
            "confidential",
            {
                "vpc",
                "zero_retention",
            },
        ),
        ({"internal": ["vpc", "zero_retention"], "restricted": ["vpc", "on_prem"]}, "restricted", {"vpc"}),
    ],
)
def test_a_levels_modes_bind_every_more_sensitive_level(
    by_level: dict[str, list[str]], level: str, allowed: set[str] | None
) -> None:
    # Given modes listed for some classifications
    document = minimal_policy()
    document["defaults"] = {"deployment_modes_by_classification": by_level}
    defaults = build_policy(document).defaults
    # When the modes for a level are asked for
    found = defaults.deployment_modes_for(DataClassification(level))
    # Then they are those of every listed level up to it, in common (None: unconstrained)
    assert (None if found is None else {mode.value for mode in found}) == allowed


# --- exclusions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant_modes", "by_level", "level", "candidates", "details"),
    [
        pytest.param(None, {}, "restricted", ["retains", "zdr", "vpc", "onprem"], {}, id="neither"),
        pytest.param(
            ["vpc", "on_prem"],
            {},
            "internal",
            ["vpc", "onprem"],
            {
                "retains": "deployed provider_retains; tenant 't1' requires vpc or on_prem",
                "zdr": "deployed zero_retention; tenant 't1' requires vpc or on_prem",
            },
            id="tenant",
        ),
        pytest.param(
            None,
            {"restricted": ["vpc", "on_prem", "zero_retention"]},
            "restricted",
            ["zdr", "vpc", "onprem"],
            {"retains": "deployed provider_retains; restricted data requires zero_retention, vpc or on_prem"},
            id="classification",
        ),
        pytest.param(
            None,
            {"restricted": ["vpc", "on_prem", "zero_retention"]},
            "confidential",
            ["retains", "zdr", "vpc", "onprem"],
            {},
            id="classification-below-the-listed-level",
        ),
        pytest.param(
            ["vpc", "on_prem"],
            {"restricted": ["zero_retention", "vpc"]},
            "restricted",
            ["vpc"],
            {
                "retains": (
                    "deployed provider_retains; restricted data requires zero_retention or vpc;"
                    " tenant 't1' requires vpc or on_prem"
                ),
                "zdr": "deployed zero_retention; tenant 't1' requires vpc or on_prem",
                "onprem": "deployed on_prem; restricted data requires zero_retention or vpc",
            },
            id="both",
        ),
    ],
)
def test_models_outside_the_required_modes_are_excluded_with_who_requires_what(
    tenant_modes: list[str] | None,
    by_level: dict[str, list[str]],
    level: str,
    candidates: list[str],
    details: dict[str, str],
) -> None:
    # Given four models, one per mode, and the tenant's and the classifications' required modes
    document = four_modes(tenant_modes, by_level)
    # When a request of that classification is decided
    decision = decided(document, level)
    # Then only the models in every required mode are candidates, and each other one says why
    assert [candidate.model for candidate in decision.candidates] == candidates
    assert {e.model: e.reason for e in decision.exclusions} == dict.fromkeys(
        details, ExclusionReason.DEPLOYMENT_MODE
    )
    assert {e.model: e.detail for e in decision.exclusions} == details


def test_when_the_modes_leave_no_model_the_request_is_422_with_each_reason() -> None:
    # Given a tenant that requires on_prem and restricted data that requires zero_retention
    document = four_modes(["on_prem"], {"restricted": ["zero_retention"]})
    # When a restricted request is decided
    with pytest.raises(NoEligibleModelError) as caught:
        decided(document, "restricted")
    # Then no model is left, and every one was excluded for its deployment mode
    assert {e.reason for e in caught.value.exclusions} == {ExclusionReason.DEPLOYMENT_MODE}
    assert len(caught.value.exclusions) == 4


def test_classification_and_residency_are_reported_before_the_deployment_mode() -> None:
    # Given a tenant that requires vpc, with models in the EU except zdr (in the US), and retains cleared
    # for internal data only
    document = four_modes(["vpc"], {})
    for model in document["models"]:
        model["residency"] = "us" if model["id"] == "zdr" else "eu"
    document["models"][0]["max_classification"] = "internal"
    # When a confidential request that demands the EU is decided
    context = RequestContext(
        request_id="r", tenant_id="t1", data_classification=DataClassification.CONFIDENTIAL, region="eu"
    )
    decision = decide(build_policy(document), chat(), context, features=features())
    # Then the first rule that fails is each model's reason, and the vpc model in the EU is the candidate
    assert {e.model: e.reason for e in decision.exclusions} == {
        "retains": ExclusionReason.CLASSIFICATION_NOT_CLEARED,
        "zdr": ExclusionReason.RESIDENCY,
        "onprem": ExclusionReason.DEPLOYMENT_MODE,
    }
    assert [candidate.model for candidate in decision.candidates] == ["vpc"]


# --- the decision's compliance basis --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "pii", "source", "reason"),
    [
        ("internal", (), "declared", "declared in metadata.data_classification"),
        (None, (), "tenant_default", "default of tenant 't1' (none declared)"),
        (None, ("email",), "pii_detected", "raised from internal to confidential: PII found (email)"),
        ("restricted", ("email",), "declared", "declared in metadata.data_classification"),
    ],
)
def test_the_decision_says_where_the_classification_came_from(
    declared: str | None, pii: tuple[str, ...], source: str, reason: str
) -> None:
    # Given a tenant whose default is internal and personal data raised to confidential
    document = four_modes(None, {})
    # When a request is decided with or without a declared level and personal data
    decision = decided(document, declared, pii=pii)
    # Then the basis names the source and the reason
    assert (decision.compliance.classification_source, decision.compliance.classification_reason) == (
        source,
        reason,
    )


def test_the_decision_records_the_modes_both_require() -> None:
    # Given a tenant requiring vpc or on_prem, and restricted data requiring zero_retention or vpc
    document = four_modes(["on_prem", "vpc"], {"restricted": ["vpc", "zero_retention"]})
    # When a restricted and an internal request are decided
    restricted = decided(document, "restricted").compliance.required_deployment_modes
    internal = decided(document, "internal").compliance.required_deployment_modes
    # Then the modes in common are recorded (sorted in declaration order), and nothing when unconstrained
    assert restricted == (DeploymentMode.VPC,)
    assert internal == (DeploymentMode.VPC, DeploymentMode.ON_PREM)
    assert decided(four_modes(None, {}), "restricted").compliance.required_deployment_modes is None


# --- policy checks --------------------------------------------------------------------------------------


def test_a_tenant_whose_required_modes_no_model_meets_is_a_policy_error() -> None:
    # Given a tenant that requires on_prem and a catalog with none on premises
    document = minimal_policy()
    document["tenants"][0]["required_deployment_modes"] = ["on_prem"]
    # When the policy is loaded
    with pytest.raises(PolicyError) as caught:
        policy_from(document)
    # Then it is refused at the tenant's field: every request would be refused
    (problem,) = caught.value.problems
    assert problem.path == "tenants[0].required_deployment_modes"
    assert (
        problem.message == "no model this tenant may use is deployed on_prem: every request would be refused"
    )


def test_data_a_tenant_may_send_but_no_model_may_take_is_a_warning() -> None:
    # Given a tenant that may send restricted data, restricted data requiring vpc, and the only model
    # cleared for restricted data deployed provider_retains
    document = minimal_policy()
    document["tenants"][0]["max_classification"] = "restricted"
    document["models"][1]["max_classification"] = "restricted"
    document["defaults"] = {"deployment_modes_by_classification": {"restricted": ["vpc"]}}
    # When the policy is loaded
    loaded = policy_from(document)
    # Then it is valid, with a warning at the tenant's clearance
    assert [(w.path, w.message) for w in loaded.warnings] == [
        (
            "tenants[0].max_classification",
            "the tenant may send restricted data, but no model it may use that is cleared for it is"
            " deployed vpc: such requests are refused",
        )
    ]


def test_a_mode_a_less_sensitive_level_forbids_is_a_warning() -> None:
    # Given confidential data limited to vpc and restricted data listing vpc and zero_retention, and vpc
    # models
    document = minimal_policy()
    for model in document["models"]:
        model["deployment_mode"] = "vpc"
    document["defaults"] = {
        "deployment_modes_by_classification": {
            "confidential": ["vpc"],
            "restricted": ["vpc", "zero_retention"],
        }
    }
    # When the policy is loaded
    loaded = policy_from(document)
    # Then zero_retention is reported as never allowed for restricted data
    assert [(w.path, w.message) for w in loaded.warnings] == [
        (
            "defaults.deployment_modes_by_classification.restricted",
            "zero_retention is not allowed for confidential data, so neither for restricted data"
            " (a level's modes bind every more sensitive level)",
        )
    ]
