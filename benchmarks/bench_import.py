"""Import cost of the core in a fresh interpreter, next to pydantic's own floor.

Three probes, each run ``RUNS`` times in new processes:
- pydantic floor: import pydantic and define one model (what any pydantic-based core pays);
- core import: the decision path (request, policy models, features, selection);
- cold decision: core import + loading ``policies/example.yaml`` + one decision.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from benchmarks.harness import Result, compile_router_code
from benchmarks.workloads import EXAMPLE_POLICY, ROOT

IMPORT_RATIO_TARGET = 1.3
"""The core's import may cost at most this multiple of the floor (import pydantic, build one model)."""
RUNS = 7

_FLOOR = """
import json, time
start = time.perf_counter()
from pydantic import BaseModel
class Probe(BaseModel):
    value: int
print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "heavy": []}))
"""

_CORE = """
import json, sys, time
start = time.perf_counter()
import modelrouter.features, modelrouter.policy, modelrouter.request, modelrouter.selection
elapsed = (time.perf_counter() - start) * 1000
heavy = sorted(n for n in ("boto3", "botocore", "httpx", "jsonschema", "yaml") if n in sys.modules)
print(json.dumps({"ms": elapsed, "heavy": heavy}))
"""

_COLD_DECISION = """
import json, sys, time
start = time.perf_counter()
from modelrouter.policy import load_policy_file
from modelrouter.request import parse_chat_request
from modelrouter.selection import RequestContext, decide
policy = load_policy_file(sys.argv[1]).policy
request = parse_chat_request({"messages": [{"role": "user", "content": "How do I reset my password?"}]})
decide(policy, request, RequestContext("cold-1", "acme-support"))
elapsed = (time.perf_counter() - start) * 1000
heavy = sorted(n for n in ("boto3", "botocore", "httpx", "jsonschema") if n in sys.modules)
print(json.dumps({"ms": elapsed, "heavy": heavy}))
"""


def _probe(code: str, *args: str) -> tuple[list[float], set[str]]:
    timings: list[float] = []
    heavy: set[str] = set()
    for _ in range(RUNS):
        completed = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=ROOT
        )
        probe = json.loads(completed.stdout)
        timings.append(probe["ms"])
        heavy.update(probe["heavy"])
    return timings, heavy


def _row(name: str, timings: list[float], target: float | None, note: str) -> Result:
    # p50 is the median of the runs; the p99 column shows the slowest run.
    return Result(name, len(timings), statistics.median(timings), max(timings), target, note)


def run() -> list[Result]:
    """Measure the three probes."""
    compile_router_code()  # bytecode as the layer ships it
    floor, _ = _probe(_FLOOR)
    core, heavy = _probe(_CORE)
    cold, cold_heavy = _probe(_COLD_DECISION, str(EXAMPLE_POLICY))
    core_note = (
        "loads no boto3/httpx/jsonschema/yaml" if not heavy else f"ALSO LOADS {', '.join(sorted(heavy))}"
    )
    cold_note = "+ yaml policy load + 1 decision" + (
        f"; ALSO LOADS {', '.join(sorted(cold_heavy))}" if cold_heavy else ""
    )
    return [
        _row("import pydantic + 1 model (floor)", floor, None, "reference: what pydantic itself costs here"),
        _row(
            "import core (fresh process)",
            core,
            IMPORT_RATIO_TARGET * statistics.median(floor),
            f"{statistics.median(core) / statistics.median(floor):.2f}× the floor"
            f" (target ≤ {IMPORT_RATIO_TARGET}×); {core_note}",
        ),
        _row("cold decision (fresh process)", cold, None, cold_note),
    ]
