"""Cross-reference checks: what pydantic cannot see field by field.

Unknown or duplicate ids, tags and routes, threshold tiers that do not line up, and routes no request
can reach. Errors make a policy invalid; warnings are printed by ``policy validate`` but do not block.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from modelrouter.policy.document import Policy
from modelrouter.policy.routes import Route, Strategy, When
from modelrouter.problems import Problem, format_path

__all__ = ["PolicyCheckResult", "check_references"]

_RESERVED_NAMES = frozenset({"auto"})

Location = tuple[str | int, ...]


class PolicyCheckResult:
    """Errors and warnings found by :func:`check_references`."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, location: Location, message: str) -> None:
        """Record an error at ``location``."""
        self.errors.append(Problem(format_path(location), message))

    def warn(self, location: Location, message: str) -> None:
        """Record a warning at ``location``."""
        self.warnings.append(Problem(format_path(location), message))


def check_references(policy: Policy) -> PolicyCheckResult:
    """Check every cross-reference in ``policy``; return the errors and warnings found."""
    result = PolicyCheckResult()
    _check_unique(result, "models", [model.id for model in policy.models], "model id")
    _check_unique(result, "tenants", [tenant.id for tenant in policy.tenants], "tenant id")
    _check_unique(result, "routes", [route.name for route in policy.routes], "route name")
    _check_namespaces(result, policy)
    _check_model_refs(result, policy)
    _check_tenant_refs(result, policy)
    _check_route_refs(result, policy)
    for index, route in enumerate(policy.routes):
        _check_route(result, policy, index, route)
    _check_reachability(result, policy)
    return result


def _check_unique(result: PolicyCheckResult, section: str, names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            result.error((section, index), f"duplicate {what} '{name}'")
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


def _unknown(
    result: PolicyCheckResult, location: Location, names: Iterable[str], known: Iterable[str], what: str
) -> None:
    known_set = set(known)
    for index, name in enumerate(names):
        if name not in known_set:
            result.error((*location, index), f"unknown {what} '{name}'")


def _check_model_refs(result: PolicyCheckResult, policy: Policy) -> None:
    models = policy.model_by_id
    all_tags = {tag for model in policy.models for tag in model.tags}
    for index, tenant in enumerate(policy.tenants):
        _unknown(result, ("tenants", index, "allowed_models"), tenant.allowed_models or (), models, "model")
        _unknown(result, ("tenants", index, "allowed_tags"), tenant.allowed_tags or (), all_tags, "tag")
        if tenant.pinning is not None and tenant.pinning.models != "*":
            _unknown(result, ("tenants", index, "pinning", "models"), tenant.pinning.models, models, "model")
    if policy.pinning.models != "*":
        _unknown(result, ("pinning", "models"), policy.pinning.models, models, "model")
    for index, route in enumerate(policy.routes):
        for location, model_id in route.all_model_refs():
            where = ("routes", index, *location)
            if model_id not in models:
                result.error(where, f"unknown model '{model_id}'")
            elif not models[model_id].enabled:
                result.warn(where, f"model '{model_id}' is disabled and will always be skipped")


def _check_tenant_refs(result: PolicyCheckResult, policy: Policy) -> None:
    for index, route in enumerate(policy.routes):
        _unknown(
            result,
            ("routes", index, "when", "tenants"),
            route.when.tenants or (),
            policy.tenant_by_id,
            "tenant",
        )


def _check_route_refs(result: PolicyCheckResult, policy: Policy) -> None:
    routes = policy.route_by_name
    if policy.defaults.route is not None and policy.defaults.route not in routes:
        result.error(("defaults", "route"), f"unknown route '{policy.defaults.route}'")
    if policy.pinning.routes != "*":
        _unknown(result, ("pinning", "routes"), policy.pinning.routes, routes, "route")
    for index, tenant in enumerate(policy.tenants):
        for field in ("default_route", "over_budget_route"):
            name = getattr(tenant, field)
            if name is not None and name not in routes:
                result.error(("tenants", index, field), f"unknown route '{name}'")
        if tenant.pinning is not None and tenant.pinning.routes != "*":
            _unknown(result, ("tenants", index, "pinning", "routes"), tenant.pinning.routes, routes, "route")


def _check_route(result: PolicyCheckResult, policy: Policy, index: int, route: Route) -> None:
    base: Location = ("routes", index)
    for location, models in route.model_lists():
        seen: set[str] = set()
        for position, model_id in enumerate(models):
            if model_id in seen:
                result.error((*base, *location, position), f"model '{model_id}' is listed more than once")
            seen.add(model_id)
    if route.strategy is Strategy.THRESHOLD:
        _check_thresholds(result, base, route)
    if route.learned is not None:
        _check_model_map(result, policy, base, route)
    if route.strategy is Strategy.WEIGHTED:
        _check_unique(
            result, format_path((*base, "variants")), [v.name for v in route.variants or ()], "variant"
        )
    required, matched = route.limits.output_format, route.when.response_formats
    if required is not None and matched is not None and required not in matched:
        result.error(
            (*base, "limits", "output_format"),
            f"requires '{required}' but the route only matches {', '.join(matched)} requests",
        )
    known = [policy.model_by_id[m] for _, m in route.all_model_refs() if m in policy.model_by_id]
    if known and not any(model.enabled for model in known):
        result.warn(base, "every model of this route is disabled")


def _check_model_map(result: PolicyCheckResult, policy: Policy, base: Location, route: Route) -> None:
    """Every candidate of a learned route has exactly one artifact name, and every name maps to a
    catalog model."""
    assert route.learned is not None
    model_map = route.learned.model_map
    mapped: dict[str, str] = {}
    for name, model_id in model_map.items():
        where = (*base, "learned", "model_map", name)
        if model_id not in policy.model_by_id:
            result.error(where, f"unknown model '{model_id}'")
        elif model_id in mapped:
            result.error(where, f"model '{model_id}' is already the target of '{mapped[model_id]}'")
        elif model_id not in (route.models or ()):
            result.warn(where, f"model '{model_id}' is not one of this route's models")
        mapped.setdefault(model_id, name)
    for position, model_id in enumerate(route.models or ()):
        if model_id not in mapped:
            result.error(
                (*base, "models", position),
                f"model '{model_id}' has no entry in learned.model_map (map the artifact's name for it)",
            )


def _check_thresholds(result: PolicyCheckResult, base: Location, route: Route) -> None:
    tiers = list(route.tiers or {})
    thresholds = route.thresholds or {}
    for name in thresholds:
        if name not in tiers:
            result.error((*base, "thresholds", name), f"unknown tier '{name}' (tiers: {', '.join(tiers)})")
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


def _check_reachability(result: PolicyCheckResult, policy: Policy) -> None:
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
