"""Reachability: routes no request can reach because an earlier route takes every request they match,
and tenants (or their data of some classification) no model may serve because of deployment modes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import DataClassification, DeploymentMode, classification_rank
from modelrouter.policy.document import Policy
from modelrouter.policy.routes import When
from modelrouter.policy.tenants import Tenant

if TYPE_CHECKING:
    from modelrouter.policy.cross_references import PolicyCheckResult

__all__ = ["check_deployment_modes", "check_reachability"]


def check_reachability(result: PolicyCheckResult, policy: Policy) -> None:
    """Report shadowed routes (an error, or a warning when a default or pinning still reaches them)
    and tenants whose unmatched requests have nowhere to go."""
    other_ways_in: set[str] = {policy.defaults.route} if policy.defaults.route else set()
    for tenant in policy.tenants:
        other_ways_in.update(r for r in (tenant.default_route, tenant.over_budget_route) if r)
    pinnable = [policy.pinning, *(t.pinning for t in policy.tenants if t.pinning is not None)]
    for later_index, later in enumerate(policy.routes):
        shadow = next(
            (earlier for earlier in policy.routes[:later_index] if _subsumes(earlier.when, later.when)), None
        )
        if shadow is None:
            continue
        reason = f"every request it matches is taken by the earlier route '{shadow.name}'"
        if later.name in other_ways_in or any(p.allows_route(later.name) for p in pinnable):
            result.warn(
                ("routes", later_index, "when"), f"{reason}; only reachable as a default or by pinning"
            )
        else:
            result.error(("routes", later_index), f"unreachable route: {reason}")
    has_catch_all = any(route.when.is_catch_all for route in policy.routes)
    if not has_catch_all and policy.defaults.route is None:
        for index, tenant in enumerate(policy.tenants):
            if tenant.default_route is None:
                result.warn(
                    ("tenants", index),
                    "no catch-all route or default route: requests that match no route are refused",
                )


_COMPARED_WHOLE = frozenset({"images", "documents"})
"""Conditions of several comparisons: one subsumes another only when they are the same."""


def check_deployment_modes(result: PolicyCheckResult, policy: Policy) -> None:
    """Report a tenant whose ``required_deployment_modes`` no model it may use is deployed in (an error:
    every request would be refused), data a tenant may send that no model it may use is both cleared
    for and deployed for (a warning, at the least sensitive such level), and modes a level of
    ``deployment_modes_by_classification`` lists that a less sensitive level forbids (a warning: they
    are never allowed)."""
    defaults = policy.defaults
    for index, tenant in enumerate(policy.tenants):
        usable = [model for model in policy.models if _may_use(tenant, model)]
        required = tenant.required_deployment_modes
        if required is not None and usable and not any(m.deployment_mode in required for m in usable):
            result.error(
                ("tenants", index, "required_deployment_modes"),
                f"no model this tenant may use is deployed {DeploymentMode.either(required)}:"
                " every request would be refused",
            )
            continue
        for level in DataClassification:
            if classification_rank(level) > classification_rank(tenant.max_classification):
                break
            modes = defaults.deployment_modes_for(level)
            if modes is None:
                continue
            allowed = modes & required if required is not None else modes
            cleared = [
                m for m in usable if classification_rank(m.max_classification) >= classification_rank(level)
            ]
            if cleared and not any(model.deployment_mode in allowed for model in cleared):
                result.warn(
                    ("tenants", index, "max_classification"),
                    f"the tenant may send {level} data, but no model it may use that is cleared for it is"
                    f" deployed {DeploymentMode.either(allowed)}: such requests are refused",
                )
                break
    listed = defaults.deployment_modes_by_classification
    for level, modes in listed.items():
        for lower, lower_modes in listed.items():
            if classification_rank(lower) < classification_rank(level) and (dropped := modes - lower_modes):
                result.warn(
                    ("defaults", "deployment_modes_by_classification", level.value),
                    f"{DeploymentMode.either(dropped)} is not allowed for {lower} data, so neither for"
                    f" {level} data (a level's modes bind every more sensitive level)",
                )


def _may_use(tenant: Tenant, model: ModelSpec) -> bool:
    """Whether ``tenant`` may use ``model`` at all: allowed and in one of its regions."""
    return tenant.allows_model(model.id, model.tags) and (
        tenant.regions is None or model.residency in tenant.regions
    )


def _subsumes(earlier: When, later: When) -> bool:
    """True when every request that matches ``later`` also matches ``earlier``."""
    for name in type(earlier).model_fields:
        wide = getattr(earlier, name)
        if wide is None:
            continue
        narrow = getattr(later, name)
        if narrow is None:
            return False
        if isinstance(wide, list):
            if not set(narrow) <= set(wide):
                return False
        elif isinstance(wide, bool):
            if wide != narrow:
                return False
        elif name == "metadata":
            # Sound, not complete: each key the earlier route tests is tested the same way later.
            if any(narrow.get(key) != test for key, test in wide.items()):
                return False
        elif name in _COMPARED_WHOLE:
            if wide != narrow:
                return False
        elif name == "intents":
            if not (
                set(narrow.keywords) <= set(wide.keywords) and set(narrow.patterns) <= set(wide.patterns)
            ):
                return False
        elif not _range_within(narrow.min, narrow.max, wide.min, wide.max):
            return False
    return True


def _range_within(
    low: float | None, high: float | None, outer_low: float | None, outer_high: float | None
) -> bool:
    if outer_low is not None and (low is None or low < outer_low):
        return False
    return outer_high is None or (high is not None and high <= outer_high)
