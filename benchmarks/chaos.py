"""``make chaos``: the router under faults, as an operator would try it. Not part of ``make test``.

Starts ``modelrouter serve`` as a real process (simulated Lambda containers, embedded AWS, simulated
models) on free ports with ``benchmarks/chaos_policy.yaml``, warms the containers up, then sends 2,000
requests from 8 threads over four tenants while random faults come and go on the models (hang, 5xx,
429 with Retry-After, invalid JSON, slow first byte), with hostile bodies mixed in (JSON nested 10,000
deep, ``$ref`` s to a listener opened here, a lone surrogate, a card number in a tool); during the last
tenth every model fails every call, so breakers are open when the faults stop. Then each model is
probed until it serves again. Finally it reads DynamoDB back and prints a
table: statuses (no 500), latency against each route's budget + 1 s, ledger against provenance,
committed spend against budgets, open holds, recovery against the breaker pause, each container's
RSS growth, and connections to the ``$ref`` listener. Exit status 1 when any figure misses.

    .venv/bin/python benchmarks/chaos.py [--requests 2000] [--threads 8] [--containers 4] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chaos_bodies import TENANTS, Request, make_request
from benchmarks.chaos_report import (
    Outcome,
    Run,
    context_tables,
    ledger_and_provenance,
    print_report,
    tenant_spend,
    verdicts,
)
from benchmarks.chaos_serve import RefListener, Serve, rss_kb

POLICY = Path(__file__).resolve().parent / "chaos_policy.yaml"
FAULTED = ("local-small", "local-medium", "local-large")
"""Fault targets (``local-medium-eu`` is ``local-medium``'s profile on the model server)."""
PROBED = ("local-small", "local-medium", "local-medium-eu", "local-large")
PROBE_TENANT = "chaos-probe"


def _policy_figures(path: Path) -> tuple[dict[str, float], float, dict[str, dict[str, float]]]:
    """Latency budget per route (s), the breaker pause (s), each tenant's budget."""
    document = yaml.safe_load(path.read_text())
    execution = document.get("execution") or {}
    default = (execution.get("default_deadline_ms") or 30_000) / 1000
    budgets = {
        route["name"]: ((route.get("limits") or {}).get("latency_budget_ms") or default * 1000) / 1000
        for route in document["routes"]
    }
    pause = float((execution.get("cooldown") or {}).get("pause_s", 30.0))
    return budgets, pause, {tenant["id"]: tenant.get("budget") or {} for tenant in document["tenants"]}


class FaultMonkey(threading.Thread):
    """Switches random faults on and off on the simulated models until :meth:`stop`, then clears them.

    A control request that fails is counted and the monkey carries on: it must never leave a fault on.
    """

    def __init__(self, models_url: str, seed: int) -> None:
        super().__init__(name="fault-monkey", daemon=True)
        self._url, self._rng, self._done = models_url, random.Random(seed), threading.Event()
        self.injected: dict[str, int] = {}
        self.failed_puts = 0
        self.slowest_put_s = 0.0

    def _put(self, http: httpx.Client, model: str, document: dict[str, Any]) -> bool:
        started = time.monotonic()
        try:
            http.put(f"{self._url}/_local/faults/{model}", json=document).raise_for_status()
        except httpx.HTTPError as error:
            self.failed_puts += 1
            print(f"  fault control request failed ({type(error).__name__}); carrying on", file=sys.stderr)
            return False
        finally:
            self.slowest_put_s = max(self.slowest_put_s, time.monotonic() - started)
        return True

    def _random_fault(self) -> dict[str, Any]:
        rng = self._rng
        fault = rng.choice(("hang", "server_error", "rate_limit", "invalid_json", "slow_first_byte"))
        document: dict[str, Any] = {"fault": fault, "probability": rng.choice((0.2, 0.5, 0.8))}
        if fault == "rate_limit":
            document["retry_after_s"] = rng.randint(1, 3)
        if fault == "slow_first_byte":
            document["delay_ms"] = rng.randint(500, 3_000)
        return document

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._done.wait(self._rng.uniform(0.5, 1.5)):
                model = self._rng.choice(FAULTED)
                document = {"fault": None} if self._rng.random() < 0.35 else self._random_fault()
                if self._put(http, model, document) and document["fault"]:
                    self.injected[document["fault"]] = self.injected.get(document["fault"], 0) + 1

    def storm(self) -> None:
        """Stop switching and fail every call of every model (so breakers are open when faults stop)."""
        self._done.set()
        self.join()
        with httpx.Client(timeout=30) as http:
            for model in FAULTED:
                self._put(http, model, {"fault": "server_error"})

    def stop(self) -> None:
        """Stop switching, then clear every fault (retrying until the model server takes it)."""
        self._done.set()
        if self.is_alive():
            self.join()
        with httpx.Client(timeout=30) as http:
            for model in FAULTED:
                for _ in range(10):
                    if self._put(http, model, {"fault": None}):
                        break
                    time.sleep(1)
                else:
                    raise RuntimeError(f"could not clear the fault of {model}")


def _send(http: httpx.Client, serve: Serve, request: Request) -> Outcome:
    headers = {"authorization": f"Bearer {serve.keys[request.tenant]}", "content-type": "application/json"}
    started = time.monotonic()
    try:
        response = http.post(f"{serve.url}/v1/chat/completions", content=request.body, headers=headers)
    except httpx.HTTPError as error:
        return Outcome(
            request.tenant, request.kind, f"error:{type(error).__name__}", time.monotonic() - started
        )
    latency = time.monotonic() - started
    route = code = model = None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            document = response.json()
            route = (document.get("router") or {}).get("route")
            code = (document.get("error") or {}).get("code")
            model = document.get("model")
        except (ValueError, AttributeError):
            pass
    return Outcome(request.tenant, request.kind, str(response.status_code), latency, route, code, model)


def _load(serve: Serve, requests: list[Request], threads: int, timeout_s: float) -> list[Outcome]:
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    pending = iter(requests)

    def worker() -> None:
        with httpx.Client(timeout=timeout_s) as http:
            while True:
                with lock:
                    request = next(pending, None)
                if request is None:
                    return
                outcome = _send(http, serve, request)
                with lock:
                    outcomes.append(outcome)
                    if len(outcomes) % 250 == 0:
                        print(f"  {len(outcomes)} / {len(requests)} requests", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    return outcomes


def _pinned(model: str) -> Request:
    body = {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "Say hello."}]}
    return Request(PROBE_TENANT, "probe", json.dumps(body).encode())


