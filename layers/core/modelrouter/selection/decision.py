"""What the engine decided and why: the route, the ordered candidates, and every model left out."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from modelrouter.features.records import RequestFeatures
from modelrouter.policy.check_specs import Checks
from modelrouter.policy.common import Capability, DataClassification, DeploymentMode, ProviderKind
from modelrouter.policy.routes import Strategy, StreamingMode

__all__ = [
    "BanditChoice",
    "Candidate",
    "ChoiceDistribution",
    "ComplianceBasis",
    "Decision",
    "Exclusion",
    "ExclusionReason",
    "LearnedChoice",
    "RouteMatch",
    "RouteTrace",
    "TierDifficulty",
    "WhenClause",
]


class ExclusionReason(StrEnum):
    """Why a model was left out. Checked in this order; the first that applies is reported."""

    DISABLED = "disabled"
    COOLING_DOWN = "cooling_down"
    TENANT_NOT_ALLOWED = "tenant_not_allowed"
    CLASSIFICATION_NOT_CLEARED = "classification_not_cleared"
    RESIDENCY = "residency"
    DEPLOYMENT_MODE = "deployment_mode"
    CAPABILITY_MISSING = "capability_missing"
    CONTEXT_TOO_SMALL = "context_too_small"
    OUTPUT_TOO_SMALL = "max_output_too_small"
    TOO_SLOW = "over_latency_budget"
    OVER_COST_LIMIT = "over_request_cost_limit"
    OTHER_TIER = "not_in_selected_tier"
    PREDICTED_BELOW_SKIP = "predicted_below_skip"


class RouteMatch(StrEnum):
    """How the route was chosen."""

    WHEN = "when"
    """Its ``when`` clause matched (first match wins)."""
    TENANT_DEFAULT = "tenant_default"
    """No route matched; the tenant's ``default_route``."""
    POLICY_DEFAULT = "policy_default"
    """No route matched; the policy's ``defaults.route``."""
    PINNED_ROUTE = "pinned_route"
    """The request named the route in ``model``."""
    PINNED_MODEL = "pinned_model"
    """The request named a model in ``model``; the matched route supplies limits and checks."""
    OVER_BUDGET = "over_budget"
    """The tenant is over budget; its ``over_budget_route``."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exclusion(_Frozen):
    """A model the route could have used, left out for a reason."""

    model: str
    """Model id."""
    reason: ExclusionReason
    """Reason code."""
    detail: str
    """The numbers behind the reason (``needs 140000 tokens, window 128000``)."""


class Candidate(_Frozen):
    """A model to try, in order, with what to send it and what it may cost."""

    model: str
    """Model id in the catalog."""
    provider: ProviderKind
    """How it is called."""
    provider_model_id: str
    """The provider's pinned model id."""
    residency: str
    """Where the model processes data (the catalog's ``residency``)."""
    deployment_mode: DeploymentMode
    """How the model is deployed (the catalog's ``deployment_mode``)."""
    source: str
    """Why it is in the list: ``models``, ``tier:hard``, ``variant:champion``, ``escalation:deep``,
    ``learned:target`` (cheapest predicted to reach the quality target), ``learned:best`` (none reaches
    it: the best predicted), ``learned:utility`` (by predicted quality and cost) …"""
    max_output_tokens: int = Field(ge=1)
    """``max_tokens`` to send: the request's, or capped by the window and the route's cost limit."""
    estimated_cost_usd: float = Field(ge=0)
    """Cost with the expected answer length."""
    max_cost_usd: float = Field(ge=0)
    """Worst-case cost (the full ``max_output_tokens``): what a budget must reserve."""
    predicted_quality: float | None = None
    """Learned routes: the router's predicted quality (0–1) of this model's answer to the request."""


class LearnedChoice(_Frozen):
    """How a learned route ordered its candidates: which router, which objective, and whether it could."""

    router: str
    """The artifact's key."""
    digest: str | None
    """``sha256:`` of the artifact that scored the request (None: it was not loaded)."""
    objective: Literal["quality_target", "cost_weight"]
    """The route's objective."""
    value: float
    """The quality target, or λ (quality given up per USD)."""
    applied: bool
    """False when the router could not score the request and the listed order was used (see notes)."""


class TierDifficulty(_Frozen):
    """The difficulty a threshold route picked its tier by, and where it came from."""

    value: float
    """The difficulty (0–1)."""
    source: Literal["features", "learned"]
    """``features``: the hand-made score of the request features; ``learned``: 1 - the router's
    predicted quality of ``model``."""
    router: str | None = None
    """Learned: the artifact's key."""
    digest: str | None = None
    """Learned: ``sha256:`` of the artifact."""
    model: str | None = None
    """Learned: the artifact's model whose failure the difficulty predicts."""


class WhenClause(_Frozen):
    """One condition of a route's ``when``, whether it held for the request, and why."""

    clause: str
    """The condition: ``tags``, ``difficulty``, ``metadata.risk_score`` …"""
    matched: bool
    """Whether it held."""
    detail: str
    """What was compared (``'0.42' between 0.3 and 0.7``, ``'high' is not a number``)."""


