"""Simulated Lambda containers: one process each, invocations queued to idle ones, crashes replaced,
timeouts enforced, and the gateway's 502/504 for them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelrouter.local.functions import FUNCTIONS_ENV
from modelrouter.local.gateway import Gateway
from modelrouter.local.pool import (
    ContainerError,
    ContainerPool,
    FunctionError,
    FunctionSpec,
    IntegrationTimeoutError,
)

HANDLER = """
import json, os, time

def handler(event, context):
    proxied = "headers" in event  # an API Gateway event: the instructions are its body
    request = json.loads(event.get("body") or "{}") if proxied else event
    if request.get("crash"):
        os._exit(3)
    if request.get("raise"):
        raise ValueError("boom")
    time.sleep(request.get("sleep", 0))
    if proxied:
        return {"statusCode": 200, "body": str(os.getpid())}
    return {"pid": os.getpid(), "remaining_ms": context.get_remaining_time_in_millis()}
"""
ALLOW = """
def handler(event, context):
    statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*"}
    return {"principalId": "t1", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"tenant_id": "t1"}}
"""


@pytest.fixture
def functions(tmp_path: Path) -> dict[str, str]:
    for name, source in (("probe", HANDLER), ("allow", ALLOW), ("broken", "import no_such_module\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(source)
    return {FUNCTIONS_ENV: str(tmp_path)}


@pytest.fixture
def pool(functions: dict[str, str]) -> Iterator[ContainerPool]:
    running = ContainerPool(FunctionSpec("probe", "probe-fn", 2.0, functions), size=2).start()
    try:
        yield running
    finally:
        running.stop()


def test_invocations_run_in_parallel_in_separate_processes(pool: ContainerPool) -> None:
    # When two invocations that take half a second each arrive together
    started = time.monotonic()
    with ThreadPoolExecutor(2) as threads:
        results = list(threads.map(lambda _: pool.invoke({"sleep": 0.5}), range(2)))
    # Then they ran at the same time, in the two container processes, with the function's timeout
    assert time.monotonic() - started < 0.95
    assert {result["pid"] for result in results} == {c["pid"] for c in pool.describe()}
    assert all(0 < result["remaining_ms"] <= 2_000 for result in results)


def test_a_third_invocation_waits_for_an_idle_container(pool: ContainerPool) -> None:
    # When three invocations of 0.4 s arrive at two containers
    started = time.monotonic()
    with ThreadPoolExecutor(3) as threads:
        list(threads.map(lambda _: pool.invoke({"sleep": 0.4}), range(3)))
    # Then the third waited for one of them (as requests wait for concurrency), and all were served
    assert time.monotonic() - started >= 0.8
    assert sum(c["invocations"] for c in pool.describe()) == 3


def test_a_crashed_container_is_replaced(pool: ContainerPool) -> None:
    # Given the pids of the running containers
    before = {c["pid"] for c in pool.describe()}
    # When an invocation kills its container
    with pytest.raises(ContainerError, match="exited"):
        pool.invoke({"crash": True})
    # Then the next invocations are served, one by a fresh container
    pids = {pool.invoke({})["pid"] for _ in range(4)}
    assert pool.replaced == 1
    assert len(pids - before) == 1
    assert all(c["alive"] for c in pool.describe())


def test_a_handler_error_keeps_the_container(pool: ContainerPool) -> None:
    # When the handler raises, Then the caller gets the function error and the container stays warm
    before = {c["pid"] for c in pool.describe()}
    with pytest.raises(FunctionError, match="ValueError: boom"):
        pool.invoke({"raise": True})
    assert {c["pid"] for c in pool.describe()} == before
    assert pool.replaced == 0


def test_a_container_past_the_function_timeout_is_killed_and_replaced(pool: ContainerPool) -> None:
    # When an invocation outlives the function's 2 s timeout
    started = time.monotonic()
    with pytest.raises(ContainerError, match="timed out"):
        pool.invoke({"sleep": 30})
    # Then it is stopped soon after the timeout, and the function serves again
    assert time.monotonic() - started < 10
    assert pool.invoke({})["pid"]


def test_a_caller_that_stops_waiting_gets_an_integration_timeout(pool: ContainerPool) -> None:
    # When the caller waits 0.2 s for an invocation of 1 s
    with pytest.raises(IntegrationTimeoutError):
        pool.invoke({"sleep": 1.0}, timeout_s=0.2)
    # Then the container finishes it and serves the next ones
    assert pool.invoke({}, timeout_s=5)["pid"]


def test_a_function_that_cannot_import_fails_to_start(functions: dict[str, str]) -> None:
    # When a pool starts on a handler that cannot be imported
    broken = ContainerPool(FunctionSpec("broken", "broken-fn", 2.0, functions), size=2)
    # Then starting fails with the reason, and no container is left running
    with pytest.raises(ContainerError, match="No module named 'no_such_module'"):
        broken.start()
    assert not any(c["alive"] for c in broken.describe())


def test_the_gateway_answers_502_for_crashes_and_504_when_no_container_answers(
    functions: dict[str, str],
) -> None:
    # Given the gateway over container pools
    router = ContainerPool(FunctionSpec("probe", "probe-fn", 60.0, functions), size=1).start()
    authorizer = ContainerPool(FunctionSpec("allow", "allow-fn", 10.0, functions), size=1).start()
    gateway = Gateway(router, authorizer, integration_timeout_s=0.5)

    def post(body: dict[str, Any]) -> tuple[int, Any]:
        reply = gateway.handle(
            "POST", "/api/v1/route", {"authorization": "Bearer k", "content-type": "application/json"},
            json.dumps(body).encode(),
        )  # fmt: skip
        assert isinstance(reply, tuple)
        answer = json.loads(reply[2])
        return reply[0], answer["error"]["message"] if isinstance(answer, dict) else answer

    try:
        with gateway.running() as url:
            # Then a request is served by the container, over HTTP
            response = httpx.get(f"{url}/v1/models", headers={"authorization": "Bearer k"}, timeout=10)
            assert response.status_code == 200
            assert int(response.text) == router.describe()[0]["pid"]
        # And no prelude within the integration timeout is a 504, a crash a 502, neither with detail
        assert post({"sleep": 1.0}) == (504, "The router did not answer in time.")
        router.invoke({})  # (once the container has finished that one)
        assert post({"crash": True}) == (502, "Internal server error")
        assert post({})[0] == 200  # served by the replacement
    finally:
        router.stop()
        authorizer.stop()
