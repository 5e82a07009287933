"""The cost model's arithmetic (``make bench`` suite ``cost``), against numbers worked out by hand."""

from __future__ import annotations

import pytest
from benchmarks import cost_model
from benchmarks.bench_cost import template_defaults
from benchmarks.cost_capture import _price_request
from benchmarks.cost_model import CostInputs, cost_per_million


def test_gb_seconds_round_the_duration_up_to_the_millisecond() -> None:
    # 256 MB for 3000.2 ms is billed as 0.25 GB × 3.001 s
    assert cost_model.gb_seconds(256, 3000.2) == pytest.approx(0.75025)
    assert cost_model.gb_seconds(1024, 1000) == pytest.approx(1.0)


def test_cpu_time_scales_with_the_memory_share_below_a_full_vcpu() -> None:
    assert cost_model.cpu_scaled_ms(2.0, 1769) == pytest.approx(2.0)
    assert cost_model.cpu_scaled_ms(2.0, 3538) == pytest.approx(2.0)  # never faster than one vCPU
    assert cost_model.cpu_scaled_ms(1.0, 256) == pytest.approx(1769 / 256)


def test_item_size_follows_dynamodbs_rules() -> None:
    # name "pk" (2) + "tenant#a" (8); "n" (1) + 12345 (3 digit pairs rounded up + 1 = 4); "ok" (2) + 1;
    # "m" (1) + map: 3 + per element 1 + "x" (1) + "y" (1) = 6; "l" (1) + list: 3 + 2 × (1 + null 1) = 7
    item = {
        "pk": {"S": "tenant#a"},
        "n": {"N": "12345"},
        "ok": {"BOOL": True},
        "m": {"M": {"x": {"S": "y"}}},
        "l": {"L": [{"NULL": True}, {"NULL": True}]},
    }
    assert cost_model.item_size(item) == 10 + 5 + 3 + 7 + 8
    assert cost_model.attribute_value_size({"N": "0.00100"}) == 2  # leading/trailing zeros trimmed: "1"
    assert cost_model.attribute_value_size({"SS": ["ab", "c"]}) == 3
    assert cost_model.attribute_value_size({"B": b"\x00\x01\x02"}) == 3


def test_write_units_round_up_per_kb_and_double_in_transactions() -> None:
    assert cost_model.write_units(0) == 1
    assert cost_model.write_units(1024) == 1
    assert cost_model.write_units(1025) == 2
    assert cost_model.write_units(3249, transactional=True) == 8  # 4 KB, twice


def test_read_units_per_4_kb_half_when_eventually_consistent() -> None:
    assert cost_model.read_units(100, consistent=True) == 1
    assert cost_model.read_units(100, consistent=False) == 0.5
    assert cost_model.read_units(4097, consistent=True) == 2
    assert cost_model.read_units(100, consistent=True, transactional=True) == 2


def test_xray_default_rule_records_one_a_second_and_five_percent_of_the_rest() -> None:
    assert cost_model.xray_sampled_fraction(1.0) == pytest.approx(1.0)
    assert cost_model.xray_sampled_fraction(21.0) == pytest.approx((1 + 0.05 * 20) / 21)
    assert cost_model.xray_sampled_fraction(0.0) == 0.0


def test_a_request_is_priced_part_by_part() -> None:
    # Given a request: 10 ms of router CPU at full CPU, 12 ms of AWS waits, no cold starts, 18 WRU,
    # 1 RRU, 2^30 / 10^6 bytes of logs (1 GB a million), 1 authorizer call of 10 ms at 256 MB, all traced
    inputs = CostInputs(
        router_cpu_ms=10.0,
        aws_wait_ms=12.0,
        cold_init_ms=1000.0,
        cold_start_rate=0.0,
        write_units=18,
        read_units=1,
        log_bytes=2**30 / 1e6,
        authorizer_calls=1.0,
        authorizer_memory_mb=256,
        authorizer_ms=10.0,
        xray_fraction=1.0,
    )
    # When a 3 s call at 1769 MB (one vCPU: no scaling) is priced
    row = cost_per_million(inputs, 1769, 3.0)
    # Then: 1769/1024 GB × 3.022 s × $0.0000133334 × 10^6
    assert row.lambda_compute == pytest.approx(1769 / 1024 * 3.022 * 13.3334)
    assert row.lambda_requests == pytest.approx(0.20)
    # $3.50 + a million authorizer calls: $0.20 + 0.25 GB × 0.010 s × $13.3334
    assert row.front_door == pytest.approx(3.50 + 0.20 + 0.25 * 0.010 * 13.3334)
    assert row.dynamodb == pytest.approx(18 * 0.625 + 0.125)
    assert row.logs == pytest.approx(0.50)
    assert row.xray == pytest.approx(5.0)
    assert row.total == pytest.approx(
        row.lambda_compute + 0.20 + row.front_door + row.dynamodb + row.logs + row.xray
    )


def test_cold_starts_are_amortised_at_their_cpu_share() -> None:
    # Given 1 in 1,000 requests cold, 1 s of init at full CPU, at 256 MB (init 1769/256 s)
    base: dict[str, float] = {
        "router_cpu_ms": 0.0, "aws_wait_ms": 0.0, "cold_init_ms": 1000.0, "write_units": 0, "read_units": 0,
        "log_bytes": 0, "authorizer_calls": 0, "authorizer_memory_mb": 256, "authorizer_ms": 0,
        "xray_fraction": 0,
    }  # fmt: skip
    warm = cost_per_million(CostInputs(cold_start_rate=0.0, **base), 256, 1.0)
    cold = cost_per_million(CostInputs(cold_start_rate=0.001, **base), 256, 1.0)
    # Then the difference is 1,000 inits of 0.25 GB × ceil(6910.2 ms) a million requests
    assert cold.lambda_compute - warm.lambda_compute == pytest.approx(1000 * 0.25 * 6.911 * 0.0000133334)


def test_a_transaction_is_priced_per_item_and_twice() -> None:
    # Given one request's calls: a transaction putting a 3,249 B record and updating an item read back
    # at 85 B, a plain put of 100 B and an eventually consistent read of 5,000 B
    record = {"pk": {"S": "x" * 3247}}  # 2 + 3247 = 3249 B
    calls = [
        {
            "operation": "TransactWriteItems",
            "params": {
                "TransactItems": [
                    {"Put": {"TableName": "bench-ProvenanceTable-1", "Item": record}},
                    {"Update": {"TableName": "bench-BudgetTable-1", "Key": {"pk": {"S": "b"}}}},
                ]
            },
        },
        {"operation": "PutItem", "params": {"TableName": "t", "Item": {"pk": {"S": "y" * 98}}}},
        {"operation": "GetItem", "params": {"TableName": "t"}, "parsed": {"Item": {"p": {"S": "z" * 4999}}}},
    ]
    # When priced
    writes, reads = _price_request(calls, lambda table, key: 85)
    # Then the record costs 2 × 4, the update 2 × 1, the put 1; the read 2 units halved
    assert writes == [("Provenance tx Put", 3249, 8), ("Budget tx Update", 85, 2), ("t Put", 100, 1)]
    assert reads == [("t GetItem", 5000, 1.0)]


def test_the_model_reads_the_templates_defaults() -> None:
    defaults = template_defaults()
    assert set(defaults) == {"RouterMemorySize", "AuthorizerMemorySize"}
    assert all(128 <= value <= 10240 for value in defaults.values())
