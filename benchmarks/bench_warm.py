"""Router warm overhead and peak memory (the ``warm`` suite of ``make bench``).

One fresh process builds the runtime on moto with instant fake providers, warms up, then
  sends ``events/chat-support.json`` ``WARM_REQUESTS`` times (a distinct request id each) through
  ``handler(event, context)``. It counts AWS API calls per request with botocore event hooks and times
  each SDK call (``before-parameter-build`` → ``after-call``: botocore serialisation, signing, the HTTP
  round trip to moto and parsing) to give the router's own overhead; then reports its peak RSS
  (``VmHWM``). The tables are emptied every ``EMPTY_TABLES_EVERY`` requests, outside the timings,
  because moto deep-copies whole tables in every TransactWriteItems (real DynamoDB does not).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, TextIO

from benchmarks.bench_decision import BANDIT_TENANT
from benchmarks.harness import Result, percentile
from benchmarks.router_env import (
    DYNAMODB_CALLS_TARGET,
    EMPTY_TABLES_EVERY,
    EVENT,
    HANDLER,
    PEAK_RSS_TARGET_MB,
    RESULT_MARK,
    ROOT,
    S3_CALLS_TARGET,
    WARM_REQUESTS,
    WARM_UP,
    activate_policy,
    moto_environment,
    run_child,
)
from modelrouter.local.context import LocalLambdaContext

RULES_TENANT = "fincorp-fraud"
"""The example policy's fraud-triage route: a cascade whose answers go through JSON Schema, business
rules (JMESPath) and PII guardrails."""
RULES_REQUEST = ROOT / "events" / "requests" / "fraud-clear.json"
_RULES_ANSWER = '{"risk_score": 0.12, "explanation": "a usual purchase at a usual store"}'
"""What the instant provider answers a request with a JSON schema: a clear score, so the rules accept it."""
LEARNED_TENANT = "helpdesk"
"""``policies/local.yaml``'s learned-assistant route (the example policy has no learned route)."""
LEARNED_POLICY = ROOT / "policies" / "local.yaml"
OVERHEAD_P50_TARGET_MS = 0.5
"""Router overhead per request, p50, excluding AWS and provider time (logs and EMF included)."""
OVERHEAD_P99_TARGET_MS = 1.5
"""The same at p99."""


def run_warm() -> list[Result]:
    """Per-request latency, AWS calls and peak memory of a warm container."""
    with moto_environment() as environment, tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "warm.json"
        _, _ = run_child(["-m", "benchmarks.bench_warm", "warm-child", str(output)], environment)
        data: dict[str, Any] = json.loads(output.read_text())
    null, piped = data["null"], data["pipe"]
    n = len(null["total_ms"])
    operations = ", ".join(f"{name} {count / n:g}" for name, count in sorted(null["operations"].items()))
    per_operation = ", ".join(
        f"{name} {seconds / null['operations'][name]:.1f} ms/call"
        for name, seconds in sorted(null["operation_ms"].items())
    )
    aws_ms = null["aws_ms"]
    router_ms = [total - aws for total, aws in zip(null["total_ms"], aws_ms, strict=True)]
    log_bytes = null["log_bytes"] / n
    return [
        Result("warm: first request after init", 1, data["first_ms"], None, None, "lazy imports, 1st TCP"),
        Result(
            "warm: request, logs → /dev/null",
            n,
            statistics.median(null["total_ms"]),
            percentile(null["total_ms"], 0.99),
            None,
            f"handler(event, ctx) on moto, instant fake providers; {log_bytes:.0f} B logs+EMF/request",
        ),
        Result(
            "warm: request, logs → pipe",
            len(piped["total_ms"]),
            statistics.median(piped["total_ms"]),
            percentile(piped["total_ms"], 0.99),
            None,
            "stdout a pipe drained by the parent, as Lambda's runtime does",
        ),
        Result(
            "warm: time inside AWS SDK calls",
            n,
            statistics.median(aws_ms),
            percentile(aws_ms, 0.99),
            None,
            f"per request, moto on localhost: {per_operation}; {null['retries']} retries",
        ),
        Result(
            "warm: router overhead excl. AWS calls",
            n,
            statistics.median(router_ms),
            percentile(router_ms, 0.99),
            None,
            "request minus its SDK calls (logs → /dev/null)",
        ),
        Result(
            "warm: DynamoDB calls/request [count]",
            n,
            (null["dynamodb_calls"] - null["health_reads"]) / n,
            None,
            DYNAMODB_CALLS_TARGET,
            f"value is a count, not ms; HEALTH_TABLE set, besides its state reads (below); all: {operations}",
        ),
        *_strategy_rows(data["strategies"]),
        _health_reads(null),
        *_bandit_calls(data["bandit"], data["bandit_refresh_seconds"]),
        Result(
            "warm: S3 calls/request [count]",
            n,
            null["s3_calls"] / n,
            None,
            S3_CALLS_TARGET,
            f"value is a count, not ms; policy refresh every {environment['POLICY_REFRESH_SECONDS']} s",
        ),
        Result(
            "warm: peak RSS [MB]",
            1,
            data["peak_rss_mb"],
            None,
            PEAK_RSS_TARGET_MB,
            f"value is MB, not ms; VmHWM after {WARM_UP + 2 * n} requests "
            f"({data['rss_after_init_mb']:.1f} MB after init; {data['peak_rss_end_mb']:.1f} MB after the"
            " strategy rows, which load policies/local.yaml too)",
        ),
    ]


