"""The local console's HTTP endpoints on a running local stack (no browser): the page, its state document
after real requests, and what it refuses to serve."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelrouter.accounting.store import BudgetStore
from modelrouter.accounting.usage import tenant_usage
from modelrouter.local.console import CONSOLE_PATH, STATE_PATH, ConsolePages, console_url
from modelrouter.local.console.pages import ICON_PATH
from modelrouter.local.gateway import Gateway
from modelrouter.local.stack import LocalStack, StackOptions
from modelrouter.policy.loader import load_policy_file
from tests.helpers import ROOT, load_event


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(port=0, models_port=0, latency_scale=0.0, containers=0, policy_refresh_seconds=1)
    with LocalStack(options) as running:
        yield running


def _chat(stack: LocalStack, tenant: str, **fields: Any) -> httpx.Response:
    body = {**json.loads(load_event("chat-support")["body"]), **fields}
    headers = {"Authorization": f"Bearer {stack.api_keys[tenant]}"}
    return httpx.post(f"{stack.url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def _state(stack: LocalStack) -> dict[str, Any]:
    response = httpx.get(console_url(stack.url) + "/state.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def test_state_lists_requests_with_decisions_routes_and_each_tenants_spend(stack: LocalStack) -> None:
    assert stack.resources is not None
    # Given an answered request and one refused for its budget (a pinned model with a huge max_tokens)
    answered = _chat(stack, "acme-support")
    refused = _chat(stack, "trial", model="local-large", max_tokens=8_000)
    assert (answered.status_code, refused.status_code) == (200, 429)
    answered_id = answered.json()["router"]["request_id"]

    # When the console's state is read
    state = _state(stack)

    # Then both requests are listed, newest first, the answer with its decision explained
    listed = {r["request_id"]: r for r in state["requests"]}
    assert state["requests"][0]["tenant_id"] == "trial"
    assert listed[answered_id]["model"] == answered.json()["model"]
    assert listed[answered_id]["route"] == answered.json()["router"]["route"]
    assert answered.json()["model"] in [c["model"] for c in listed[answered_id]["candidates"]]
    assert listed[answered_id]["attempts"][-1]["model"] == answered.json()["model"]
    assert listed[answered_id]["attempts"][-1]["outcome"] == "success"
    trial = state["requests"][0]
    assert (trial["outcome"], trial["error_code"]) == ("refused", "budget_exhausted")
    assert trial["reason"]

    # And the routing mix counts them per route; the spend is the one GET /v1/usage computes
    routes = {row["route"]: row for row in state["routes"]}
    assert routes[listed[answered_id]["route"]]["answered"] >= 1
    assert routes[trial["route"]]["refused"] >= 1
    tenants = {row["tenant_id"]: row for row in state["tenants"]}
    policy = load_policy_file(stack.policy_path).policy
    assert set(tenants) == {tenant.id for tenant in policy.tenants}
    budgets = BudgetStore(stack.resources.tables["BudgetTable"], client=stack.client("dynamodb"))
    acme = next(tenant for tenant in policy.tenants if tenant.id == "acme-support")
    expected = tenant_usage(budgets, acme).as_json()["periods"]["daily"]
    shown = tenants["acme-support"]["periods"]["daily"]
    assert shown["spent_usd"] == pytest.approx(expected["spent_usd"])
    assert shown["spent_usd"] > 0
    assert shown["limit_usd"] == acme.budget.daily_usd


def test_a_model_that_keeps_failing_shows_as_cooling(stack: LocalStack) -> None:
    assert stack.models is not None
    policy = load_policy_file(stack.policy_path).policy
    cooldown = policy.execution.cooldown
    # Given the first model of acme-support's route failing with 500s until its breaker opens
    stack.models.inject("local-small", "server_error", times=cooldown.failures + 1)
    try:
        for _ in range(cooldown.failures):
            assert _chat(stack, "acme-support").status_code == 200  # a fallback answers
    finally:
        stack.models.clear("local-small")

    # When the console's state is read
    state = _state(stack)

    # Then the breaker view shows the model cooling (a request found it so) and says what it is inferred from
    breakers = {row["model"]: row for row in state["breakers"]["models"]}
    assert breakers["local-small"]["state"] == "cooling"
    assert "provenance" in state["breakers"]["source"]
    skipped = [r for r in state["requests"] if any(e["reason"] == "cooling_down" for e in r["exclusions"])]
    assert skipped
    assert state["breakers"]["cooldown"]["pause_s"] == cooldown.pause_s


def test_the_page_is_self_contained_and_allows_only_its_own_script(stack: LocalStack) -> None:
    # When the page is fetched
    response = httpx.get(console_url(stack.url), timeout=10)

    # Then it is HTML whose CSP admits exactly its inline script and style, with no external URL
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    for kind in ("script", "style"):
        (body,) = re.findall(rf"<{kind}>(.*?)</{kind}>", response.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", response.text)
    assert ".innerHTML" not in response.text
    assert STATE_PATH in response.text
    # And it names its own icon (img-src 'self'), so a browser never asks the API for /favicon.ico
    assert f'rel="icon" href="{ICON_PATH}"' in response.text
    icon = httpx.get(console_url(stack.url).removesuffix(CONSOLE_PATH) + ICON_PATH, timeout=10)
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml")
    assert "img-src 'self'" in policy


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/_local/nothing", {}),
        ("GET", f"{STATE_PATH}/more", {}),
        ("POST", STATE_PATH, {}),
        ("DELETE", CONSOLE_PATH, {}),
        ("GET", STATE_PATH, {"host": "attacker.example"}),
    ],
)
def test_anything_else_under_local_is_not_found(
    stack: LocalStack, method: str, path: str, headers: dict[str, str]
) -> None:
    # When a request other than a GET of a console page, or for another host name, comes in
    base = console_url(stack.url).removesuffix(CONSOLE_PATH)
    response = httpx.request(method, base + path, headers=headers, timeout=10)

    # Then it is 404, without the state
    assert response.status_code == 404
    assert b"requests" not in response.content


def test_the_console_is_outside_the_api_and_the_template() -> None:
    # Given a gateway without a console (the deployed API has none)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": "{}"}

    gateway = Gateway(handler, handler)

    # When the console's paths are requested from it, and through the API stage
    with gateway.running() as url:
        bare = httpx.get(console_url(url), timeout=10)
        staged = httpx.get(f"{url}{CONSOLE_PATH}", timeout=10)

    # Then both are refused, and template.yaml never names it
    assert bare.status_code == 404
    assert staged.status_code == 404
    assert staged.json()["error"]["message"].startswith("No route for")  # the API's own refusal
    assert "_local" not in (ROOT / "template.yaml").read_text()


def test_a_state_that_cannot_be_read_is_a_503_with_a_message() -> None:
    # Given console pages whose state cannot be read
    def broken() -> dict[str, Any]:
        raise ConnectionError("embedded AWS is gone")

    pages = ConsolePages(broken)

    # When the state is requested
    status, headers, body = pages("GET", STATE_PATH, [("Host", "127.0.0.1:8080")], "127.0.0.1")

    # Then it is a 503 JSON error naming the failure (the page shows it and keeps polling)
    assert (status, headers["content-type"]) == (503, "application/json")
    assert "embedded AWS is gone" in json.loads(body)["error"]["message"]
