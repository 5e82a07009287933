"""Whether one model may serve one request, and if so what to send it and what it may cost."""

from __future__ import annotations

from dataclasses import dataclass

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import Capability
from modelrouter.policy.routes import Limits
from modelrouter.pricing import cost_usd
from modelrouter.selection.compliance import Clearance, compliance_exclusion
from modelrouter.selection.decision import Exclusion, ExclusionReason

__all__ = ["Demand", "Sizing", "assess"]

_PER_MILLION = 1_000_000
"""Prices are per million tokens."""


@dataclass(frozen=True, slots=True)
class Demand:
    """What the request needs from any model, computed once per decision."""

    clearance: Clearance
    """The tenant, the effective classification, and the residency and deployment modes allowed."""
    capabilities: frozenset[Capability]
    """Capabilities a model must have."""
    prompt_tokens: int
    """Estimated prompt tokens."""
    requested_output_tokens: int | None
    """The request's ``max_tokens``, if any."""
    expected_output_tokens: int
    """Answer length assumed for the expected cost."""
    limits: Limits
    """The route's limits."""
    cooling_down: frozenset[str]
    """Models whose circuit breaker is open."""
    default_output_tokens: int | None = None
    """``max_tokens`` for a request that sets none (the route's or policy's ``default_max_tokens``)."""


@dataclass(frozen=True, slots=True)
class Sizing:
    """What to send an eligible model and what the call may cost."""

    max_output_tokens: int
    """``max_tokens`` to send."""
    estimated_cost_usd: float
    """Cost with the expected answer length."""
    max_cost_usd: float
    """Worst-case cost."""


def assess(model: ModelSpec, demand: Demand) -> Sizing | Exclusion:
    """Size the call for ``model``, or say why it is left out (the first reason that applies)."""
    reason, detail = _compliance(model, demand)
    if reason is None:
        reason, detail = _capacity(model, demand)
    if reason is not None:
        return Exclusion(model=model.id, reason=reason, detail=detail)
    return _size(model, demand)


def _compliance(model: ModelSpec, demand: Demand) -> tuple[ExclusionReason | None, str]:
    if not model.enabled:
        return ExclusionReason.DISABLED, "disabled in the catalog"
    if model.id in demand.cooling_down:
        return ExclusionReason.COOLING_DOWN, "circuit breaker open after recent failures"
    return compliance_exclusion(model, demand.clearance) or (None, "")


def _capacity(model: ModelSpec, demand: Demand) -> tuple[ExclusionReason | None, str]:
    if missing := demand.capabilities - model.capabilities:
        return ExclusionReason.CAPABILITY_MISSING, f"lacks {', '.join(sorted(missing))}"
    requested = demand.requested_output_tokens
    if requested is not None and requested > model.max_output_tokens:
        return (
            ExclusionReason.OUTPUT_TOO_SMALL,
            f"max_tokens {requested} > model limit {model.max_output_tokens}",
        )
    answer_floor = min(requested or demand.expected_output_tokens, model.max_output_tokens)
    if demand.prompt_tokens + answer_floor > model.context_window:
        return (
            ExclusionReason.CONTEXT_TOO_SMALL,
            f"needs ≈{demand.prompt_tokens} + {answer_floor} tokens, window {model.context_window}",
        )
    budget_ms = demand.limits.latency_budget_ms
    if (
        budget_ms is not None
        and model.typical_latency_ms is not None
        and model.typical_latency_ms > budget_ms
    ):
        return (
            ExclusionReason.TOO_SLOW,
            f"typically {model.typical_latency_ms} ms, route budget {budget_ms} ms",
        )
    return None, ""


def _size(model: ModelSpec, demand: Demand) -> Sizing | Exclusion:
    room = min(model.max_output_tokens, model.context_window - demand.prompt_tokens)
    max_output = demand.requested_output_tokens or min(room, demand.default_output_tokens or room)
    expected = min(demand.expected_output_tokens, max_output)
    limit = demand.limits.max_cost_usd
    if limit is not None and cost_usd(model, demand.prompt_tokens, max_output) > limit:
        if demand.requested_output_tokens is not None:
            worst = cost_usd(model, demand.prompt_tokens, max_output)
            return Exclusion(
                model=model.id,
                reason=ExclusionReason.OVER_COST_LIMIT,
                detail=f"worst case ${worst:.4f} > route limit ${limit:.4f}",
            )
        # No max_tokens from the client: cap the answer so the worst case fits the route's limit.
        max_output = min(max_output, _affordable_output_tokens(model, demand.prompt_tokens, limit))
        if max_output < expected:
            needed = cost_usd(model, demand.prompt_tokens, expected)
            return Exclusion(
                model=model.id,
                reason=ExclusionReason.OVER_COST_LIMIT,
                detail=f"expected ${needed:.4f} > route limit ${limit:.4f}",
            )
    return Sizing(
        max_output_tokens=max_output,
        estimated_cost_usd=cost_usd(model, demand.prompt_tokens, expected),
        max_cost_usd=cost_usd(model, demand.prompt_tokens, max_output),
    )


def _affordable_output_tokens(model: ModelSpec, prompt_tokens: int, limit_usd: float) -> int:
    left = limit_usd * _PER_MILLION - prompt_tokens * model.pricing.input_per_mtok
    if left <= 0:
        return 0
    if model.pricing.output_per_mtok == 0:
        return model.max_output_tokens
    return int(left // model.pricing.output_per_mtok)
