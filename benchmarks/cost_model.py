"""The cost of one request, per million requests: prices and pure arithmetic (``make bench`` suite ``cost``).

Every price is a named constant below with its source and date (us-east-1, on-demand, no free tier).
:mod:`benchmarks.bench_cost` measures what a request uses (router CPU time, DynamoDB items, log bytes,
cold start) and prices it with these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "APIGW_REST_PER_MILLION",
    "CLOUDWATCH_LOGS_PER_GB",
    "DYNAMODB_READ_PER_MILLION",
    "DYNAMODB_WRITE_PER_MILLION",
    "FULL_VCPU_MB",
    "LAMBDA_GB_SECOND",
    "LAMBDA_REQUEST_PER_MILLION",
    "XRAY_TRACE_PER_MILLION",
    "CostInputs",
    "CostRow",
    "attribute_value_size",
    "cost_per_million",
    "cpu_scaled_ms",
    "gb_seconds",
    "item_size",
    "read_units",
    "write_units",
    "xray_sampled_fraction",
]

# --- Prices (us-east-1, checked 2025) ------------------------------------------------------------------
LAMBDA_GB_SECOND = 0.0000133334
"""Lambda duration, arm64, first 6 billion GB-s a month ($ per GB-second; aws.amazon.com/lambda/pricing,
2025). Billed per 1 ms; since 1 Aug 2025 the INIT phase of managed-runtime ZIP functions is billed too."""
LAMBDA_REQUEST_PER_MILLION = 0.20
"""Lambda requests ($ per million invocations; aws.amazon.com/lambda/pricing, 2025)."""
APIGW_REST_PER_MILLION = 3.50
"""API Gateway REST API requests, first 333 million a month ($ per million; aws.amazon.com/api-gateway/
pricing, 2025). The router's API is a REST API (response streaming needs one); streamed responses may carry
an extra charge past their first 10 MB, which chat answers never reach: not modelled."""
DYNAMODB_WRITE_PER_MILLION = 0.625
"""DynamoDB on-demand write request units ($ per million WRU; aws.amazon.com/dynamodb/pricing/on-demand,
after the 50 % cut of 1 Nov 2024; checked 2025)."""
DYNAMODB_READ_PER_MILLION = 0.125
"""DynamoDB on-demand read request units ($ per million RRU; same page and date)."""
CLOUDWATCH_LOGS_PER_GB = 0.50
"""CloudWatch Logs ingestion, Standard log class ($ per GB of 2^30 bytes; aws.amazon.com/cloudwatch/
pricing, 2025).
EMF metric lines are log lines: ingested at this price (the metrics themselves cost per metric-month, not
per request)."""
XRAY_TRACE_PER_MILLION = 5.00
"""X-Ray traces recorded ($ per million; aws.amazon.com/xray/pricing, 2025; first 100,000 a month free,
ignored here)."""

# --- Lambda's CPU ---------------------------------------------------------------------------------------
FULL_VCPU_MB = 1769
"""Lambda gives a function one full vCPU at 1,769 MB and memory/1,769 of one below (docs: "Configure
Lambda function memory"); CPU-bound time scales by 1,769/memory below it."""
WCU_BYTES = 1024
"""One write request unit writes an item of up to 1 KB (rounded up per item)."""
RCU_BYTES = 4096
"""One read request unit reads up to 4 KB strongly consistent (half a unit eventually consistent)."""


def gb_seconds(memory_mb: float, billed_ms: float) -> float:
    """GB-seconds of one invocation: memory in GB (1,024 MB) × the duration rounded up to 1 ms."""
    return memory_mb / 1024 * math.ceil(billed_ms) / 1000


def cpu_scaled_ms(full_cpu_ms: float, memory_mb: float) -> float:
    """CPU-bound time measured at a full vCPU, at ``memory_mb`` (memory/1,769 of a vCPU below 1,769 MB)."""
    return full_cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb)


