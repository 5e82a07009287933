"""Tenants: who may use the router, with what budget, models, data and regions."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from modelrouter.policy.common import (
    DataClassification,
    DeploymentMode,
    Identifier,
    StrictModel,
    classification_rank,
)

__all__ = ["Budget", "Pinning", "Tenant"]


class Budget(StrictModel):
    """Spending limits in USD; a request is admitted only if its worst-case cost fits every limit."""

    daily_usd: float | None = Field(default=None, gt=0)
    """Limit per UTC day."""
    monthly_usd: float | None = Field(default=None, gt=0)
    """Limit per UTC calendar month."""

    @model_validator(mode="after")
    def _at_least_one_limit(self) -> Self:
        if self.daily_usd is None and self.monthly_usd is None:
            raise ValueError("give 'daily_usd', 'monthly_usd' or both")
        return self


class Pinning(StrictModel):
    """Which routes and models a request may name in its ``model`` field instead of ``auto``."""

    routes: list[Identifier] | Literal["*"] = Field(default_factory=list)
    """Route names a request may pin, or ``*`` for all."""
    models: list[Identifier] | Literal["*"] = Field(default_factory=list)
    """Model ids a request may pin, or ``*`` for all."""

    def allows_route(self, name: str) -> bool:
        """Whether a request may pin route ``name``."""
        return self.routes == "*" or name in self.routes

    def allows_model(self, model_id: str) -> bool:
        """Whether a request may pin model ``model_id``."""
        return self.models == "*" or model_id in self.models


class Tenant(StrictModel):
    """A customer or internal team, identified by the API key it calls with."""

    id: Identifier
    """Tenant id, as the authorizer reports it."""
    description: str | None = None
    """Who this is."""
    budget: Budget
    """Spending limits."""
    allowed_models: list[Identifier] | None = None
    """Model ids this tenant may use; with ``allowed_tags``, a model is allowed if either admits it."""
    allowed_tags: list[Identifier] | None = None
    """Model tags this tenant may use. Neither list given: every model is allowed."""
    max_classification: DataClassification = DataClassification.INTERNAL
    """The most sensitive data this tenant may send; more sensitive requests are refused."""
    default_classification: DataClassification = DataClassification.INTERNAL
    """Classification assumed when a request declares none."""
    default_route: Identifier | None = None
    """Route used when no route's ``when`` matches (else the policy's ``defaults.route``)."""
    over_budget_route: Identifier | None = None
    """Cheaper route to downgrade to when the budget is exhausted, instead of refusing."""
    regions: list[Identifier] | None = None
    """Model residencies this tenant's data may go to (``[eu]``); all when omitted."""
    required_deployment_modes: frozenset[DeploymentMode] | None = Field(default=None, min_length=1)
    """Deployment modes this tenant's data may go to (``[vpc, on_prem]``); any when omitted. Applies on
    top of the modes ``defaults.deployment_modes_by_classification`` requires."""
    pinning: Pinning | None = None
    """Replaces the policy-wide ``pinning`` for this tenant."""
    retention_days: int = Field(default=30, ge=1, le=3650)
    """How long provenance records of this tenant are kept."""
    store_prompts: bool = False
    """Keep the full prompt in provenance records; by default only its SHA-256 is kept."""
    idempotency_window_s: int = Field(default=86_400, ge=60, le=86_400)
    """How long a response to an ``Idempotency-Key`` request is kept to answer retries (its answer text
    is stored in the idempotency table for this long, then expires)."""

    @model_validator(mode="after")
    def _default_within_max(self) -> Self:
        if classification_rank(self.default_classification) > classification_rank(self.max_classification):
            raise ValueError(
                f"default_classification '{self.default_classification}' is above"
                f" max_classification '{self.max_classification}'"
            )
        return self

    def allows_model(self, model_id: str, model_tags: frozenset[str]) -> bool:
        """Whether this tenant may use a model with this id and these tags."""
        if self.allowed_models is None and self.allowed_tags is None:
            return True
        if self.allowed_models is not None and model_id in self.allowed_models:
            return True
        return self.allowed_tags is not None and not model_tags.isdisjoint(self.allowed_tags)
