"""Price arithmetic: estimates before a call and the cost of an answer after it, from catalog prices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrouter.policy.catalog import ModelSpec

if TYPE_CHECKING:
    from modelrouter.providers.types import Usage

__all__ = ["cost_usd", "usage_cost_usd"]

_PER_MILLION = 1_000_000


def cost_usd(model: ModelSpec, input_tokens: int, output_tokens: int) -> float:
    """Cost of a call at the model's list prices, without prompt caching (used for estimates)."""
    pricing = model.pricing
    return (input_tokens * pricing.input_per_mtok + output_tokens * pricing.output_per_mtok) / _PER_MILLION


def usage_cost_usd(model: ModelSpec, usage: Usage) -> float:
    """Cost of a finished call from reported usage; cached prompt tokens at their own prices.

    Where the catalog has no cache price, cached tokens are charged at the input price (the safe side).
    """
    pricing = model.pricing
    cache_read = (
        pricing.cache_read_per_mtok if pricing.cache_read_per_mtok is not None else pricing.input_per_mtok
    )
    cache_write = (
        pricing.cache_write_per_mtok if pricing.cache_write_per_mtok is not None else pricing.input_per_mtok
    )
    total = (
        usage.input_tokens * pricing.input_per_mtok
        + usage.output_tokens * pricing.output_per_mtok
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
    )
    return total / _PER_MILLION