def _strategy_rows(strategies: dict[str, dict[str, Any]]) -> list[Result]:
    """Router overhead (request minus its SDK calls, logs and EMF to /dev/null) per routing strategy."""
    rows = []
    for strategy, tenant in (
        ("heuristic", "acme-support"),
        ("rules", RULES_TENANT),
        ("bandit", BANDIT_TENANT),
        ("learned", LEARNED_TENANT),
    ):
        run = strategies[strategy]
        overheads = run["overhead_ms"]
        routes = ", ".join(f"{route} {count}" for route, count in sorted(run["routes"].items()))
        p99 = percentile(overheads, 0.99)
        p99_status = "ok" if p99 <= OVERHEAD_P99_TARGET_MS else "MISS"
        rows.append(
            Result(
                f"warm: router overhead, {strategy} route",
                len(overheads),
                statistics.median(overheads),
                p99,
                OVERHEAD_P50_TARGET_MS,
                f"p99 {p99:.2f} ms (target ≤ {OVERHEAD_P99_TARGET_MS:g}: {p99_status}); tenant {tenant},"
                f" routes taken: {routes}",
            )
        )
    return rows


def _health_reads(run: dict[str, Any]) -> Result:
    """The shared health's state reads per second: one ``Query`` per container per cache period
    (started from ``REFRESH_AHEAD_S``), whatever the request rate."""
    from modelrouter.health.cache import CACHE_S, REFRESH_AHEAD_S

    return Result(
        "warm: health-state reads/s [count]",
        len(run["total_ms"]),
        run["health_reads"] / run["seconds"],
        None,
        1 / REFRESH_AHEAD_S,
        f"{run['health_reads']} Query in {run['seconds']:.1f} s (in the background from "
        f"{REFRESH_AHEAD_S:g} s, copy ≤ {CACHE_S:g} s); healthy calls write nothing",
    )


