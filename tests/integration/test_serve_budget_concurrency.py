"""200 concurrent chats over HTTP against the local stack in simulated Lambda containers, for a tenant
whose budget admits exactly 3: the budget holds across processes, nothing is lost.

The in-process twin is ``test_router_budget_concurrency.py``. Here six router containers (processes,
each with its own runtime and budget store client) race each other through the embedded AWS, which
applies one request at a time as DynamoDB applies each conditional write atomically. The admitted
calls are held at the model server until every other request has been decided, so all reservations
overlap.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from boto3.dynamodb.types import TypeDeserializer

from modelrouter.accounting.store import BudgetStore
from modelrouter.local.environment import POLICY_KEY
from modelrouter.local.model_faults import Injection
from modelrouter.local.stack import LocalStack, StackOptions
from tests.helpers import minimal_policy, model_entry

REQUESTS = 200
ADMITTED = 3
CONTAINERS = 6
BODY = {
    "model": "auto",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "How do I reset my password?"}],
}


def _policy(daily_usd: float) -> str:
    policy = minimal_policy()
    policy["models"] = [model_entry("small", model_id="local.small-v1:0")]  # Bedrock, on the model server
    policy["routes"] = [{"name": "default", "models": ["small"]}]
    policy["tenants"][0]["budget"] = {"daily_usd": daily_usd}
    return yaml.safe_dump(policy, sort_keys=False)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    path = tmp_path / "policy.yaml"
    path.write_text(_policy(1_000.0))
    options = StackOptions(
        policy=path, port=0, models_port=0, latency_scale=0.0, containers=CONTAINERS, policy_refresh_seconds=1
    )
    with LocalStack(options) as running:
        yield running


def _records(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.resources is not None
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.resources.tables["ProvenanceTable"])
    )
    deserialize = TypeDeserializer().deserialize
    return [{k: deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]]


def test_two_hundred_concurrent_requests_over_http_never_overspend(stack: LocalStack) -> None:
    assert stack.resources is not None
    assert stack.models is not None
    http = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=REQUESTS))
    headers = {"authorization": f"Bearer {stack.api_keys['t1']}"}

    # Given a daily budget of exactly three worst-case reservations (and a half), as the router computes them
    reserve = Decimal(
        str(http.post(f"{stack.url}/v1/route", json=BODY, headers=headers).json()["reserve_usd"])
    )
    limit = reserve * ADMITTED + reserve / 2
    assert stack.activator is not None  # uploaded and activated now, as its upload event would
    stack.activator.activate_now(POLICY_KEY, _policy(float(limit)).encode(), "the budget policy")
    time.sleep(1.5)  # every container re-reads the policy on its next request

    # And admitted calls held at the model until every other request was admitted or refused
    decided, calls, refused = threading.Event(), Counter[str](), Counter[str]()
    lock = threading.Lock()
    draw = stack.models.faults.draw

    def held_draw(name: str) -> Injection | None:
        with lock:
            calls["n"] += 1
        decided.wait(60)
        return draw(name)

    stack.models.faults.draw = held_draw  # type: ignore[method-assign]

    def watch() -> None:
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline and calls["n"] + refused["n"] < REQUESTS:
            if refused["n"] >= REQUESTS - ADMITTED:
                break
            time.sleep(0.05)
        decided.set()

    def send(_: int) -> tuple[int, dict[str, Any]]:
        response = http.post(f"{stack.url}/v1/chat/completions", json=BODY, headers=headers)
        if response.status_code == 429:
            with lock:
                refused["n"] += 1
        return response.status_code, response.json()

    # When 200 requests arrive at once
    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(REQUESTS) as pool:
        results = list(pool.map(send, range(REQUESTS)))
    watcher.join()
    http.close()

    # Then exactly three are admitted and answered; every other one is refused for the budget
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: ADMITTED, 429: REQUESTS - ADMITTED}, statuses
    assert {body["error"]["code"] for status, body in results if status == 429} == {"budget_exhausted"}
    assert calls["n"] == ADMITTED
    # And committed spend stays within the limit, equal to the ledger, with no hold left open
    state = BudgetStore(stack.resources.tables["BudgetTable"], stack.client("dynamodb")).state("t1")
    assert state["open_holds"] == 0
    assert Decimal(str(state["day_usd"])) <= limit
    assert state["ledger_entries"] == ADMITTED
    assert abs(state["ledger_usd"] - state["month_usd"]) < 1e-9
    # And each admitted request has exactly one provenance record, whose costs add up to the ledger
    records = [record for record in _records(stack) if record["tenant_id"] == "t1"]
    admitted = {body["router"]["request_id"] for status, body in results if status == 200}
    per_request = Counter(record["request_id"] for record in records)
    assert all(per_request[request_id] == 1 for request_id in admitted)
    assert abs(sum(float(record["cost_usd"]) for record in records) - state["ledger_usd"]) < 1e-9
    # And six router containers served them, each its own process
    assert len({container["pid"] for container in stack.containers()["router"]}) == CONTAINERS
