"""The router Lambda (``functions/router/app.py``) end to end, against a moto server the parent starts.

Two suites:

- ``cold``: in fresh processes, import of the handler module + init (the first
  ``runtime().policies.current()``: settings from the environment, boto3 clients, S3 GET, policy parse),
  next to the import time of the third-party code that path loads: a probe child lists the modules it
  added to ``sys.modules`` from site-packages; other children import exactly those modules (the target's
  floor) and, for reference, just their top-level packages. Imports only: no boto3 client is created and
  no pydantic model built by us, though ``aws_xray_sdk.core`` builds two X-Ray clients of its own when
  imported. Target: cold start ≤ 1.3 × the floor. Interpreter start-up is excluded from all of them.
- ``warm``: one fresh process builds the runtime on moto with instant fake providers, warms up, then
  sends ``events/chat-support.json`` ``WARM_REQUESTS`` times (a distinct request id each) through
  ``handler(event, context)``. It counts AWS API calls per request with botocore event hooks and times
  each SDK call (``before-parameter-build`` → ``after-call``: botocore serialisation, signing, the HTTP
  round trip to moto and parsing) to give the router's own overhead; then reports its peak RSS
  (``VmHWM``). The tables are emptied every ``EMPTY_TABLES_EVERY`` requests, outside the timings,
  because moto deep-copies whole tables in every TransactWriteItems (real DynamoDB does not).

Powertools' Tracer is constructed as deployed, but it disables itself outside Lambda (no
``LAMBDA_TASK_ROOT``): the X-Ray SDK is imported, yet nothing is patched or emitted, so the deployed
cold start and per-request cost are somewhat higher than measured here.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from benchmarks.harness import Result, percentile

ROOT = Path(__file__).resolve().parent.parent
HANDLER = ROOT / "functions" / "router" / "app.py"
EXAMPLE_POLICY = ROOT / "policies" / "example.yaml"
EVENT = ROOT / "events" / "chat-support.json"

COLD_RUNS = 7
COLD_RATIO_TARGET = 1.3
WARM_REQUESTS = 200
WARM_UP = 20
EMPTY_TABLES_EVERY = 20
DYNAMODB_CALLS_TARGET = 2.0
S3_CALLS_TARGET = 0.0
PEAK_RSS_TARGET_MB = 120.0

BUCKET = "modelrouter-policies-bench"
POLICY_KEY = "policies/active.yaml"
_MARK = "BENCH-RESULT "

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
""".replace("MARK", repr(_MARK))

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
""".replace("MARK", repr(_MARK))


# ---------------------------------------------------------------------------------------------- parent


@contextmanager
def _moto_environment(refresh_seconds: int = 60) -> Iterator[dict[str, str]]:
    """A moto server with the bucket, the example policy and the template's tables; yields the child env."""
    import boto3
    from moto.server import ThreadedMotoServer

    sys.path.insert(0, str(ROOT))
    from modelrouter.local.aws import create_tables  # the tables exactly as template.yaml defines them

    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        _reset_moto(endpoint)  # moto keeps its state per process, across servers
        credentials = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        s3 = session.client("s3", endpoint_url=endpoint)
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        tables = create_tables(dynamodb, prefix="bench")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=BUCKET, Key=POLICY_KEY, Body=EXAMPLE_POLICY.read_bytes())
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN"))
        }
        environment.pop("_HANDLER", None)
        environment.update(credentials)
        environment.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "POLICY_BUCKET": BUCKET,
                "POLICY_KEY": POLICY_KEY,
                "POLICY_REFRESH_SECONDS": str(refresh_seconds),
                "BUDGET_TABLE": tables["BudgetTable"],
                "PROVENANCE_TABLE": tables["ProvenanceTable"],
                "IDEMPOTENCY_TABLE": tables["IdempotencyTable"],
                "POWERTOOLS_SERVICE_NAME": "modelrouter",
                "POWERTOOLS_METRICS_NAMESPACE": "ModelRouterBench",
            }
        )
        yield environment
    finally:
        server.stop()
        werkzeug.setLevel(level)


def _reset_moto(endpoint: str) -> None:
    from urllib.request import Request, urlopen

    with urlopen(Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10):
        pass