class RouteTrace(_Frozen):
    """A route the engine tried, in policy order, with each of its conditions."""

    route: str
    """Route name."""
    matched: bool
    """Whether its ``when`` held (every condition did)."""
    clauses: tuple[WhenClause, ...]
    """Its conditions in evaluation order; empty for a catch-all."""


class ChoiceDistribution(_Frozen):
    """How likely the route's strategy was to put each model first for this request (stochastic
    strategies: ``weighted``, ``bandit``), given the request and, for a bandit, the posteriors."""

    probabilities: dict[str, float]
    """Model id to the probability of being the primary candidate; sums to 1 over eligible models."""
    method: Literal["exact", "monte_carlo"]
    """``exact`` (a weighted split's closed form), or ``monte_carlo`` (Thompson sampling's choice
    distribution estimated with ``draws`` posterior draws; the primary is then drawn from exactly this
    distribution, so the recorded propensity is the probability it was drawn with)."""
    draws: int | None = None
    """Monte Carlo: how many posterior draws estimated the distribution."""


class BanditChoice(_Frozen):
    """What a bandit route knew and did: the segment, its evidence and the state item it learns into."""

    segment: str
    """The request's segment key (``language=de|difficulty=1``; ``all`` without segments)."""
    state_key: str
    """Partition key of the route's learning state (``bandit#<policy>#<route>``)."""
    window_seconds: int
    """Width of a window of evidence (the outcome is added to the window of the request's start)."""
    horizon_seconds: int
    """How long a window is kept (its items' TTL after the window ends)."""
    cost_weight: float
    """λ of the reward (quality - λ · cost)."""
    evidence: dict[str, float]
    """Model id to the decayed number of outcomes its posterior holds in this segment."""
    posterior_mean: dict[str, float]
    """Model id to its posterior mean quality in this segment (the prior's without evidence)."""
    estimated_cost_usd: dict[str, float]
    """Model id to the estimated cost of this request used in the reward."""
    state_age_s: float | None = None
    """Age of the container's copy of the posteriors (None: no learning table, priors only)."""
    prior: Literal["uniform", "learned"] = "uniform"
    """Where the priors came from."""


class ComplianceBasis(_Frozen):
    """Why the request has its data classification, and the deployment modes it may go to."""

    classification_source: Literal["declared", "tenant_default", "pii_detected"]
    """``declared`` in ``metadata.data_classification``, the tenant's ``default_classification``, or
    raised to ``defaults.pii_classification`` because personal data was found."""
    classification_reason: str
    """The same in words (``raised from internal to confidential: PII found (email)``)."""
    required_deployment_modes: tuple[DeploymentMode, ...] | None = None
    """The modes the tenant and the classification allow (sorted); None: any."""


class Decision(_Frozen):
    """The engine's answer for one request. Safe to log: it holds no prompt text."""

    request_id: str
    """The request id."""
    tenant: str
    """The tenant."""
    policy: str
    """Policy name."""
    policy_version: str
    """The policy version (S3 version id or content digest)."""
    route: str
    """The route used."""
    matched_by: RouteMatch
    """How the route was chosen."""
    strategy: Strategy
    """The route's strategy."""
    tier: str | None = None
    """Threshold routes: the tier the difficulty selected."""
    variant: str | None = None
    """Weighted routes: the variant the request id fell into."""
    tier_difficulty: TierDifficulty | None = None
    """Threshold routes: the difficulty the tier was picked by, and its source."""
    learned: LearnedChoice | None = None
    """Learned routes: the router and objective that ordered the candidates."""
    choice: ChoiceDistribution | None = None
    """Stochastic strategies (``weighted``, ``bandit``): the distribution the primary was drawn from."""
    propensity: float = Field(default=1.0, ge=0, le=1)
    """Probability that the strategy put this primary first for this request (1 for deterministic
    strategies and pinned models): logged for off-policy evaluation."""
    bandit: BanditChoice | None = None
    """Bandit routes: segment, evidence, and where the outcome is learned."""
    classification: DataClassification
    """Effective data classification (declared or default, raised when PII is found)."""
    compliance: ComplianceBasis
    """Where the classification came from and the deployment modes it requires."""
    required_capabilities: tuple[Capability, ...]
    """Capabilities every candidate has."""
    candidates: tuple[Candidate, ...] = Field(min_length=1)
    """Models to try, in order: the primary first."""
    exclusions: tuple[Exclusion, ...]
    """Models left out, each with its reason."""
    latency_budget_ms: int | None
    """The route's deadline for the whole request."""
    attempt_timeout_ms: int | None = None
    """The route's (or policy's) limit on one model call; None: derived from the time left."""
    first_byte_timeout_ms: int | None = None
    """The route's (or policy's) limit on waiting for a provider's first byte."""
    checks: Checks
    """Checks to run on each answer."""
    streaming: StreamingMode = "auto"
    """The route's streaming mode."""
    features: RequestFeatures
    """The request features the decision was based on."""
    notes: tuple[str, ...] = ()
    """Other facts worth recording (e.g. why the classification was raised)."""
    when_trace: tuple[RouteTrace, ...] = ()
    """Asked for an explanation (``route --explain``, ``POST /v1/route``): the routes tried in order up to
    the one that matched (all of them when none did), each condition with why it held or not."""

    @property
    def primary(self) -> Candidate:
        """The first model to try."""
        return self.candidates[0]