def _bandit_calls(bandit: dict[str, Any], refresh_seconds: float) -> list[Result]:
    """DynamoDB calls per warm request on the example policy's bandit route besides the reads of its
    learning state, and those reads per second: one ``Query`` per route per ``refresh_seconds``, never one
    per request."""
    n = len(bandit["total_ms"])
    reads = bandit["operations"].get("dynamodb.Query", 0) - bandit["health_reads"]  # besides health's
    operations = ", ".join(f"{name} {count / n:g}" for name, count in sorted(bandit["operations"].items()))
    return [
        Result(
            "warm: DynamoDB calls/request, bandit route [count]",
            n,
            (bandit["dynamodb_calls"] - reads - bandit["health_reads"]) / n,
            None,
            DYNAMODB_CALLS_TARGET,
            f"tenant {BANDIT_TENANT}, besides the learning-state reads below and the health-state reads; "
            f"all calls: {operations}",
        ),
        Result(
            "warm: learning-state reads, bandit route [count]",
            n,
            reads,
            None,
            # one when the run starts (the state may be due) and one per refresh period it spans
            1 + math.floor(bandit["seconds"] / refresh_seconds),
            f"{reads} Query in {bandit['seconds']:.1f} s ({n} requests): at most one per refresh_seconds"
            f" ({refresh_seconds:g} s) per route and container, whatever the request rate",
        ),
    ]


# ------------------------------------------------------------------------------------------ warm child


class _InstantProvider:
    """Answers every call at once with a short text (what ``tests.fakes.EchoProvider`` does for text)."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind

    def complete(self, call: Any) -> Any:
        from modelrouter.providers.types import ProviderResult, Usage

        return ProviderResult(
            content=_RULES_ANSWER
            if call.request.json_schema is not None
            else f"Answer from {call.model.id}.",
            usage=Usage(input_tokens=120, output_tokens=30),
            reported_model=call.model.model_id,
        )


class _AwsCalls:
    """Counts and times every boto3 call through session-level botocore event hooks."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.table_calls: dict[str, int] = {}
        """Calls by ``<operation>:<TableName>`` (the health cache's reads are told apart by table)."""
        self.seconds = 0.0
        self.retries = 0
        self.operation_seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.*.*", self._before)
        events.register("after-call.*.*", self._after)

    def _before(self, event_name: str, params: Any = None, **_: Any) -> None:
        operation = event_name.split(".", 1)[1]
        self._started[operation] = time.perf_counter()
        if isinstance(params, dict) and params.get("TableName"):
            key = f"{operation}:{params['TableName']}"
            self.table_calls[key] = self.table_calls.get(key, 0) + 1

    def _after(self, event_name: str, parsed: Any = None, **_: Any) -> None:
        operation = event_name.split(".", 1)[1]
        if isinstance(parsed, dict):
            self.retries += int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        started = self._started.pop(operation, None)
        if started is not None:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.operation_seconds[operation] = self.operation_seconds.get(operation, 0.0) + elapsed
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def total(self, service: str) -> int:
        return sum(count for name, count in self.calls.items() if name.startswith(f"{service}."))