def _child(arguments: list[str], environment: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Run a child interpreter; returns its result line and its (log) output."""
    completed = subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, cwd=ROOT, env=environment, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{completed.stderr[-4000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_MARK)]
    if not lines:
        raise RuntimeError(f"benchmark child printed no result:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(_MARK) :])
    return result, completed.stdout


def run_cold() -> list[Result]:
    """Cold start (import + init) against the import time of the third-party code it loads."""
    with _moto_environment() as environment:
        probe, _ = _child(["-c", _COLD, str(HANDLER)], environment)  # also warms the OS file cache
        modules: list[str] = probe["modules"]
        packages = list(dict.fromkeys(name.partition(".")[0] for name in modules))
        cold: list[float] = []
        imports: list[float] = []
        inits: list[float] = []
        top_level: list[float] = []
        everything: list[float] = []
        failed: set[str] = set()
        for _ in range(COLD_RUNS):  # interleaved, so drift in the machine's load hits all alike
            measured, _ = _child(["-c", _COLD, str(HANDLER)], environment)
            imports.append(measured["import_ms"])
            inits.append(measured["init_ms"])
            cold.append(measured["import_ms"] + measured["init_ms"])
            top, _ = _child(["-c", _DEPENDENCIES, json.dumps(packages)], environment)
            top_level.append(top["ms"])
            full, _ = _child(["-c", _DEPENDENCIES, json.dumps(modules)], environment)
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
            f"handler loads; imports only, but aws_xray_sdk.core builds 2 X-Ray clients{not_importable}",
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


def run_warm() -> list[Result]:
    """Per-request latency, AWS calls and peak memory of a warm container."""
    with _moto_environment() as environment, tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "warm.json"
        _, _ = _child(["-m", "benchmarks.bench_router", "warm-child", str(output)], environment)
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
            null["dynamodb_calls"] / n,
            None,
            DYNAMODB_CALLS_TARGET,
            f"value is a count, not ms; {operations}",
        ),
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
            f"({data['rss_after_init_mb']:.1f} MB after init)",
        ),
    ]


# ------------------------------------------------------------------------------------------ warm child


@dataclass
class _FakeLambdaContext:
    """What the handler and Powertools read of Lambda's context object."""

    aws_request_id: str = "bench-0"
    function_name: str = "modelrouter-router"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:modelrouter-router"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class _InstantProvider:
    """Answers every call at once with a short text (what ``tests.fakes.EchoProvider`` does for text)."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind

    def complete(self, call: Any) -> Any:
        from modelrouter.providers.types import ProviderResult, Usage

        return ProviderResult(
            content=f"Answer from {call.model.id}.",
            usage=Usage(input_tokens=120, output_tokens=30),
            reported_model=call.model.model_id,
        )


class _AwsCalls:
    """Counts and times every boto3 call through session-level botocore event hooks."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seconds = 0.0
        self.retries = 0
        self.operation_seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.*.*", self._before)
        events.register("after-call.*.*", self._after)

    def _before(self, event_name: str, **_: Any) -> None:
        self._started[event_name.split(".", 1)[1]] = time.perf_counter()

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

    def __init__(self) -> None:
        import boto3
        from botocore.config import Config

        from modelrouter.api import runtime as runtime_module
        from modelrouter.policy import ProviderKind
        from modelrouter.settings import Settings

        self.aws = _AwsCalls()
        boto3.setup_default_session()
        self.aws.register(boto3.DEFAULT_SESSION.events)  # every client made from now on reports here
        config = Config(
            connect_timeout=runtime_module.AWS_CONNECT_TIMEOUT_S,
            read_timeout=runtime_module.AWS_READ_TIMEOUT_S,
            retries={"max_attempts": runtime_module.AWS_MAX_ATTEMPTS, "mode": "standard"},
        )
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        self.app = _load_handler()
        settings = Settings.from_env()
        providers = {kind: _InstantProvider(kind) for kind in ProviderKind}
        runtime = runtime_module.build_runtime(
            settings,
            self.app.telemetry,
            s3_client=boto3.client("s3", endpoint_url=endpoint, config=config),
            dynamodb_client=boto3.client("dynamodb", endpoint_url=endpoint, config=config),
            providers=lambda: dict(providers),
        )
        self.app.set_runtime(runtime)
        runtime.policies.current()  # init, as the handler does in Lambda's init phase
        self.housekeeping = boto3.Session().client("dynamodb", endpoint_url=endpoint)  # not counted
        self.tables = [settings.budget_table, settings.provenance_table]
        self.template: dict[str, Any] = json.loads(EVENT.read_text())
        self.context = _FakeLambdaContext()
        self.requests = 0

    def invoke(self) -> float:
        """One ``chat-support`` request with a new request id; its duration in ms."""
        self.requests += 1
        number = self.requests
        event = {
            **self.template,
            "requestContext": {**self.template["requestContext"], "requestId": f"bench-{number}"},
        }
        self.context.aws_request_id = f"lambda-{number}"
        start = time.perf_counter()
        response = self.app.handler(event, self.context)
        elapsed = (time.perf_counter() - start) * 1000
        if response.get("statusCode") != 200:
            raise RuntimeError(f"request {number}: {response.get('statusCode')} {response.get('body')}")
        return elapsed

    def measure(self, stream: TextIO | _CountingSink, requests: int) -> dict[str, Any]:
        """Send ``requests`` requests with the logs (and EMF metrics) going to ``stream``."""
        aws = self.aws
        handler = self.app.logger.registered_handler
        previous = handler.setStream(stream)
        totals: list[float] = []
        aws_ms: list[float] = []
        calls_before = dict(aws.calls)
        seconds_before = dict(aws.operation_seconds)
        retries_before = aws.retries
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
        }


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
    result = {
        "first_ms": first,
        "null": null,
        "pipe": piped,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_after_init_mb": rss_after_init,
    }
    output.write_text(json.dumps(result))
    print(_MARK + json.dumps({"ok": True}), file=sys.__stdout__)


if __name__ == "__main__" and sys.argv[1:2] == ["warm-child"]:
    _warm_child(Path(sys.argv[2]))
