"""Router cold start (the ``cold`` suite of ``make bench``).

In fresh processes, import of the handler module + init (the first
  ``runtime().policies.current()``: settings from the environment, botocore clients, S3 GET, policy
  parse), next to the import time of the third-party code that path loads: a probe child lists the
  modules it added to ``sys.modules`` from site-packages; other children import exactly those modules
  (the target's floor) and, for reference, just their top-level packages. Imports only: no botocore
  client is created and no pydantic model built by us. Target: cold start ≤ 1.3 × the floor.
  Interpreter start-up is excluded from all of them. The router's own modules run from bytecode, as
  the layer ships them (:func:`benchmarks.harness.compile_router_code`).

Tracing (:mod:`modelrouter.tracing`) is off outside Lambda (no ``LAMBDA_TASK_ROOT``); on, it adds no
import and no client, only the hooks.
"""

from __future__ import annotations

import json
import statistics

from benchmarks.harness import Result, compile_router_code, percentile
from benchmarks.router_env import (
    COLD_RATIO_TARGET,
    COLD_RUNS,
    HANDLER,
    RESULT_MARK,
    moto_environment,
    run_child,
)

_COLD = """
import importlib.util, json, sys, time
before = set(sys.modules)
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("router_app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
sys.modules["router_app"] = app
spec.loader.exec_module(app)
imported = time.perf_counter()
app.runtime().policies.current()
done = time.perf_counter()
import sysconfig
sites = tuple({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
modules = [
    name for name, module in list(sys.modules.items())
    if name not in before and (getattr(module, "__file__", None) or "").startswith(sites)
]
print(MARK + json.dumps({
    "import_ms": (imported - start) * 1000, "init_ms": (done - imported) * 1000, "modules": modules
}))
""".replace("MARK", repr(RESULT_MARK))

_DEPENDENCIES = """
import importlib, json, sys, time
names = json.loads(sys.argv[1])
failed = []
start = time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name)
elapsed = (time.perf_counter() - start) * 1000
print(MARK + json.dumps({"ms": elapsed, "failed": failed}))
""".replace("MARK", repr(RESULT_MARK))


# ---------------------------------------------------------------------------------------------- parent


def run_cold() -> list[Result]:
    """Cold start (import + init) against the import time of the third-party code it loads."""
    compile_router_code()  # bytecode as the layer ships it
    with moto_environment() as environment:
        probe, _ = run_child(["-c", _COLD, str(HANDLER)], environment)  # also warms the OS file cache
        modules: list[str] = probe["modules"]
        packages = list(dict.fromkeys(name.partition(".")[0] for name in modules))
        cold: list[float] = []
        imports: list[float] = []
        inits: list[float] = []
        top_level: list[float] = []
        everything: list[float] = []
        failed: set[str] = set()
        for _ in range(COLD_RUNS):  # interleaved, so drift in the machine's load hits all alike
            measured, _ = run_child(["-c", _COLD, str(HANDLER)], environment)
            imports.append(measured["import_ms"])
            inits.append(measured["init_ms"])
            cold.append(measured["import_ms"] + measured["init_ms"])
            top, _ = run_child(["-c", _DEPENDENCIES, json.dumps(packages)], environment)
            top_level.append(top["ms"])
            full, _ = run_child(["-c", _DEPENDENCIES, json.dumps(modules)], environment)
            everything.append(full["ms"])
            failed.update(top["failed"], full["failed"])
    floor_ms = statistics.median(everything)
    top_ms = statistics.median(top_level)
    cold_ms = statistics.median(cold)
    not_importable = f"; {len(failed)} not importable alone (skipped)" if failed else ""
    return [
        Result(
            "cold: import deps, top-level packages",
            len(top_level),
            top_ms,
            None,
            None,
            f"p90 {percentile(top_level, 0.9):.1f} ms; imports only: {', '.join(sorted(packages))}",
        ),
        Result(
            "cold: import deps, all modules loaded",
            len(everything),
            floor_ms,
            None,
            None,
            f"p90 {percentile(everything, 0.9):.1f} ms; the {len(modules)} third-party modules the "
            f"handler loads; imports only{not_importable}",
        ),
        Result(
            "cold: handler import + init",
            len(cold),
            cold_ms,
            None,
            COLD_RATIO_TARGET * floor_ms,
            f"p90 {percentile(cold, 0.9):.1f} ms; import {statistics.median(imports):.1f} + init "
            f"{statistics.median(inits):.1f} ms; {cold_ms / floor_ms:.2f}× all deps modules "
            f"(target ≤ {COLD_RATIO_TARGET}×), {cold_ms / top_ms:.2f}× top-level packages",
        ),
    ]