def _warm_up(serve: Serve, containers: int) -> None:
    """Every container builds its runtime (policy, clients) before the RSS baseline."""
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(containers) as pool:
        for model in PROBED * 2:
            list(pool.map(lambda _: _send(http, serve, _pinned(model)), range(containers)))  # noqa: B023


def _recovery(serve: Serve, containers: int, cap_s: float) -> tuple[dict[str, float | None], dict[str, str]]:
    """Seconds from the faults' end to the start of 2 × containers successive good answers, per model,
    and the last failure each model's probes saw."""
    started, recovered = time.monotonic(), dict.fromkeys(PROBED)
    last_failure = dict.fromkeys(PROBED, "-")
    needed = 2 * containers

    def probe(model: str) -> None:
        streak, streak_start = 0, 0.0
        with httpx.Client(timeout=30) as http:
            while time.monotonic() - started < cap_s:
                sent = time.monotonic() - started
                outcome = _send(http, serve, _pinned(model))
                if outcome.status == "200" and outcome.model == model:
                    streak, streak_start = streak + 1, streak_start if streak else sent
                    if streak >= needed:
                        recovered[model] = streak_start
                        return
                else:
                    streak = 0
                    answer = f"{outcome.status} {outcome.code or outcome.model or ''}".strip()
                    last_failure[model] = f"{answer} at {sent:.1f} s"
                    time.sleep(0.2)

    with ThreadPoolExecutor(len(PROBED)) as pool:
        list(pool.map(probe, PROBED))
    return recovered, last_failure


def main(argv: list[str] | None = None) -> int:
    """Run the chaos load; 0 when every figure meets its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--containers", type=int, default=8, help="per function (default: one per thread)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", type=Path, default=POLICY)
    args = parser.parse_args(argv)
    budgets, pause, limits = _policy_figures(args.policy)
    rng = random.Random(args.seed)
    with RefListener() as listener, Serve(args.policy, args.containers) as serve:
        requests = [make_request(number, rng, listener.url) for number in range(args.requests)]
        print(
            f"serve up: {serve.url} (embedded AWS {serve.aws_url}); warming up …", file=sys.stderr, flush=True
        )
        _warm_up(serve, args.containers)
        baseline = {pid: (function, rss_kb(pid)) for pid, function in serve.containers().items()}
        monkey = FaultMonkey(serve.models_url, args.seed)
        monkey.start()
        cpu = serve.cpu_seconds()
        started = time.monotonic()
        timeout_s, calm = max(budgets.values()) + 30, len(requests) * 9 // 10
        outcomes = _load(serve, requests[:calm], args.threads, timeout_s)
        monkey.storm()  # the last tenth: every model down, so breakers are open when the faults stop
        outcomes += _load(serve, requests[calm:], args.threads, timeout_s)
        elapsed = time.monotonic() - started
        cpu_after = serve.cpu_seconds()
        monkey.stop()
        print("faults stopped; probing every model …", file=sys.stderr, flush=True)
        recovered, last_failure = _recovery(serve, args.containers, cap_s=pause + 30)
        after = {pid: (function, rss_kb(pid)) for pid, function in serve.containers().items()}
        client, tables = serve.dynamodb(), serve.tables()
        money = ledger_and_provenance(client, tables)
        states = tenant_spend(client, tables["BudgetTable"], [*TENANTS, PROBE_TENANT])
    growth: dict[str, float | None] = {}
    for pid, (function, kb) in baseline.items():
        end = after.get(pid, (function, None))[1]
        growth[f"{function} pid {pid}"] = None if kb is None or end is None else (end - kb) / 1024
    run = Run(outcomes, budgets, pause, money, states, limits, recovered, growth, listener.connections)
    run.last_failure, run.cpu_s = last_failure, {name: end - cpu[name] for name, end in cpu_after.items()}
    injected = ", ".join(f"{fault} ×{count}" for fault, count in sorted(monkey.injected.items()))
    summary = (
        f"  {len(outcomes)} requests in {elapsed:.0f} s ({len(outcomes) / elapsed:.1f}/s) from {args.threads}"
        f" threads, {args.containers} containers per function; faults switched on: {injected}; slowest fault"
        f" control request {monkey.slowest_put_s:.1f} s ({monkey.failed_puts} failed);"
        " the last tenth with every model failing every call"
    )
    checks = verdicts(run)
    print_report(outcomes, [("Run", summary), *context_tables(run)], checks)
    return 0 if all(check.ok for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
