"""Candidate order per strategy: which models a route offers, in what order, and labelled why."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from modelrouter.policy.routes import Route, Strategy, Variant

__all__ = ["Ordering", "bucket", "order_candidates", "pick_tier", "pick_variant", "weighted_choice"]


@dataclass(frozen=True, slots=True)
class Ordering:
    """The route's models in the order to try them, plus models the strategy set aside."""

    ordered: list[tuple[str, str]]
    """``(model id, source)`` pairs, best first, without repeats."""
    set_aside: list[str]
    """Models of the route the strategy did not offer (lower tiers)."""
    tier: str | None = None
    """The selected tier, for threshold routes."""
    variant: str | None = None
    """The selected variant, for weighted routes."""


def bucket(route_name: str, request_id: str) -> float:
    """A stable number in [0, 1) for this route and request id (same input, same number)."""
    digest = hashlib.blake2b(f"{route_name}\x00{request_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pick_tier(route: Route, difficulty: float) -> str:
    """The tier whose threshold is the highest one at or below ``difficulty`` (the first tier otherwise)."""
    tiers = list(route.tiers or {})
    thresholds = route.thresholds or {}
    chosen = tiers[0]
    for name in tiers[1:]:
        if difficulty >= thresholds[name]:
            chosen = name
    return chosen


def pick_variant(route: Route, request_id: str) -> Variant:
    """The variant a request id falls into, proportionally to the weights."""
    variants = route.variants or []
    point = bucket(route.name, request_id) * sum(variant.weight for variant in variants)
    for variant in variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    return variants[-1]


def order_candidates(
    route: Route, difficulty: float, request_id: str, estimated_cost: Callable[[str], float]
) -> Ordering:
    """Order the route's models by its strategy.

    ``estimated_cost`` prices a model for this request; only ``cascade`` uses it (ties keep list order).
    ``difficulty`` picks a ``threshold`` route's tier. ``learned`` and ``bandit`` routes come back in
    listed order.
    """
    if route.strategy in {Strategy.FALLBACK, Strategy.LEARNED, Strategy.BANDIT}:
        # Learned and bandit routes are ordered after eligibility (selection.learned, selection.bandit).
        return Ordering(_unique((model, "models") for model in route.models or ()), [])
    if route.strategy is Strategy.CASCADE:
        by_cost = sorted(route.models or (), key=estimated_cost)
        return Ordering(_unique((model, "cascade") for model in by_cost), [])
    if route.strategy is Strategy.THRESHOLD:
        return _threshold(route, difficulty)
    return _weighted(route, request_id)


def _threshold(route: Route, difficulty: float) -> Ordering:
    tiers = route.tiers or {}
    chosen = pick_tier(route, difficulty)
    names = list(tiers)
    position = names.index(chosen)
    ordered = [(model, f"tier:{chosen}") for model in tiers[chosen]]
    # Stronger tiers follow as escalation; weaker ones are set aside.
    for name in names[position + 1 :]:
        ordered.extend((model, f"escalation:{name}") for model in tiers[name])
    unique = _unique(ordered)
    offered = {model for model, _ in unique}
    set_aside = [m for name in names[:position] for m in tiers[name] if m not in offered]
    return Ordering(unique, list(dict.fromkeys(set_aside)), tier=chosen)


def _variant_order(route: Route, chosen: Variant) -> list[tuple[str, str]]:
    """The models of ``chosen``, then the other variants' by weight (heaviest first), without repeats."""
    ordered = [(model, f"variant:{chosen.name}") for model in chosen.models]
    others = sorted((v for v in route.variants or () if v is not chosen), key=lambda v: -v.weight)
    for variant in others:
        ordered.extend((model, f"fallback:{variant.name}") for model in variant.models)
    return _unique(ordered)


def _weighted(route: Route, request_id: str) -> Ordering:
    chosen = pick_variant(route, request_id)
    return Ordering(_variant_order(route, chosen), [], variant=chosen.name)


def weighted_choice(route: Route, eligible: Iterable[str]) -> dict[str, float]:
    """The exact probability of each ``eligible`` model being a weighted route's primary: each variant's
    weight share goes to the first eligible model of its order (its own models, then the others')."""
    probabilities = dict.fromkeys(eligible, 0.0)
    variants = route.variants or []
    total = sum(variant.weight for variant in variants)
    for variant in variants:
        first = next((model for model, _ in _variant_order(route, variant) if model in probabilities), None)
        if first is not None:
            probabilities[first] += variant.weight / total
    return probabilities


def _unique(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    result: list[tuple[str, str]] = []
    for model, source in pairs:
        if model not in seen:
            seen.add(model)
            result.append((model, source))
    return result
