"""What a tenant may name in a request's ``model``: ``auto``, the routes and the models it may pin.

One predicate serves both sides: the decision engine refuses a pin with :func:`route_refusal` /
:func:`model_refusal`, and ``GET /v1/models`` lists :func:`nameable`, which is every name both say
yes to. So a listed name is never refused as not allowed, and a name left out always is.

A model may be named when the tenant's pinning (or the policy's) allows it and the model can ever
answer for the tenant: enabled, and not excluded by the compliance rules the engine applies
(:func:`~modelrouter.selection.compliance.compliance_exclusion`: allowed by the tenant's
``allowed_models``/``allowed_tags``, running in one of its ``regions``, deployed in a mode its
``required_deployment_modes`` and the least sensitive classification allow). A route may be named
when pinning allows it and at least one of its models can answer for the tenant. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.document import Policy
from modelrouter.policy.routes import Route
from modelrouter.policy.tenants import Tenant
from modelrouter.selection.compliance import Clearance, compliance_exclusion

__all__ = [
    "AUTO",
    "NameKind",
    "Named",
    "model_refusal",
    "nameable",
    "route_refusal",
    "serves_tenant",
]

AUTO = "auto"
"""The ``model`` value that lets the policy decide."""

NameKind = Literal["auto", "route", "model"]
"""What a name in ``model`` stands for."""


@dataclass(frozen=True, slots=True)
class Named:
    """A name the tenant may put in ``model``, and the catalog models that may answer it."""

    id: str
    """The name: ``auto``, a route name or a model id."""
    kind: NameKind
    """Whether it is ``auto``, a route or a model."""
    models: tuple[ModelSpec, ...]
    """The models that may answer a request naming it, for this tenant (policy order, no repeats)."""
    route: Route | None = None
    """The route, for ``kind == "route"``."""


def serves_tenant(model: ModelSpec, clearance: Clearance) -> bool:
    """Whether ``model`` can ever answer for a tenant whose least demanding request has ``clearance``
    (:meth:`Clearance.least`): enabled, and not excluded by the compliance rules."""
    return model.enabled and compliance_exclusion(model, clearance) is None


def _route_models(policy: Policy, route: Route, tenant: Tenant) -> tuple[ModelSpec, ...]:
    ids = dict.fromkeys(model_id for _, model_id in route.all_model_refs())
    models = (policy.model_by_id[model_id] for model_id in ids if model_id in policy.model_by_id)
    clearance = Clearance.least(policy.defaults, tenant)
    return tuple(model for model in models if serves_tenant(model, clearance))


def route_refusal(policy: Policy, tenant: Tenant, name: str) -> str | None:
    """Why ``tenant`` may not pin route ``name`` of ``policy``, or None when it may."""
    if not policy.pinning_for(tenant).allows_route(name):
        return f"this tenant may not pin route '{name}'"
    if not _route_models(policy, policy.route_by_name[name], tenant):
        return f"route '{name}' has no model this tenant may use"
    return None


def model_refusal(policy: Policy, tenant: Tenant, model_id: str) -> str | None:
    """Why ``tenant`` may not pin model ``model_id`` of ``policy``, or None when it may."""
    if not policy.pinning_for(tenant).allows_model(model_id):
        return f"this tenant may not pin model '{model_id}'"
    if not serves_tenant(policy.model_by_id[model_id], Clearance.least(policy.defaults, tenant)):
        return f"model '{model_id}' is not available to this tenant"
    return None


def nameable(policy: Policy, tenant: Tenant) -> list[Named]:
    """Every name ``tenant`` may put in ``model``: ``auto``, then routes, then models, in policy order."""
    reachable: dict[str, ModelSpec] = {}
    routes: list[Named] = []
    for route in policy.routes:
        models = _route_models(policy, route, tenant)
        reachable.update((model.id, model) for model in models)
        if route_refusal(policy, tenant, route.name) is None:
            routes.append(Named(route.name, "route", models, route))
    pinnable = [
        Named(model.id, "model", (model,))
        for model in policy.models
        if model_refusal(policy, tenant, model.id) is None
    ]
    ordered = tuple(model for model in policy.models if model.id in reachable)
    return [Named(AUTO, "auto", ordered), *routes, *pinnable]
