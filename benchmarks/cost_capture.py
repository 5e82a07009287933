"""What a warm request writes and reads in DynamoDB, sized by DynamoDB's rules (the ``cost`` suite's child).

The router runs as in :mod:`benchmarks.bench_warm` (its ``_WarmRouter``: moto, clients as deployed,
instant fake providers). A botocore ``before-parameter-build`` hook on the router's DynamoDB client
records each call's parameters, an ``after-call`` hook each read's answer. Written items are sized from the
request (``PutItem``, a transaction's ``Put``); updated and condition-checked items are read back after
the request (DynamoDB charges an update by the larger of the item before and after: after is what is
left); a deleted item is counted as one unit. Health-table calls are left out: their reads are per
container and second, and healthy calls write nothing.
"""

from __future__ import annotations

import statistics
import threading
from collections import defaultdict
from typing import Any

from benchmarks import bench_warm
from benchmarks.cost_model import item_size, read_units, write_units

__all__ = ["Capture", "measure_requests"]


class Capture:
    """The DynamoDB calls of the main thread, with their parameters (and a read's answer)."""

    def __init__(self, skip_tables: set[str]) -> None:
        self.calls: list[dict[str, Any]] = []
        self._skip = skip_tables
        self._thread = threading.get_ident()

    def register(self, events: Any) -> None:
        """Hook the client's events."""
        events.register("before-parameter-build.dynamodb.*", self._before)
        events.register("after-call.dynamodb.*", self._after)

    def _wanted(self, params: Any) -> bool:
        return threading.get_ident() == self._thread and not (
            isinstance(params, dict) and params.get("TableName") in self._skip
        )

    def _before(self, event_name: str, params: Any = None, context: Any = None, **_: Any) -> None:
        if self._wanted(params) and isinstance(context, dict):
            call = {"operation": event_name.rsplit(".", 1)[1], "params": dict(params)}
            context["cost_call"] = call
            self.calls.append(call)

    def _after(self, parsed: Any = None, context: Any = None, **_: Any) -> None:
        if isinstance(context, dict) and "cost_call" in context:
            context["cost_call"]["parsed"] = parsed


Priced = tuple[str, int, float]
"""``(what, item bytes, units)`` of one write or read: what is ``<table> <operation>``."""


def _price_request(calls: list[dict[str, Any]], read_back: Any) -> tuple[list[Priced], list[Priced]]:
    """The writes and the reads of one request's calls, each sized and priced in request units."""
    writes: list[Priced] = []
    reads: list[Priced] = []
    for call in calls:
        operation, params = call["operation"], call["params"]
        table = params.get("TableName", "")
        if operation == "PutItem":
            size = item_size(params["Item"])
            writes.append((f"{_short(table)} Put", size, write_units(size)))
        elif operation in {"UpdateItem", "DeleteItem"}:
            size = read_back(table, params["Key"]) if operation == "UpdateItem" else 0
            writes.append((f"{_short(table)} {operation.removesuffix('Item')}", size, write_units(size)))
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                size = item_size(body["Item"]) if kind == "Put" else read_back(body["TableName"], body["Key"])
                units = write_units(size, transactional=True)
                writes.append((f"{_short(body['TableName'])} tx {kind}", size, units))
        elif operation in {"GetItem", "Query"}:
            parsed = call.get("parsed") or {}
            found = [parsed["Item"]] if parsed.get("Item") else list(parsed.get("Items", []))
            size = sum(item_size(item) for item in found)
            units = read_units(size, consistent=bool(params.get("ConsistentRead")))
            reads.append((f"{_short(table)} {operation}", size, units))
        elif operation != "DescribeTable":
            writes.append((f"{_short(table)} {operation} (not priced)", 0, 0.0))
    return writes, reads


def _summary(priced: dict[str, list[tuple[int, float]]], requests: int) -> list[str]:
    """``<what> ×<per request> <mean bytes> B → <units each>`` per kind of write or read."""
    lines = []
    for what, samples in sorted(priced.items()):
        size = statistics.mean(s for s, _ in samples)
        units = statistics.mean(u for _, u in samples)
        lines.append(f"{what} ×{len(samples) / requests:g} {size:.0f} B → {units:g}")
    return lines


def _short(table: str) -> str:
    """``bench-BudgetTable-…`` → ``Budget``."""
    for part in table.split("-"):
        if part.endswith("Table"):
            return part.removesuffix("Table")
    return table


def measure_requests(warm_up: int, requests: int) -> dict[str, Any]:
    """Run ``warm_up`` + ``requests`` chat requests; per-request units, item sizes, router time, log bytes."""
    captures: list[Capture] = []
    base = bench_warm._AwsCalls

    class _Calls(base):  # type: ignore[misc,valid-type]
        def register(self, events: Any) -> None:
            super().register(events)
            captures[0].register(events)

    from modelrouter.settings import Settings

    settings = Settings.from_env()
    captures.append(Capture({settings.health_table} if settings.health_table else set()))
    bench_warm._AwsCalls = _Calls  # the router's clients report to the capture too
    try:
        router = bench_warm._WarmRouter()
    finally:
        bench_warm._AwsCalls = base
    capture = captures[0]
    sink = bench_warm._CountingSink()
    router.measure(sink, warm_up)

    def read_back(table: str, key: dict[str, Any]) -> int:
        item = router.housekeeping.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item_size(item) if item else item_size(key)

    totals: dict[str, float] = defaultdict(float)
    writes: dict[str, list[tuple[int, float]]] = defaultdict(list)
    reads: dict[str, list[tuple[int, float]]] = defaultdict(list)
    router_ms: list[float] = []
    sink.chars = 0
    for _ in range(requests):
        capture.calls.clear()
        measured = router.measure(sink, 1)  # empties the tables first (outside the timings)
        router_ms.append(measured["total_ms"][0] - measured["aws_ms"][0])
        wrote, read = _price_request(list(capture.calls), read_back)
        for what, size, units in wrote:
            writes[what].append((size, units))
            totals["wru"] += units
        for what, size, units in read:
            reads[what].append((size, units))
            totals["rru"] += units
        totals["calls"] += measured["dynamodb_calls"] + measured["s3_calls"] - measured["health_reads"]
    return {
        "requests": requests,
        "router_ms": statistics.median(router_ms),
        "wru": totals["wru"] / requests,
        "rru": totals["rru"] / requests,
        "aws_calls": totals["calls"] / requests,
        "log_bytes": sink.chars / requests,
        "writes": _summary(writes, requests),
        "reads": _summary(reads, requests),
    }
