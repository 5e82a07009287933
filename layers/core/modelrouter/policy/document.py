"""The policy document: catalog, tenants and routes, plus policy-wide defaults."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import (
    DataClassification,
    DeploymentMode,
    Identifier,
    StrictModel,
    classification_rank,
)
from modelrouter.policy.execution import Execution
from modelrouter.policy.learned import Topics
from modelrouter.policy.routes import Route
from modelrouter.policy.tenants import Pinning, Tenant

__all__ = ["Defaults", "Policy"]

_Modes = Annotated[frozenset[DeploymentMode], Field(min_length=1)]


class Defaults(StrictModel):
    """Policy-wide defaults."""

    route: Identifier | None = None
    """Route used when no route matches and the tenant names no ``default_route``."""
    expected_output_tokens: int = Field(default=400, ge=1)
    """Answer length assumed for cost estimates when ranking candidates (worst cases use max_tokens)."""
    pii_classification: DataClassification = DataClassification.CONFIDENTIAL
    """Classification a request is raised to when personal data is found in it."""
    budget_store_failure: Literal["fail_closed", "fail_open"] = "fail_closed"
    """When the budget table cannot be reached: refuse (default) or serve without a budget check."""
    deployment_modes_by_classification: dict[DataClassification, _Modes] = Field(default_factory=dict)
    """Deployment modes data of a classification may go to (``{restricted: [vpc, on_prem,
    zero_retention]}``). A level's modes also bind every more sensitive level, so a request must go to
    a mode listed for its level and for each less sensitive level listed; none listed: any mode."""

    def deployment_modes_for(self, level: DataClassification) -> frozenset[DeploymentMode] | None:
        """The deployment modes data of ``level`` may go to (every listed level up to it binds it), or
        None when no listed level binds it."""
        rank = classification_rank(level)
        binding = [
            modes
            for listed, modes in self.deployment_modes_by_classification.items()
            if classification_rank(listed) <= rank
        ]
        return frozenset.intersection(*binding) if binding else None


class Policy(StrictModel):
    """A routing policy (``version: 1``)."""

    version: Literal[1]
    """Policy language version."""
    name: Identifier
    """Policy name, recorded in provenance."""
    description: str | None = None
    """What this policy is for."""
    defaults: Defaults = Field(default_factory=Defaults)
    """Policy-wide defaults."""
    pinning: Pinning = Field(default_factory=Pinning)
    """What requests may pin by default (nothing); tenants may override."""
    execution: Execution = Field(default_factory=Execution)
    """Retries, backoff, deadlines, cooldowns and concurrency caps."""
    models: list[ModelSpec] = Field(min_length=1)
    """The model catalog."""
    tenants: list[Tenant] = Field(min_length=1)
    """Tenants."""
    routes: list[Route] = Field(min_length=1)
    """Routes, in order: the first whose ``when`` matches is used."""
    topics: Topics | None = None
    """The topic classifier that gives each request the ``topic`` routes match with ``when.topics``;
    without it, no request has a topic and ``when.topics`` is an error."""

    @cached_property
    def model_by_id(self) -> dict[str, ModelSpec]:
        """Catalog lookup by model id."""
        return {model.id: model for model in self.models}

    @cached_property
    def tenant_by_id(self) -> dict[str, Tenant]:
        """Tenant lookup by id."""
        return {tenant.id: tenant for tenant in self.tenants}

    @cached_property
    def route_by_name(self) -> dict[str, Route]:
        """Route lookup by name."""
        return {route.name: route for route in self.routes}

    def pinning_for(self, tenant: Tenant) -> Pinning:
        """The pinning rules that apply to ``tenant``."""
        return tenant.pinning if tenant.pinning is not None else self.pinning
