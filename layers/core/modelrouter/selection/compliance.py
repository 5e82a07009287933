"""Compliance: which models a request's data may go to, and what an answer says about it. Pure: no I/O.

:func:`compliance_exclusion` is the one predicate for the compliance part of eligibility: the tenant
may use the model, the model is cleared for the request's classification, runs in a residency the
tenant and the request allow, and is deployed in a mode the tenant and the classification allow. The
engine's eligibility uses it with the request's :class:`Clearance`, and :mod:`~modelrouter.selection.naming`
(what a tenant may list and pin) with the least a request of the tenant can demand
(:meth:`Clearance.least`), so the two cannot drift.

:func:`classify` is the request's effective classification and why; :func:`compliance_block` is the
``compliance`` object of the response's ``router`` block, ``/v1/route`` and the provenance record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from modelrouter.errors import RequestDeniedError
from modelrouter.features.records import RequestFeatures
from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import DataClassification, DeploymentMode, classification_rank
from modelrouter.policy.document import Defaults
from modelrouter.policy.tenants import Tenant
from modelrouter.selection.context import METADATA_CLASSIFICATION, RequestContext
from modelrouter.selection.decision import ComplianceBasis, Decision, ExclusionReason

__all__ = [
    "COMPLIANCE_REASONS",
    "Classified",
    "Clearance",
    "ModeRequirement",
    "classify",
    "compliance_block",
    "compliance_exclusion",
]

COMPLIANCE_REASONS: Final = frozenset(
    {
        ExclusionReason.CLASSIFICATION_NOT_CLEARED,
        ExclusionReason.RESIDENCY,
        ExclusionReason.DEPLOYMENT_MODE,
    }
)
"""Exclusions an answer's ``compliance`` block lists. Not ``tenant_not_allowed``: that would name
catalog models this tenant may not use (other tenants' models), which no answer shows."""

ClassificationSource = Literal["declared", "tenant_default", "pii_detected"]
"""Where a request's classification came from."""


@dataclass(frozen=True, slots=True)
class ModeRequirement:
    """The deployment modes a request may go to, and who requires them."""

    tenant_id: str
    """The tenant (named in the reason)."""
    by_tenant: frozenset[DeploymentMode] | None
    """The tenant's ``required_deployment_modes``; None: any."""
    level: DataClassification
    """The request's classification (named in the reason)."""
    by_level: frozenset[DeploymentMode] | None
    """The modes ``defaults.deployment_modes_by_classification`` allows for ``level``; None: any."""

    @property
    def allowed(self) -> frozenset[DeploymentMode] | None:
        """The modes both allow; None when neither restricts them."""
        binding = [modes for modes in (self.by_tenant, self.by_level) if modes is not None]
        return frozenset.intersection(*binding) if binding else None

    def refusal(self, mode: DeploymentMode) -> str | None:
        """Why a model deployed as ``mode`` may not be used (``deployed provider_retains; restricted data
        requires zero_retention, vpc or on_prem``), or None when it may."""
        reasons = []
        if self.by_level is not None and mode not in self.by_level:
            reasons.append(f"{self.level} data requires {DeploymentMode.either(self.by_level)}")
        if self.by_tenant is not None and mode not in self.by_tenant:
            reasons.append(f"tenant '{self.tenant_id}' requires {DeploymentMode.either(self.by_tenant)}")
        return f"deployed {mode}; {'; '.join(reasons)}" if reasons else None


@dataclass(frozen=True, slots=True)
class Clearance:
    """The compliance side of a request: whose data it is, how sensitive, and where it may go."""

    tenant: Tenant
    """The tenant."""
    classification: DataClassification
    """The request's effective classification."""
    region: str | None
    """The residency the request demands (``metadata.region``), if any."""
    modes: ModeRequirement
    """The deployment modes the tenant and the classification allow."""

    @classmethod
    def of(
        cls, defaults: Defaults, tenant: Tenant, classification: DataClassification, region: str | None
    ) -> Clearance:
        """The clearance of a request of ``tenant`` at ``classification``, demanding ``region``."""
        modes = ModeRequirement(
            tenant.id,
            tenant.required_deployment_modes,
            classification,
            defaults.deployment_modes_for(classification),
        )
        return cls(tenant, classification, region, modes)

    @classmethod
    def least(cls, defaults: Defaults, tenant: Tenant) -> Clearance:
        """The least a request of ``tenant`` can demand (declared ``public``, no region): a model it
        excludes can never answer for the tenant."""
        return cls.of(defaults, tenant, DataClassification.PUBLIC, None)


def compliance_exclusion(model: ModelSpec, clearance: Clearance) -> tuple[ExclusionReason, str] | None:
    """Why compliance rules keep ``model`` from a request with ``clearance`` (the first that applies:
    tenant, classification, residency, deployment mode), or None when they do not."""
    tenant = clearance.tenant
    if not tenant.allows_model(model.id, model.tags):
        return ExclusionReason.TENANT_NOT_ALLOWED, f"tenant '{tenant.id}' may not use it"
    if classification_rank(model.max_classification) < classification_rank(clearance.classification):
        return (
            ExclusionReason.CLASSIFICATION_NOT_CLEARED,
            f"cleared for {model.max_classification}, request is {clearance.classification}",
        )
    if tenant.regions is not None and model.residency not in tenant.regions:
        return ExclusionReason.RESIDENCY, f"runs in '{model.residency}', tenant allows {tenant.regions}"
    if clearance.region is not None and model.residency != clearance.region:
        return ExclusionReason.RESIDENCY, f"runs in '{model.residency}', request demands '{clearance.region}'"
    if (refused := clearance.modes.refusal(model.deployment_mode)) is not None:
        return ExclusionReason.DEPLOYMENT_MODE, refused
    return None


@dataclass(frozen=True, slots=True)
class Classified:
    """A request's effective classification and where it came from."""

    level: DataClassification
    """The classification applied."""
    source: ClassificationSource
    """Declared, the tenant's default, or raised because personal data was found."""
    reason: str
    """The same in words."""
    notes: tuple[str, ...]
    """Notes for the decision (why the classification was raised)."""

    def basis(self, clearance: Clearance) -> ComplianceBasis:
        """The decision's record of this classification and the deployment modes ``clearance`` allows."""
        allowed = clearance.modes.allowed
        modes = None if allowed is None else tuple(mode for mode in DeploymentMode if mode in allowed)
        return ComplianceBasis(
            classification_source=self.source,
            classification_reason=self.reason,
            required_deployment_modes=modes,
        )


def classify(
    defaults: Defaults, tenant: Tenant, context: RequestContext, features: RequestFeatures
) -> Classified:
    """The request's classification: declared, else the tenant's default; raised to
    ``defaults.pii_classification`` when personal data is found.

    Raises:
        RequestDeniedError: ``classification_not_allowed``, above the tenant's ``max_classification``.
    """
    level = context.data_classification or tenant.default_classification
    source: ClassificationSource = "tenant_default"
    reason = f"default of tenant '{tenant.id}' (none declared)"
    if context.data_classification is not None:
        source, reason = "declared", f"declared in metadata.{METADATA_CLASSIFICATION}"
    notes: list[str] = []
    raised = defaults.pii_classification
    if features.pii and classification_rank(level) < classification_rank(raised):
        kinds = ", ".join(sorted(features.pii_kinds))
        source, reason = "pii_detected", f"raised from {level} to {raised}: PII found ({kinds})"
        notes.append(f"classification {reason}")
        level = raised
    if classification_rank(level) > classification_rank(tenant.max_classification):
        why = f" ({notes[0]})" if notes else ""
        raise RequestDeniedError(
            "classification_not_allowed",
            f"request is {level}{why}; tenant '{tenant.id}' may send at most {tenant.max_classification}",
            field=f"metadata.{METADATA_CLASSIFICATION}",
        )
    return Classified(level, source, reason, tuple(notes))


def compliance_block(decision: Decision, model_id: str | None) -> dict[str, Any]:
    """The ``compliance`` object for ``decision`` answered by ``model_id`` (None: no model answered):
    the classification applied and why, the answering model's residency and deployment mode, the
    deployment modes required, the policy version, and the models excluded for compliance reasons."""
    candidate = next((c for c in decision.candidates if c.model == model_id), None)
    basis = decision.compliance
    modes = basis.required_deployment_modes
    return {
        "classification": decision.classification.value,
        "classification_source": basis.classification_source,
        "classification_reason": basis.classification_reason,
        "model": model_id,
        "residency": candidate.residency if candidate is not None else None,
        "deployment_mode": candidate.deployment_mode.value if candidate is not None else None,
        "required_deployment_modes": None if modes is None else [mode.value for mode in modes],
        "policy": decision.policy,
        "policy_version": decision.policy_version,
        "excluded_for_compliance": [
            exclusion.model_dump(mode="json")
            for exclusion in decision.exclusions
            if exclusion.reason in COMPLIANCE_REASONS
        ],
    }