def attribute_value_size(value: dict[str, object]) -> int:
    """Bytes of one DynamoDB attribute value (wire format ``{"S": …}``), per the developer guide's "Item
    sizes and formats": strings and binaries their UTF-8/raw bytes, numbers 1 byte per 2 significant digits
    + 1, null and booleans 1, lists and maps 3 + 1 per element + their elements, sets their elements."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner).encode("utf-8"))
    if kind == "N":
        return _number_size(str(inner))
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in inner)  # type: ignore[attr-defined]
    if kind == "NS":
        return sum(_number_size(str(n)) for n in inner)  # type: ignore[attr-defined]
    if kind == "BS":
        return sum(len(b) for b in inner)  # type: ignore[attr-defined]
    if kind == "L":
        return 3 + sum(1 + attribute_value_size(element) for element in inner)  # type: ignore[attr-defined]
    if kind == "M":
        return 3 + sum(1 + item_size({k: v}) for k, v in inner.items())  # type: ignore[attr-defined]
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _number_size(text: str) -> int:
    digits = text.lstrip("-+").lower().split("e")[0].replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1 if digits else 1


def item_size(item: dict[str, dict[str, object]]) -> int:
    """Bytes of a DynamoDB item: the UTF-8 length of each attribute name plus the size of its value."""
    return sum(len(name.encode("utf-8")) + attribute_value_size(value) for name, value in item.items())


def write_units(size_bytes: int, *, transactional: bool = False) -> int:
    """Write request units of writing one item: 1 per KB rounded up (at least 1), doubled in a transaction."""
    units = max(1, math.ceil(size_bytes / WCU_BYTES))
    return 2 * units if transactional else units


def read_units(size_bytes: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read request units of one read of ``size_bytes`` (a GetItem's item, or all a Query returned): 1 per
    4 KB rounded up (at least 1), half eventually consistent, doubled in a transaction."""
    units = float(max(1, math.ceil(size_bytes / RCU_BYTES)))
    if transactional:
        return 2 * units
    return units if consistent else units / 2


def xray_sampled_fraction(
    requests_per_second: float, reservoir_per_s: float = 1.0, rate: float = 0.05
) -> float:
    """The share of requests X-Ray's default sampling rule records: the first ``reservoir_per_s`` each
    second, then ``rate`` of the rest."""
    if requests_per_second <= 0:
        return 0.0
    sampled = min(requests_per_second, reservoir_per_s)
    sampled += rate * max(0.0, requests_per_second - reservoir_per_s)
    return sampled / requests_per_second


@dataclass(frozen=True)
class CostInputs:
    """What one request uses, as measured or assumed (each a per-request average)."""

    router_cpu_ms: float
    """The router's own time at a full vCPU (scaled by :func:`cpu_scaled_ms`)."""
    aws_wait_ms: float
    """Time waiting on DynamoDB/S3 calls in the request path (not CPU: not scaled)."""
    cold_init_ms: float
    """Handler import + init at a full vCPU (scaled; billed since Aug 2025)."""
    cold_start_rate: float
    """Share of requests that start a new container."""
    write_units: float
    """DynamoDB write request units."""
    read_units: float
    """DynamoDB read request units."""
    log_bytes: float
    """Bytes ingested by CloudWatch Logs (router logs, EMF, platform and access-log lines)."""
    authorizer_calls: float
    """Authorizer invocations per request (its results are cached per key on the OpenAI paths)."""
    authorizer_memory_mb: float
    """The authorizer's memory."""
    authorizer_ms: float
    """The authorizer's billed duration per invocation."""
    xray_fraction: float
    """Share of requests X-Ray records."""


@dataclass(frozen=True)
class CostRow:
    """The cost of a million requests of one model-call length at one memory size, by part ($)."""

    memory_mb: int
    call_s: float
    lambda_compute: float
    """Duration charge of the router: model call + its own time + AWS waits + amortised cold init."""
    lambda_requests: float
    front_door: float
    """API Gateway's request charge and the authorizer's invocations."""
    dynamodb: float
    logs: float
    xray: float

    @property
    def total(self) -> float:
        """Everything above."""
        return (
            self.lambda_compute
            + self.lambda_requests
            + self.front_door
            + self.dynamodb
            + self.logs
            + self.xray
        )


def cost_per_million(inputs: CostInputs, memory_mb: int, call_s: float) -> CostRow:
    """The cost of a million requests whose model call takes ``call_s`` with the router at ``memory_mb``."""
    million = 1_000_000
    billed_ms = call_s * 1000 + cpu_scaled_ms(inputs.router_cpu_ms, memory_mb) + inputs.aws_wait_ms
    cold_ms = cpu_scaled_ms(inputs.cold_init_ms, memory_mb)
    compute = gb_seconds(memory_mb, billed_ms) + inputs.cold_start_rate * gb_seconds(memory_mb, cold_ms)
    authorizer = inputs.authorizer_calls * (
        LAMBDA_REQUEST_PER_MILLION / million
        + gb_seconds(inputs.authorizer_memory_mb, inputs.authorizer_ms) * LAMBDA_GB_SECOND
    )
    return CostRow(
        memory_mb=memory_mb,
        call_s=call_s,
        lambda_compute=compute * LAMBDA_GB_SECOND * million,
        lambda_requests=LAMBDA_REQUEST_PER_MILLION,
        front_door=APIGW_REST_PER_MILLION + authorizer * million,
        dynamodb=(
            inputs.write_units * DYNAMODB_WRITE_PER_MILLION + inputs.read_units * DYNAMODB_READ_PER_MILLION
        ),
        logs=inputs.log_bytes * million / 2**30 * CLOUDWATCH_LOGS_PER_GB,
        xray=inputs.xray_fraction * XRAY_TRACE_PER_MILLION,
    )
