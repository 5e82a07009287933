"""Cost per million requests (the ``cost`` suite of ``make bench``), priced by :mod:`benchmarks.cost_model`.

A child process runs the router handler on moto like the ``warm`` suite (:mod:`benchmarks.bench_warm`:
instant fake providers, ``events/chat-support.json``, a heuristic route of the example policy) and
measures per request: the router's own time (request minus its SDK calls, at this machine's full CPU),
the DynamoDB items it writes and reads (every ``PutItem``/``UpdateItem``/``DeleteItem``/
``TransactWriteItems``/``GetItem``/``Query`` captured with botocore event hooks; updated items read back
after the request and sized by DynamoDB's rules) and the log + EMF bytes it prints. Cold start: handler
import + init in fresh children (the ``cold`` suite's child). Rows: the cost of a million requests per
model-call length × memory size, the inputs they rest on, and the aim (Lambda compute ≤ $10 per
million at a 3 s call at the template's default memory).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import cost_model
from benchmarks.harness import Result
from benchmarks.router_env import HANDLER, RESULT_MARK, ROOT, moto_environment, run_child

__all__ = ["run_cost"]

MEMORY_SIZES_MB = (128, 192, 256, 512, 1024)
"""Memory sizes priced (192: the non-power-of-two the numbers suggest; the default is added if missing)."""
CALL_SECONDS = (1.0, 3.0, 5.0)
"""Model-call lengths priced (3 s: the issue's aim)."""
AIM_CALL_S = 3.0
AIM_COMPUTE_PER_MILLION = 10.0
"""Issue 15's aim: Lambda compute ≤ $10 per million requests at a 3 s model call."""
COST_REQUESTS = 60
"""Requests measured (after ``COST_WARM_UP``)."""
COST_WARM_UP = 20
COLD_SAMPLES = 3
COLD_START_RATE = 1 / 1000
"""Assumed: one request in 1,000 starts a container (its init is billed since Aug 2025)."""
AWS_CALL_MS = 6.0
"""Assumed in-region latency of one DynamoDB/S3 call from Lambda (moto on localhost is not it); the
request path's calls are counted as serial, so this is an upper bound of the time billed waiting."""
AUTHORIZER_CALLS_PER_REQUEST = 1 / 300
"""Assumed: the OpenAI paths' authorizer result is cached 300 s per key (template), so a key sending a
request a second costs one authorizer call per 300 requests. The Messages paths (TTL 0) pay one per
request: see the front-door row's note."""
AUTHORIZER_BILLED_MS = 10.0
"""Assumed billed duration of one warm authorizer call (one GetItem; accepted keys cached 300 s)."""
PLATFORM_LOG_BYTES = 330
"""Lambda's own START/END/REPORT lines per invocation (about 330 B as Lambda writes them)."""
MONTHLY_REQUESTS = 10_000_000
"""Assumed volume for X-Ray's reservoir (10 M a month ≈ 3.9 requests/s): the default rule records the
first request each second and 5 % of the rest."""


def run_cost() -> list[Result]:
    """The cost model's rows: inputs measured here, prices from :mod:`benchmarks.cost_model`."""
    with moto_environment() as environment, tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "cost.json"
        run_child(["-m", "benchmarks.bench_cost", "cost-child", str(output)], environment)
        measured: dict[str, Any] = json.loads(output.read_text())
        from benchmarks.bench_cold import _COLD

        cold = [run_child(["-c", _COLD, str(HANDLER)], environment)[0] for _ in range(COLD_SAMPLES + 1)][1:]
    cold_ms = statistics.median(sample["import_ms"] + sample["init_ms"] for sample in cold)
    return rows(measured, cold_ms, template_defaults())


def template_defaults() -> dict[str, int]:
    """``RouterMemorySize`` and ``AuthorizerMemorySize`` defaults, read from ``template.yaml``."""
    text = (ROOT / "template.yaml").read_text()
    found = {}
    for name in ("RouterMemorySize", "AuthorizerMemorySize"):
        match = re.search(rf"^  {name}:\n(?:    .*\n)*?    Default: (\d+)", text, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"template.yaml has no default for {name}")
        found[name] = int(match.group(1))
    return found


def access_log_bytes() -> int:
    """An estimate of one API Gateway access-log line: the template's format with each ``$context``
    variable replaced by a 12-character value (request ids are longer, most statuses shorter)."""
    text = (ROOT / "template.yaml").read_text()
    match = re.search(r"Format: >-\n((?:          .*\n)+)", text)
    if match is None:
        return 0
    line = "".join(part.strip() for part in match.group(1).splitlines())
    return len(re.sub(r"\$context(\.[A-Za-z]+)+", "x" * 12, line).encode())


def rows(measured: dict[str, Any], cold_ms: float, defaults: dict[str, int]) -> list[Result]:
    """The table rows from the child's measurements and the cold start."""
    default_mb = defaults["RouterMemorySize"]
    calls_per_request = measured["aws_calls"]
    log_bytes = measured["log_bytes"] + PLATFORM_LOG_BYTES + access_log_bytes()
    rps = MONTHLY_REQUESTS / (30 * 24 * 3600)
    inputs = cost_model.CostInputs(
        router_cpu_ms=measured["router_ms"],
        aws_wait_ms=calls_per_request * AWS_CALL_MS,
        cold_init_ms=cold_ms,
        cold_start_rate=COLD_START_RATE,
        write_units=measured["wru"],
        read_units=measured["rru"],
        log_bytes=log_bytes,
        authorizer_calls=AUTHORIZER_CALLS_PER_REQUEST,
        authorizer_memory_mb=defaults["AuthorizerMemorySize"],
        authorizer_ms=AUTHORIZER_BILLED_MS,
        xray_fraction=cost_model.xray_sampled_fraction(rps),
    )
    sizes = sorted({*MEMORY_SIZES_MB, default_mb})
    results = _input_rows(measured, inputs, cold_ms, log_bytes, sizes)
    for call_s in CALL_SECONDS:
        for memory_mb in sizes:
            row = cost_model.cost_per_million(inputs, memory_mb, call_s)
            default = " (template default)" if memory_mb == default_mb else ""
            results.append(
                Result(
                    f"cost: {call_s:g} s call, {memory_mb} MB [$/M requests]",
                    1,
                    row.total,
                    None,
                    None,
                    f"Lambda {row.lambda_compute:.2f} + requests {row.lambda_requests:.2f}; front door "
                    f"{row.front_door:.2f}; DynamoDB {row.dynamodb:.2f}; logs {row.logs:.2f}; "
                    f"X-Ray {row.xray:.2f}{default}",
                )
            )
    aim = cost_model.cost_per_million(inputs, default_mb, AIM_CALL_S)
    messages = cost_model.cost_per_million(
        cost_model.CostInputs(**{**inputs.__dict__, "authorizer_calls": 1.0}), default_mb, AIM_CALL_S
    )
    results += [
        Result(
            f"cost: Messages API paths, {AIM_CALL_S:g} s, {default_mb} MB [$/M requests]",
            1,
            messages.total,
            None,
            None,
            f"authorizer uncached (TTL 0): 1 call/request, front door {messages.front_door:.2f}",
        ),
        Result(
            f"cost aim: Lambda compute, {AIM_CALL_S:g} s call, default {default_mb} MB [$/M]",
            1,
            aim.lambda_compute,
            None,
            AIM_COMPUTE_PER_MILLION,
            f"duration charge incl. router time and amortised cold init; at 1024 MB: "
            f"{cost_model.cost_per_million(inputs, 1024, AIM_CALL_S).lambda_compute:.2f}",
        ),
    ]
    return results


def _input_rows(
    measured: dict[str, Any],
    inputs: cost_model.CostInputs,
    cold_ms: float,
    log_bytes: float,
    sizes: list[int],
) -> list[Result]:
    scaled = ", ".join(f"{mb} MB {cost_model.cpu_scaled_ms(inputs.router_cpu_ms, mb):.1f}" for mb in sizes)
    cold_scaled = ", ".join(f"{mb} MB {cost_model.cpu_scaled_ms(cold_ms, mb) / 1000:.1f} s" for mb in sizes)
    items = "; ".join(measured["writes"])
    return [
        Result(
            "cost input: router time/request [ms]",
            measured["requests"],
            inputs.router_cpu_ms,
            None,
            None,
            f"request minus SDK calls at this machine's full CPU; × 1769/MB below 1769 MB (Lambda's CPU "
            f"share, assumed CPU-bound): {scaled}; + {measured['aws_calls']:g} AWS calls × "
            f"{AWS_CALL_MS:g} ms assumed in-region, unscaled",
        ),
        Result(
            "cost input: cold start (import + init) [ms]",
            COLD_SAMPLES,
            cold_ms,
            None,
            None,
            f"full CPU; scaled the same way: {cold_scaled}; 1 in {1 / COLD_START_RATE:,.0f} requests "
            f"assumed cold, its init billed (since Aug 2025)",
        ),
        Result(
            "cost input: DynamoDB write units/request [count]",
            measured["requests"],
            inputs.write_units,
            None,
            None,
            f"value is WRU, not ms; measured item sizes (transactions 2×): {items}",
        ),
        Result(
            "cost input: DynamoDB read units/request [count]",
            measured["requests"],
            inputs.read_units,
            None,
            None,
            f"value is RRU, not ms; {'; '.join(measured['reads']) or 'none in the request path'}; "
            f"health/learning-state reads are per "
            f"second per container, not per request: left out",
        ),
        Result(
            "cost input: log bytes/request [B]",
            measured["requests"],
            log_bytes,
            None,
            None,
            f"value is bytes, not ms; router logs+EMF {measured['log_bytes']:.0f} B measured + Lambda "
            f"platform {PLATFORM_LOG_BYTES} B + API access log ~{access_log_bytes()} B (estimated)",
        ),
        Result(
            "cost input: X-Ray traces recorded [share]",
            1,
            inputs.xray_fraction,
            None,
            None,
            f"value is a share, not ms; default rule 1/s + 5 % at {MONTHLY_REQUESTS / 1e6:g} M "
            f"requests/month; authorizer calls/request {inputs.authorizer_calls:.4f} (cached 300 s per key)",
        ),
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["cost-child"]:
    from benchmarks.cost_capture import measure_requests

    Path(sys.argv[2]).write_text(json.dumps(measure_requests(COST_WARM_UP, COST_REQUESTS)))
    print(RESULT_MARK + json.dumps({"ok": True}), file=sys.__stdout__)
