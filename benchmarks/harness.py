"""Timing helpers and the result table shared by every benchmark."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Result", "compile_router_code", "percentile", "print_table", "summarize", "time_calls"]


@dataclass(frozen=True)
class Result:
    """One row of the benchmark table."""

    name: str
    samples: int
    p50_ms: float
    p99_ms: float | None
    target_ms: float | None
    note: str = ""

    @property
    def status(self) -> str:
        """``ok`` / ``MISS`` against the target (checked on p99 when there is one, else p50)."""
        if self.target_ms is None:
            return ""
        measured = self.p99_ms if self.p99_ms is not None else self.p50_ms
        return "ok" if measured <= self.target_ms else "MISS"


def compile_router_code() -> None:
    """Write bytecode for the router's own code, as the layer ships it (its Makefile's ``bytecode``).

    Site-packages got theirs from pip; without this, fresh-process timings would include compiling
    every router module from source (``PYTHONDONTWRITEBYTECODE`` stops the children from caching it),
    which the deployed layer does not do.
    """
    import compileall
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for folder in (root / "layers" / "core" / "modelrouter", root / "functions"):
        compileall.compile_dir(str(folder), quiet=1)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def time_calls(function: Callable[[], object], samples: int, warmup: int = 20) -> list[float]:
    """Run ``function`` ``samples`` times after a warm-up; return each duration in milliseconds."""
    for _ in range(warmup):
        function()
    gc.collect()
    durations: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(samples):
        start = clock()
        function()
        durations.append((clock() - start) / 1e6)
    return durations


def summarize(name: str, durations: list[float], target_ms: float | None, note: str = "") -> Result:
    """A table row from raw durations."""
    return Result(
        name, len(durations), statistics.median(durations), percentile(durations, 0.99), target_ms, note
    )


def print_table(results: list[Result]) -> None:
    """Print the results as an aligned table."""
    headers = ["benchmark", "n", "p50 ms", "p99 ms", "target ms", "status", "note"]
    rows = [
        [
            r.name,
            str(r.samples),
            f"{r.p50_ms:.3f}",
            "-" if r.p99_ms is None else f"{r.p99_ms:.3f}",
            "-" if r.target_ms is None else f"≤ {r.target_ms:g}",
            r.status,
            r.note,
        ]
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
