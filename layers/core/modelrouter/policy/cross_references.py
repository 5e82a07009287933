"""Cross-reference checks: what pydantic cannot see field by field.

Unknown or duplicate ids, tags and routes, threshold tiers that do not line up, and routes no request
can reach. Errors make a policy invalid; warnings are printed by ``policy validate`` but do not block.
An unknown name is reported with the closest known one (``unknown model 'nova-lyte' (did you mean
'nova-lite'?)``).

The checks also run on the parts of a document that passed validation when other parts did not (see
:mod:`modelrouter.policy.validation`), so one run reports every problem: a :class:`Tolerance` says
where the kept items were in the document and which names belong to items that failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from modelrouter.policy.bandit_shares import share_problems
from modelrouter.policy.document import Policy
from modelrouter.policy.learned import MappedRouterPin
from modelrouter.policy.reachability import check_deployment_modes, check_reachability
from modelrouter.policy.routes import Route, Strategy
from modelrouter.problems import Problem, format_path
from modelrouter.suggest import did_you_mean

__all__ = ["NAME_KINDS", "PolicyCheckResult", "Tolerance", "check_references"]

_RESERVED_NAMES = frozenset({"auto"})
NAME_KINDS = ("model", "tenant", "route", "tag")
"""What a policy refers to by name."""
_REACHABILITY_INPUTS = frozenset({"defaults", "pinning", "tenants", "routes"})
_DEPLOYMENT_INPUTS = frozenset({"defaults", "tenants", "models"})

Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How to check a policy built from the parts of a document that passed validation."""

    positions: Mapping[str, Sequence[int]] = field(default_factory=dict)
    """Per list section (``models``, ``tenants``, ``routes``): the document index of each item kept."""
    failed_names: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    """Per kind of name (:data:`NAME_KINDS`): the names of items that failed validation, which a
    reference may still name; ``None`` when the whole section failed, so its names are unknown."""
    failed_sections: frozenset[str] = frozenset()
    """Top-level keys with any problem (checks that need them whole are skipped)."""


class PolicyCheckResult:
    """Errors and warnings found by :func:`check_references`."""

    def __init__(self, positions: Mapping[str, Sequence[int]] | None = None) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self._positions = positions or {}

    def error(self, location: Location, message: str) -> None:
        """Record an error at ``location``."""
        self.errors.append(Problem(format_path(self._in_document(location)), message))

    def warn(self, location: Location, message: str) -> None:
        """Record a warning at ``location``."""
        self.warnings.append(Problem(format_path(self._in_document(location)), message))

    def _in_document(self, location: Location) -> Location:
        """``location`` with a kept item's index replaced by its index in the document."""
        if len(location) > 1 and isinstance(location[1], int) and str(location[0]) in self._positions:
            return (location[0], self._positions[str(location[0])][location[1]], *location[2:])
        return location


@dataclass(frozen=True, slots=True)
class _Known:
    """The names a reference may use, per kind; ``None``: unknown (references are not checked)."""

    names: Mapping[str, frozenset[str] | None]

    @classmethod
    def of(cls, policy: Policy, tolerance: Tolerance) -> _Known:
        valid = {
            "model": frozenset(policy.model_by_id),
            "tenant": frozenset(policy.tenant_by_id),
            "route": frozenset(policy.route_by_name),
            "tag": frozenset(tag for model in policy.models for tag in model.tags),
        }
        names: dict[str, frozenset[str] | None] = {}
        for kind, kept in valid.items():
            failed = tolerance.failed_names.get(kind, frozenset())
            names[kind] = None if failed is None else kept | failed
        return cls(names)

    def unknown(self, result: PolicyCheckResult, location: Location, name: str, kind: str) -> bool:
        """Report ``name`` at ``location`` if no ``kind`` has it; whether it was reported."""
        known = self.names[kind]
        if known is None or name in known:
            return False
        result.error(location, f"unknown {kind} '{name}'{did_you_mean(name, known)}")
        return True

    def check_all(
        self, result: PolicyCheckResult, location: Location, names: Iterable[str], kind: str
    ) -> None:
        """Report each unknown name of a list at ``location``."""
        for index, name in enumerate(names):
            self.unknown(result, (*location, index), name, kind)


