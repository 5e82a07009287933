"""Run every benchmark and print one table: ``make bench``.

Speed and memory targets live here, never in tests. Pass names to run a subset:
``python benchmarks/run.py decision import``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    bench_attempt,
    bench_cold,
    bench_cost,
    bench_decision,
    bench_health,
    bench_import,
    bench_layer,
    bench_learned,
    bench_stream,
    bench_warm,
    incremental_guard,
)
from benchmarks.harness import Result, print_table

SUITES = {
    "decision": bench_decision.run,
    "attempt": bench_attempt.run,
    "import": bench_import.run,
    "cold": bench_cold.run_cold,
    "warm": bench_warm.run_warm,
    "health": bench_health.run_health,
    "stream": bench_stream.run_stream,
    "guard": incremental_guard.run,
    "learned": bench_learned.run,
    "layer": bench_layer.run_layer,
    "cost": bench_cost.run_cost,
}


def main(argv: list[str]) -> int:
    """Run the named suites (all by default); exit 1 if any target is missed."""
    names = argv or list(SUITES)
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    results: list[Result] = []
    for name in names:
        print(f"running {name} …", file=sys.stderr, flush=True)
        results.extend(SUITES[name]())
    print_table(results)
    return 1 if any(result.status == "MISS" for result in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