class _CountingSink:
    """A write-only text stream that discards what it gets and counts the characters."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""


def _load_handler() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("router_app", HANDLER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HANDLER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["router_app"] = module
    spec.loader.exec_module(module)
    return module


def _peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``): ``ru_maxrss`` would include the parent's, kept across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _empty_tables(dynamodb: Any, tables: list[str]) -> None:
    """Delete every item: moto deep-copies whole tables in each TransactWriteItems; keep them small."""
    for table in tables:
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            deletes = [{"DeleteRequest": {"Key": {k: item[k] for k in keys}}} for item in page["Items"]]
            for index in range(0, len(deletes), 25):
                dynamodb.batch_write_item(RequestItems={table: deletes[index : index + 25]})


class _WarmRouter:
    """The handler module with a runtime on moto (clients as deployed) and instant fake providers."""

    def __init__(self, providers: dict[Any, Any] | None = None) -> None:
        """``providers`` by kind replace the instant fakes (the stream benchmark's paced ones)."""
        import boto3

        from modelrouter.api import runtime as runtime_module
        from modelrouter.aws import aws_client
        from modelrouter.policy import ProviderKind
        from modelrouter.policy.store import (
            POLICY_CONNECT_TIMEOUT_S,
            POLICY_MAX_ATTEMPTS,
            POLICY_READ_TIMEOUT_S,
        )
        from modelrouter.settings import Settings

        self.aws = _AwsCalls()
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        # The clients as deployed (the runtime's DynamoDB client, the policy store's S3 client), on moto.
        s3 = aws_client(
            "s3",
            endpoint_url=endpoint,
            connect_timeout_s=POLICY_CONNECT_TIMEOUT_S,
            read_timeout_s=POLICY_READ_TIMEOUT_S,
            max_attempts=POLICY_MAX_ATTEMPTS,
        )
        dynamodb = aws_client("dynamodb", endpoint_url=endpoint)
        for client in (s3, dynamodb):
            self.aws.register(client.meta.events)  # every call of these clients reports here
        self.app = _load_handler()
        settings = Settings.from_env()
        providers = providers or {kind: _InstantProvider(kind) for kind in ProviderKind}
        runtime = runtime_module.build_runtime(
            settings,
            self.app.telemetry,
            s3_client=s3,
            dynamodb_client=dynamodb,
            providers=lambda: dict(providers),
        )
        self.app.set_runtime(runtime)
        runtime.policies.current()  # init, as the handler does in Lambda's init phase
        self.housekeeping = boto3.Session().client("dynamodb", endpoint_url=endpoint)  # not counted
        self.tables = [settings.budget_table, settings.provenance_table]
        self.health_reads_key = f"dynamodb.Query:{settings.health_table}"
        """The shared health's state reads: one per container per cache period, never per request."""
        self.tenant: str | None = None
        """Send as this tenant instead of the event's (the bandit rows: the example's bandit tenant)."""
        self.body: str | None = None
        """Send this body instead of the event's (the rules route's JSON request)."""
        self.routes: dict[str, int] = {}
        """Requests by the route that answered them (the rows name the route they measured)."""
        self.template: dict[str, Any] = json.loads(EVENT.read_text())
        self.context = LocalLambdaContext(timeout_s=900)  # Lambda's longest timeout: never the limit here
        self.requests = 0

    def invoke(self) -> float:
        """One ``chat-support`` request with a new request id (as :attr:`tenant`); its duration in ms."""
        self.requests += 1
        number = self.requests
        context = {**self.template["requestContext"], "requestId": f"bench-{number}"}
        if self.tenant is not None:
            context["authorizer"] = {**context.get("authorizer", {}), "tenant_id": self.tenant}
        event = {**self.template, "requestContext": context}
        if self.body is not None:
            event["body"] = self.body
        self.context.aws_request_id = f"lambda-{number}"
        start = time.perf_counter()
        response = self.app.handler(event, self.context)
        body = response.read_all()  # the StreamingResponse the Runtime API loop would send
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"request {number}: {response.status_code} {body[:300]!r}")
        route = json.loads(body)["router"]["route"]
        self.routes[route] = self.routes.get(route, 0) + 1
        return elapsed

    def use_policy(self, path: Path) -> None:
        """Activate the policy at ``path`` (as its upload would) and have the router take it at once."""
        from modelrouter.aws import aws_client

        activate_policy(aws_client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]), path.read_bytes())
        store = self.app.runtime().policies
        store.expire()
        store.current()

    def bandit_refresh_seconds(self) -> float:
        """``refresh_seconds`` of the route :attr:`tenant`'s requests take (the active policy's)."""
        from modelrouter.policy.routes import Strategy

        policy = self.app.runtime().policies.current().policy
        routes = [route for route in policy.routes if route.strategy is Strategy.BANDIT]
        taken = next(route for route in routes if self.tenant in (route.when.tenants or ()))
        return float(taken.bandit_settings.refresh_seconds)

    def measure(self, stream: TextIO | _CountingSink, requests: int) -> dict[str, Any]:
        """Send ``requests`` requests with the logs (and EMF metrics) going to ``stream``."""
        aws = self.aws
        handler = self.app.logger.registered_handler
        previous = handler.setStream(stream)
        totals: list[float] = []
        aws_ms: list[float] = []
        calls_before = dict(aws.calls)
        health_reads_before = aws.table_calls.get(self.health_reads_key, 0)
        started = time.perf_counter()
        seconds_before = dict(aws.operation_seconds)
        retries_before = aws.retries
        self.routes = {}
        try:
            with redirect_stdout(stream):  # Powertools prints EMF with print()
                for index in range(requests):
                    if index % EMPTY_TABLES_EVERY == 0:
                        _empty_tables(self.housekeeping, self.tables)
                    aws_before = aws.seconds
                    totals.append(self.invoke())
                    aws_ms.append((aws.seconds - aws_before) * 1000)
        finally:
            handler.setStream(previous)
        operations = {name: count - calls_before.get(name, 0) for name, count in aws.calls.items()}
        return {
            "total_ms": totals,
            "aws_ms": aws_ms,
            "operations": {name: count for name, count in operations.items() if count},
            "operation_ms": {
                name: (seconds - seconds_before.get(name, 0.0)) * 1000
                for name, seconds in aws.operation_seconds.items()
                if operations.get(name)
            },
            "dynamodb_calls": sum(c for name, c in operations.items() if name.startswith("dynamodb.")),
            "s3_calls": sum(c for name, c in operations.items() if name.startswith("s3.")),
            "retries": aws.retries - retries_before,
            "health_reads": aws.table_calls.get(self.health_reads_key, 0) - health_reads_before,
            "seconds": time.perf_counter() - started,
            "routes": dict(self.routes),
        }