def check_references(policy: Policy, tolerance: Tolerance | None = None) -> PolicyCheckResult:
    """Check every cross-reference in ``policy``; return the errors and warnings found.

    With ``tolerance``, ``policy`` holds only the parts of a document that passed validation: paths
    are the document's, names of failed items count as known, and reachability (which needs every
    route, tenant and default) is checked only when those all passed.
    """
    tolerance = tolerance or Tolerance()
    result = PolicyCheckResult(tolerance.positions)
    known = _Known.of(policy, tolerance)
    _check_unique(result, ("models",), [model.id for model in policy.models], "model id")
    _check_unique(result, ("tenants",), [tenant.id for tenant in policy.tenants], "tenant id")
    _check_unique(result, ("routes",), [route.name for route in policy.routes], "route name")
    _check_namespaces(result, policy)
    _check_model_refs(result, policy, known)
    _check_tenant_refs(result, policy, known)
    _check_route_refs(result, policy, known)
    if policy.topics is None and "topics" not in tolerance.failed_sections:
        _check_topics_without_classifier(result, policy)
    for index, route in enumerate(policy.routes):
        _check_route(result, policy, known, index, route)
    if not tolerance.failed_sections & _REACHABILITY_INPUTS:
        check_reachability(result, policy)
    if not tolerance.failed_sections & _DEPLOYMENT_INPUTS:
        check_deployment_modes(result, policy)
    return result


