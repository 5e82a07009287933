"""Time to first token: what the router adds between a provider's first token and the client's (``stream``).

One fresh process builds the runtime on moto (as ``warm`` does) with a streaming fake provider that
answers at once: it notes the moment it yields its first token, and then ``STREAM_PIECES`` more pieces.
``events/chat-stream.json`` (the support route: blocked terms, ``stream: true``) goes through
``handler(event, context)``; the benchmark reads the returned body chunk by chunk, as the Runtime API
loop does, and notes when the first chunk carrying content comes out. The difference is the router's
time-to-first-token overhead: the streamed execution, the incremental guardrails, the rendering of the
first events and the handler's prelude (admission and the reservation come before the provider's
first byte, so they are not in it). Rows: the route's guardrails with ``pii: allow`` (a 16-character
hold-back for its longest blocked term), and with ``pii: redact``, where the hold-back for personal
data (634 characters) delays the first token by design.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bench_warm import _CountingSink, _empty_tables, _WarmRouter
from benchmarks.harness import Result, percentile
from benchmarks.router_env import (
    EMPTY_TABLES_EVERY,
    EXAMPLE_POLICY,
    RESULT_MARK,
    ROOT,
    activate_policy,
    moto_environment,
    run_child,
)

STREAM_REQUESTS = 200
STREAM_WARM_UP = 20
STREAM_PIECES = 200
"""Pieces after the first, 5 characters each: a 1 KB answer."""
TTFT_OVERHEAD_TARGET_MS = 5.0
STREAM_EVENT = ROOT / "events" / "chat-stream.json"
SUPPORT_ROUTE = "support-triage"


def run_stream() -> list[Result]:
    """The time-to-first-token overhead rows."""
    results = []
    for pii in ("allow", "redact"):
        with moto_environment() as environment, tempfile.TemporaryDirectory() as directory:
            output = Path(directory) / "stream.json"
            run_child(["-m", "benchmarks.bench_stream", "stream-child", str(output), pii], environment)
            data: dict[str, Any] = json.loads(output.read_text())
        overhead = data["overhead_ms"]
        target = TTFT_OVERHEAD_TARGET_MS if pii == "allow" else None
        note = (
            "first content chunk out of handler minus provider's first token; guardrails: blocked terms"
            if pii == "allow"
            else "same, guardrails also pii: redact (holds back 634 chars by design)"
        )
        results.append(
            Result(
                f"stream: TTFT overhead, pii {pii}",
                len(overhead),
                statistics.median(overhead),
                percentile(overhead, 0.99),
                target,
                note,
            )
        )
    return results


class _StreamingProvider:
    """Streams a 1 KB answer at once, noting when its first token was yielded."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind
        self.first_token_at = 0.0

    def complete(self, call: Any) -> Any:
        raise NotImplementedError("the stream benchmark only streams")

    def stream(self, call: Any) -> Iterator[Any]:
        from modelrouter.providers.types import StreamEnd, TextDelta, Usage

        self.first_token_at = time.perf_counter()
        yield TextDelta("Sure.")
        for number in range(STREAM_PIECES):
            yield TextDelta(f"w{number % 1000:03d} ")
        usage = Usage(input_tokens=120, output_tokens=250)
        yield StreamEnd("stop", usage, reported_model=call.model.model_id)


def _use_policy(pii: str) -> None:
    """Upload the example policy with the support route's ``pii`` setting (before the router starts)."""
    import os

    import boto3

    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    route = next(r for r in document["routes"] if r["name"] == SUPPORT_ROUTE)
    route["checks"]["guardrails"]["pii"] = pii
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    activate_policy(s3, yaml.safe_dump(document, sort_keys=False).encode())


def _stream_child(output: Path, pii: str) -> None:
    from modelrouter.policy import ProviderKind

    _use_policy(pii)
    providers = {kind: _StreamingProvider(kind) for kind in ProviderKind}
    router = _WarmRouter(providers)
    event_template: dict[str, Any] = json.loads(STREAM_EVENT.read_text())
    sink = _CountingSink()
    handler = router.app.logger.registered_handler
    handler.setStream(sink)
    overhead: list[float] = []
    with redirect_stdout(sink):
        for number in range(STREAM_WARM_UP + STREAM_REQUESTS):
            if number % EMPTY_TABLES_EVERY == 0:
                _empty_tables(router.housekeeping, router.tables)
            context = {**event_template["requestContext"], "requestId": f"stream-{number}"}
            response = router.app.handler({**event_template, "requestContext": context}, router.context)
            first_out = None
            for chunk in response.chunks():
                if first_out is None and b'"content":"' in chunk and b'"content":""' not in chunk:
                    first_out = time.perf_counter()
            response.close()
            if response.status_code != 200 or first_out is None:
                raise RuntimeError(f"stream {number}: status {response.status_code}, no content")
            first_token_at = max(p.first_token_at for p in providers.values())
            if number >= STREAM_WARM_UP:
                overhead.append((first_out - first_token_at) * 1000)
    output.write_text(json.dumps({"overhead_ms": overhead}))
    print(RESULT_MARK + json.dumps({"ok": True}), file=sys.__stdout__)


if __name__ == "__main__" and sys.argv[1:2] == ["stream-child"]:
    _stream_child(Path(sys.argv[2]), sys.argv[3])
