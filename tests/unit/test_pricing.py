"""Cost arithmetic from catalog prices, cached prompt tokens included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.helpers import model_entry

from modelrouter.policy import ModelSpec
from modelrouter.pricing import cost_usd, usage_cost_usd
from modelrouter.providers.types import Usage


def model(**pricing: float) -> ModelSpec:
    return ModelSpec.model_validate(
        model_entry("m", pricing={"input_per_mtok": 3, "output_per_mtok": 15, **pricing})
    )


def test_estimate_is_tokens_times_list_prices() -> None:
    assert cost_usd(model(), 1_000_000, 100_000) == pytest.approx(3 + 1.5)


def test_cache_reads_and_writes_use_their_own_prices() -> None:
    # Given Anthropic-style cache prices (reads 10%, writes 125% of input)
    priced = model(cache_read_per_mtok=0.3, cache_write_per_mtok=3.75)
    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=10_000, cache_write_tokens=2_000)
    # Then each part is charged at its price
    expected = (1_000 * 3 + 500 * 15 + 10_000 * 0.3 + 2_000 * 3.75) / 1e6
    assert usage_cost_usd(priced, usage) == pytest.approx(expected)


def test_without_cache_prices_cached_tokens_cost_the_input_price() -> None:
    usage = Usage(input_tokens=0, output_tokens=0, cache_read_tokens=1_000_000)
    assert usage_cost_usd(model(), usage) == pytest.approx(3)


@given(st.integers(0, 10**7), st.integers(0, 10**6), st.integers(0, 10**7), st.integers(0, 10**6))
def test_cost_is_never_negative_and_grows_with_usage(inp: int, out: int, read: int, write: int) -> None:
    priced = model(cache_read_per_mtok=0.3, cache_write_per_mtok=3.75)
    base = usage_cost_usd(priced, Usage(inp, out, read, write))
    assert base >= 0
    assert usage_cost_usd(priced, Usage(inp + 1, out, read, write)) > base