def _check_unique(result: PolicyCheckResult, location: Location, names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            result.error((*location, index), f"duplicate {what} '{name}'")
        seen.add(name)


def _check_namespaces(result: PolicyCheckResult, policy: Policy) -> None:
    # A request's "model" field names a route or a model, so the two must never collide.
    model_ids = set(policy.model_by_id)
    for index, route in enumerate(policy.routes):
        if route.name in model_ids:
            result.error(("routes", index, "name"), f"route name '{route.name}' is also a model id")
        if route.name in _RESERVED_NAMES:
            result.error(("routes", index, "name"), f"'{route.name}' is reserved")
    for index, model in enumerate(policy.models):
        if model.id in _RESERVED_NAMES:
            result.error(("models", index, "id"), f"'{model.id}' is reserved")


def _check_model_refs(result: PolicyCheckResult, policy: Policy, known: _Known) -> None:
    models = policy.model_by_id
    for index, tenant in enumerate(policy.tenants):
        known.check_all(result, ("tenants", index, "allowed_models"), tenant.allowed_models or (), "model")
        known.check_all(result, ("tenants", index, "allowed_tags"), tenant.allowed_tags or (), "tag")
        if tenant.pinning is not None and tenant.pinning.models != "*":
            known.check_all(result, ("tenants", index, "pinning", "models"), tenant.pinning.models, "model")
    if policy.pinning.models != "*":
        known.check_all(result, ("pinning", "models"), policy.pinning.models, "model")
    for index, route in enumerate(policy.routes):
        for location, model_id in route.all_model_refs():
            where = ("routes", index, *location)
            unknown = known.unknown(result, where, model_id, "model")
            if not unknown and model_id in models and not models[model_id].enabled:
                result.warn(where, f"model '{model_id}' is disabled and will always be skipped")
        rules = route.checks.rules.rules if route.checks.rules is not None else ()
        for position, rule in enumerate(rules):
            where = ("routes", index, "checks", "rules", "rules", position, "models")
            known.check_all(result, where, rule.models or (), "model")


def _check_tenant_refs(result: PolicyCheckResult, policy: Policy, known: _Known) -> None:
    for index, route in enumerate(policy.routes):
        known.check_all(result, ("routes", index, "when", "tenants"), route.when.tenants or (), "tenant")


def _check_topics_without_classifier(result: PolicyCheckResult, policy: Policy) -> None:
    for index, route in enumerate(policy.routes):
        if route.when.topics is not None:
            result.error(
                ("routes", index, "when", "topics"),
                "no request has a topic: the policy names no topic classifier (add a top-level 'topics'"
                " section with the artifact written by `modelrouter learn fit-topics`)",
            )


def _check_route_refs(result: PolicyCheckResult, policy: Policy, known: _Known) -> None:
    if policy.defaults.route is not None:
        known.unknown(result, ("defaults", "route"), policy.defaults.route, "route")
    if policy.pinning.routes != "*":
        known.check_all(result, ("pinning", "routes"), policy.pinning.routes, "route")
    for index, tenant in enumerate(policy.tenants):
        for name_field in ("default_route", "over_budget_route"):
            name = getattr(tenant, name_field)
            if name is not None:
                known.unknown(result, ("tenants", index, name_field), name, "route")
        if tenant.pinning is not None and tenant.pinning.routes != "*":
            known.check_all(result, ("tenants", index, "pinning", "routes"), tenant.pinning.routes, "route")


def _check_route(result: PolicyCheckResult, policy: Policy, known: _Known, index: int, route: Route) -> None:
    base: Location = ("routes", index)
    for location, models in route.model_lists():
        seen: set[str] = set()
        for position, model_id in enumerate(models):
            if model_id in seen:
                result.error((*base, *location, position), f"model '{model_id}' is listed more than once")
            seen.add(model_id)
    if route.strategy is Strategy.THRESHOLD:
        _check_thresholds(result, base, route)
    for block, pin in route.router_pins():
        if isinstance(pin, MappedRouterPin):
            _check_model_map(result, known, base, route, block=block, model_map=pin.model_map)
    for location, message in share_problems(route):
        result.error((*base, *location), message)
    if route.strategy is Strategy.WEIGHTED:
        _check_unique(result, (*base, "variants"), [v.name for v in route.variants or ()], "variant")
        _check_promotion(result, base, route)
    required, matched = route.limits.output_format, route.when.response_formats
    if required is not None and matched is not None and required not in matched:
        result.error(
            (*base, "limits", "output_format"),
            f"requires '{required}' but the route only matches {', '.join(matched)} requests",
        )
    catalog = [policy.model_by_id[m] for _, m in route.all_model_refs() if m in policy.model_by_id]
    if catalog and not any(model.enabled for model in catalog):
        result.warn(base, "every model of this route is disabled")


def _check_promotion(result: PolicyCheckResult, base: Location, route: Route) -> None:
    """``promote_when`` names two variants of its route (``policy promote`` swaps their models)."""
    if route.promote_when is None:
        return
    names = [variant.name for variant in route.variants or ()]
    for role in ("champion", "challenger"):
        name = getattr(route.promote_when, role)
        if name not in names:
            result.error(
                (*base, "promote_when", role),
                f"unknown variant '{name}'{did_you_mean(name, names)} (variants: {', '.join(names)})",
            )


def _check_model_map(
    result: PolicyCheckResult,
    known: _Known,
    base: Location,
    route: Route,
    *,
    block: Location,
    model_map: Mapping[str, str],
) -> None:
    """Every model of the route has exactly one artifact name in the ``model_map`` of the route's
    ``block`` (``("learned",)``, ``("cascade",)`` ...), and every name maps to a catalog model."""
    mapped: dict[str, str] = {}
    for name, model_id in model_map.items():
        where = (*base, *block, "model_map", name)
        if known.unknown(result, where, model_id, "model"):
            pass
        elif model_id in mapped:
            result.error(where, f"model '{model_id}' is already the target of '{mapped[model_id]}'")
        elif model_id not in (route.models or ()):
            result.warn(where, f"model '{model_id}' is not one of this route's models")
        mapped.setdefault(model_id, name)
    for position, model_id in enumerate(route.models or ()):
        if model_id not in mapped:
            result.error(
                (*base, "models", position),
                f"model '{model_id}' has no entry in {format_path(block)}.model_map"
                " (map the artifact's name for it)",
            )


def _check_thresholds(result: PolicyCheckResult, base: Location, route: Route) -> None:
    tiers = list(route.tiers or {})
    thresholds = route.thresholds or {}
    for name in thresholds:
        if name not in tiers:
            hint = did_you_mean(name, tiers)
            result.error(
                (*base, "thresholds", name), f"unknown tier '{name}'{hint} (tiers: {', '.join(tiers)})"
            )
    if tiers and tiers[0] in thresholds:
        result.error(
            (*base, "thresholds", tiers[0]),
            f"the first tier '{tiers[0]}' takes every difficulty below the next threshold; give it none",
        )
    previous = 0.0
    for name in tiers[1:]:
        if name not in thresholds:
            result.error((*base, "thresholds"), f"tier '{name}' needs a threshold")
            continue
        value = thresholds[name]
        if not 0 < value <= 1:
            result.error((*base, "thresholds", name), f"threshold {value} must be in (0, 1]")
        elif value <= previous:
            result.error(
                (*base, "thresholds", name),
                f"threshold {value} must be above the previous tier's ({previous})",
            )
        previous = max(previous, value)
