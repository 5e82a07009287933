"""The policy document: catalog, tenants and routes, plus policy-wide defaults."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import DataClassification, Identifier, StrictModel
from modelrouter.policy.execution import Execution
from modelrouter.policy.routes import Route
from modelrouter.policy.tenants import Pinning, Tenant

__all__ = ["Defaults", "Policy"]


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
