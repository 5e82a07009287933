"""Faults around the router: S3 and DynamoDB failing, a broken policy pushed, provenance not writable,
PII that must stay out of logs and tables, and tenant fields forged by the client."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrouter.providers.errors import ProviderServerError
from tests.helpers import EXAMPLE_POLICY, load_event
from tests.integration.rig import RouterRig, router_environment, running_router

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"


@contextmanager
def _throttled(client: Any, attempts: int = 5) -> Iterator[None]:
    """DynamoDB answering every reservation attempt with a throughput error."""
    with Stubber(client) as stub:
        for _ in range(attempts):
            stub.add_client_error(
                "update_item", "ProvisionedThroughputExceededException", "slow down", http_status_code=400
            )
        yield


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


def test_a_version_the_router_cannot_load_keeps_the_last_good_one_serving(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a request served by the first version
    _, first, _ = rig.call(load_event("chat-support"))
    good_version = first["router"]["policy_version"]

    # When the pointer names a version with a dangling route reference, never activated (written by
    # hand; the activator would have rejected it: tests/integration/test_policy_activation.py)
    broken = yaml.safe_load(EXAMPLE_POLICY.read_text())
    broken["tenants"][0]["default_route"] = "no-such-route"
    rig.point_at_unchecked(yaml.safe_dump(broken, sort_keys=False))
    event = copy.deepcopy(load_event("chat-support"))
    event["requestContext"]["requestId"] = "req-after-broken-push"
    status, body, _ = rig.call(event)

    # Then the last good version still serves, and the rejection is logged and counted
    assert status == 200, body
    assert body["router"]["policy_version"] == good_version
    logs = rig.log_lines(capsys.readouterr().out)
    assert any(line.get("kind") == "rejected" and "no-such-route" in line["detail"] for line in logs)
    assert any("PolicyRejected" in line for line in logs)


def test_s3_unavailable_keeps_the_last_good_policy(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a loaded policy, then S3 answering 503
    rig.call(load_event("chat-support"))
    with Stubber(rig.s3) as s3:
        s3.add_client_error("get_object", "ServiceUnavailable", "S3 is down", http_status_code=503)
        # When the next request refreshes the policy
        status, body, _ = rig.call(load_event("chat-support-hard"))

    # Then it is served on the last good policy and the failed refresh is counted
    assert status == 200, body
    logs = rig.log_lines(capsys.readouterr().out)
    assert any(line.get("kind") == "refresh_failed" for line in logs)
    assert any("PolicyRefreshFailures" in line for line in logs)


def test_budget_table_throttled_fails_closed_by_default(rig: RouterRig) -> None:
    # Given DynamoDB throttling the reservation
    with _throttled(rig.dynamodb):
        # When a chat arrives
        status, body, _headers = rig.call(load_event("chat-support"))

    # Then 503 and no model is called
    assert status == 503, body
    assert body["error"]["code"] == "budget_store_unavailable"
    assert rig.model_calls() == 0


def test_budget_table_throttled_fails_open_when_the_policy_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a policy that prefers serving to refusing when budgets cannot be checked
    router_environment(monkeypatch)
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    policy.setdefault("defaults", {})["budget_store_failure"] = "fail_open"
    with running_router(yaml.safe_dump(policy, sort_keys=False)) as rig:
        rig.runtime.policies.current()
        with _throttled(rig.dynamodb):
            # When a chat arrives
            status, body, _ = rig.call(load_event("chat-support"))

    # Then it is served, loudly: a metric, an error log, and the record in the log
    assert status == 200, body
    logs = rig.log_lines(capsys.readouterr().out)
    assert any("BudgetStoreFailOpen" in line for line in logs)
    assert any(line.get("provenance", {}).get("request_id") == "req-chat-support" for line in logs)


def test_provenance_write_failing_puts_the_record_in_the_log(
    rig: RouterRig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a provenance table that has gone away
    rig.runtime.policies.current()
    rig.dynamodb.delete_table(TableName=rig.tables["ProvenanceTable"])

    # When a chat is served
    status, body, _ = rig.call(load_event("chat-support"))

    # Then the answer still goes out, the budget is settled, and the full record is logged and counted
    assert status == 200, body
    logs = rig.log_lines(capsys.readouterr().out)
    (logged,) = [line for line in logs if line.get("message") == "provenance record not stored"]
    assert logged["provenance"]["request_id"] == "req-chat-support"
    assert logged["provenance"]["model"] == body["model"]
    assert any("ProvenanceWriteFailures" in line for line in logs)
    ledger = rig.dynamodb.scan(TableName=rig.tables["BudgetTable"])["Items"]
    assert any(
        item["sk"]["S"].startswith("ledger#") and item["sk"]["S"].endswith("#req-chat-support")
        for item in ledger
    )


def test_seeded_pii_never_reaches_logs_or_tables(rig: RouterRig, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a prompt with a card number and an e-mail, and a first model whose error quotes the prompt
    event = load_event("chat-pii")
    policy = rig.runtime.policies.current().policy
    leaky = ProviderServerError(f"cannot process '{CARD}' for {EMAIL}", provider="fake", status=500)
    first_choice = rig.call(load_event("route-dry-run"))[1]["candidates"][0]["model"]
    for provider in rig.providers.values():
        provider.failing = {first_choice: leaky} if first_choice in policy.model_by_id else {}

    # When it is served (and the dry run and a stream of it too)
    status, body, _ = rig.call(event)
    stream_event = copy.deepcopy(event)
    stream_event["body"] = json.dumps({**json.loads(event["body"]), "stream": True})
    stream_event["requestContext"]["requestId"] = "req-chat-pii-stream"
    rig.call(stream_event)

    # Then neither value appears in any log line or any item of any table
    assert status == 200, body
    logs = rig.logs.getvalue() + capsys.readouterr().out
    stored = json.dumps([rig.dynamodb.scan(TableName=name)["Items"] for name in rig.tables.values()])
    for text in (logs, stored):
        for secret in (CARD, CARD.replace(" ", ""), EMAIL):
            assert secret not in text
    (record, _) = rig.provenance_items("acme-support")
    assert record["features"]["pii_kinds"]


FORGED = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    forged=FORGED,
    in_metadata=st.booleans(),
    in_headers=st.booleans(),
    in_query=st.booleans(),
    in_user=st.booleans(),
)
def test_a_forged_tenant_anywhere_in_the_request_changes_nothing(
    rig: RouterRig, forged: str, in_metadata: bool, in_headers: bool, in_query: bool, in_user: bool
) -> None:
    # Given the decision for acme-support without forgery
    baseline = rig.call(load_event("route-dry-run"))[1]

    # When the client claims another tenant in the body, headers and query string
    event = copy.deepcopy(load_event("route-dry-run"))
    request = json.loads(event["body"])
    if in_metadata:
        request["metadata"] = {"tenant": forged, "tenant_id": forged, "x-tenant-id": forged}
    if in_user:
        request["user"] = forged
    if in_headers:
        event["headers"].update({"x-tenant-id": forged, "x-modelrouter-tenant": forged, "tenant": forged})
    if in_query:
        event["rawQueryString"] = f"tenant={forged}&tenant_id={forged}"
        event["queryStringParameters"] = {"tenant": forged, "tenant_id": forged}
    event["body"] = json.dumps(request)
    status, decision, _ = rig.call(event)

    # Then the tenant and the routing are the authorizer's, exactly as before
    assert status == 200, decision
    assert decision["tenant"] == "acme-support"
    for field in ("route", "candidates", "exclusions", "classification"):
        assert decision[field] == baseline[field]


def test_over_budget_tenant_is_downgraded_when_the_policy_names_a_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given acme-support (over_budget_route: budget-saver) with a budget too small for its normal route
    router_environment(monkeypatch)
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    tenant = next(t for t in policy["tenants"] if t["id"] == "acme-support")
    tenant["budget"] = {"daily_usd": 0.01}
    with running_router(yaml.safe_dump(policy, sort_keys=False)) as rig:
        # When a hard request whose normal route could cost more than that arrives
        status, body, _ = rig.call(load_event("chat-support-hard"))
        downgraded = rig.log_lines()

    # Then it is served on the cheaper route instead of refused, and the rejection is counted
    assert status == 200, body
    assert body["router"]["route"] == "budget-saver"
    assert any(line.get("message") == "budget exhausted" for line in downgraded)


def test_the_downgrade_route_also_skips_models_in_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given acme-support over budget, and the downgrade route's first model in cooldown
    router_environment(monkeypatch)
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    next(t for t in policy["tenants"] if t["id"] == "acme-support")["budget"] = {"daily_usd": 0.01}
    with running_router(yaml.safe_dump(policy, sort_keys=False)) as rig:
        active = rig.runtime.policies.current().policy
        breakers = rig.runtime.service.executor(active).breakers
        for _ in range(active.execution.cooldown.failures):
            permit = breakers.permit("nova-micro")
            assert permit is not None
            permit.failed()
        # When a request is downgraded
        status, body, _ = rig.call(load_event("chat-support-hard"))

    # Then the cooling model is not tried: the downgrade decision saw the same cooldowns
    assert status == 200, body
    assert body["router"]["route"] == "budget-saver"
    assert "nova-micro" not in [attempt["model"] for attempt in body["router"]["attempts"]]


def test_over_budget_tenant_without_a_downgrade_route_gets_429(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given devtools (no over_budget_route) with a budget below one request's worst case
    router_environment(monkeypatch)
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    tenant = next(t for t in policy["tenants"] if t["id"] == "devtools")
    tenant["budget"] = {"daily_usd": 0.001}
    with running_router(yaml.safe_dump(policy, sort_keys=False)) as rig:
        status, body, headers = rig.call(load_event("chat-tool-call"))

    # Then 429 says which limit and when it resets, and no model was called
    assert status == 429, body
    assert body["error"]["code"] == "budget_exhausted"
    assert "daily budget" in body["error"]["message"]
    assert 0 < int(headers["retry-after"]) <= 86_400
    assert rig.model_calls() == 0