def _routed(run: dict[str, Any]) -> dict[str, Any]:
    """A run's overheads (request minus its SDK calls) and the routes its requests took."""
    overheads = [total - aws for total, aws in zip(run["total_ms"], run["aws_ms"], strict=True)]
    return {"overhead_ms": overheads, "routes": run["routes"]}


def _warm_child(output: Path) -> None:
    router = _WarmRouter()
    rss_after_init = _peak_rss_mb()
    sink = _CountingSink()
    first = router.measure(sink, 1)["total_ms"][0]
    router.measure(sink, WARM_UP - 1)
    sink.chars = 0
    null = router.measure(sink, WARM_REQUESTS)
    null["log_bytes"] = sink.chars
    piped = router.measure(sys.stdout, WARM_REQUESTS)
    router.tenant = BANDIT_TENANT
    router.measure(sink, WARM_UP)
    bandit_started = time.perf_counter()
    bandit = router.measure(sink, WARM_REQUESTS)
    bandit["seconds"] = time.perf_counter() - bandit_started
    bandit_refresh_seconds = router.bandit_refresh_seconds()  # the example policy's, before it changes
    peak_rss_mb = _peak_rss_mb()  # before the rows below load a second policy
    strategies = {"heuristic": _routed(null), "bandit": _routed(bandit)}
    router.tenant, router.body = RULES_TENANT, RULES_REQUEST.read_text()
    router.measure(sink, WARM_UP)
    strategies["rules"] = _routed(router.measure(sink, WARM_REQUESTS))
    router.tenant, router.body = LEARNED_TENANT, None
    router.use_policy(LEARNED_POLICY)
    router.measure(sink, WARM_UP)
    strategies["learned"] = _routed(router.measure(sink, WARM_REQUESTS))
    result = {
        "first_ms": first,
        "null": null,
        "pipe": piped,
        "bandit": bandit,
        "strategies": strategies,
        "bandit_refresh_seconds": bandit_refresh_seconds,
        "peak_rss_mb": peak_rss_mb,
        "peak_rss_end_mb": _peak_rss_mb(),
        "rss_after_init_mb": rss_after_init,
    }
    output.write_text(json.dumps(result))
    print(RESULT_MARK + json.dumps({"ok": True}), file=sys.__stdout__)


if __name__ == "__main__" and sys.argv[1:2] == ["warm-child"]:
    _warm_child(Path(sys.argv[2]))
