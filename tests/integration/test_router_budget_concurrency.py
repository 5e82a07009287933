"""200 concurrent chats from one tenant whose budget covers 50: the budget holds, nothing is lost.

The router's runtime runs against a moto server that applies one request at a time (as DynamoDB applies
each conditional write atomically); the 200 requests race each other over real HTTP.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import boto3
import pytest
from botocore.config import Config

from modelrouter.execution.spending import reserve_amount
from modelrouter.policy import parse_policy
from modelrouter.providers.types import ProviderCall, ProviderResult
from modelrouter.request import parse_chat_request
from modelrouter.selection.context import RequestContext
from modelrouter.selection.engine import decide
from tests.aws import serial_moto_server
from tests.fakes import EchoProvider
from tests.helpers import load_event, minimal_policy, with_tenant
from tests.integration.rig import router_environment, running_router

REQUESTS = 200
ADMITTED = 50


def test_two_hundred_concurrent_requests_never_overspend(monkeypatch: pytest.MonkeyPatch) -> None:
    router_environment(monkeypatch)
    config = Config(max_pool_connections=64, retries={"max_attempts": 10, "mode": "standard"})

    # Given one model, and a tenant whose daily budget covers exactly 50 worst-case reservations
    policy = minimal_policy()
    policy["routes"] = [{"name": "default", "models": ["small"]}]
    policy["execution"] = {"max_concurrency_per_provider": REQUESTS}  # one container serving all 200
    event = copy.deepcopy(load_event("chat-support"))
    with_tenant(event, "t1")
    loaded = parse_policy(json.dumps(policy)).policy
    request = parse_chat_request(event["body"])
    decision = decide(loaded, request, RequestContext.from_metadata("probe", "t1", None))
    per_request = Decimal(str(reserve_amount(decision, loaded)))
    limit = per_request * ADMITTED + per_request / 2
    policy["tenants"][0]["budget"] = {"daily_usd": float(limit)}

    with serial_moto_server() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config)
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=config)
        with running_router(json.dumps(policy), s3=s3, dynamodb=dynamodb, refresh_seconds=3600) as rig:
            rig.runtime.policies.current()
            # every admitted call waits until all 200 were admitted or refused: all are in flight at once
            all_decided = threading.Event()
            refused = Counter[str]()
            refused_lock = threading.Lock()
            for provider in rig.providers.values():
                _hold_calls_until(provider, all_decided)

            def send(number: int) -> tuple[int, dict[str, object]]:
                request = copy.deepcopy(event)
                request["requestContext"]["requestId"] = f"req-{number:03d}"
                status, body, _ = rig.call_direct(request)
                return status, body

            def watch() -> None:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if rig.model_calls() + refused["n"] >= REQUESTS or refused["n"] >= REQUESTS - ADMITTED:
                        break
                    time.sleep(0.05)
                all_decided.set()

            def send_and_count(number: int) -> tuple[int, dict[str, object]]:
                status, body = send(number)
                if status == 429:
                    with refused_lock:
                        refused["n"] += 1
                return status, body

            # When 200 requests arrive at once
            watcher = threading.Thread(target=watch)
            watcher.start()
            with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
                results = list(pool.map(send_and_count, range(REQUESTS)))
            watcher.join()

            # Then at most 50 are admitted and the rest get 429 budget_exhausted
            statuses = Counter(status for status, _ in results)
            assert set(statuses) <= {200, 429}, statuses
            assert statuses[200] == ADMITTED
            assert statuses[429] == REQUESTS - statuses[200]
            assert all(
                body["error"]["code"] == "budget_exhausted" for status, body in results if status == 429
            )
            # and committed spend stays within the limit, equal to what the ledger says was charged
            state = rig.runtime.service._budgets.state("t1")  # type: ignore[attr-defined]
            assert state["open_holds"] == 0
            assert Decimal(str(state["day_usd"])) <= limit
            assert abs(state["ledger_usd"] - state["month_usd"]) < 1e-9
            assert state["ledger_entries"] == statuses[200]
            # and every request has exactly one provenance record: the refusals audited at zero cost
            items = rig.provenance_items("t1")
            records = Counter(item["request_id"] for item in items)
            accepted = {body["router"]["request_id"] for status, body in results if status == 200}  # type: ignore[index]
            assert set(records) == {f"req-{number:03d}" for number in range(REQUESTS)}
            assert set(records.values()) == {1}
            assert {i["request_id"] for i in items if i["outcome"] == "success"} == accepted
            assert all(i["cost_usd"] == 0 for i in items if i["outcome"] == "refused")
            assert rig.model_calls() == statuses[200]


def _hold_calls_until(provider: EchoProvider, event: threading.Event) -> None:
    original = provider.complete

    def complete(call: ProviderCall) -> ProviderResult:
        with provider.lock:
            provider.calls.append(call)
        event.wait(60)
        provider.calls.pop()
        return original(call)

    provider.complete = complete  # type: ignore[method-assign]
