"""The local console in a real headless browser (Debian's ``chromium``): requests go through a local
stack, then the page is loaded, its script polls the state, and the rendered DOM (``--dump-dom``) is
checked; a screenshot is saved for people to look at.

Marked ``browser``: plain ``make test`` deselects it; ``make test-browser`` installs chromium when it is
missing and runs it (``CONSOLE_SCREENSHOT`` names where the screenshot goes; ``docs/console.png`` there).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from boto3.dynamodb.types import TypeDeserializer

from modelrouter.accounting.store import BudgetStore
from modelrouter.accounting.usage import tenant_usage
from modelrouter.local.console import console_url
from modelrouter.local.stack import LocalStack, StackOptions
from modelrouter.policy.loader import load_policy_file
from tests.browser.dom import Element, parse
from tests.helpers import ROOT

pytestmark = pytest.mark.browser

WINDOW_SIZE = (1400, 1000)
"""Browser window for the screenshot, in CSS pixels."""
VIRTUAL_TIME_MS = 5000
"""Virtual time the page gets before the DOM is dumped: its first fetch and a couple of polls."""
BROWSER_TIMEOUT_S = 90
"""Longest a chromium run may take (a cold start on a busy machine takes a few seconds)."""
HOSTILE_PROMPT = "<script>document.body.dataset.pwned='prompt'</script><img src=x onerror=\"document.body.dataset.pwned='img'\">"  # noqa: E501
"""A prompt an attacker sends; stored by a tenant with ``store_prompts``, shown in its request's decision."""
HOSTILE_MODEL = "<script>document.body.dataset.pwned='model'</script>"
"""A model name an attacker sends; refused, and quoted in the refusal's reason."""
TENANT_WITH_PROMPTS = "acme-support"
INSTALL = "apt-get install chromium"


@dataclass
class Sent:
    """What the test sent, by tenant: the HTTP statuses."""

    statuses: dict[str, list[int]] = field(default_factory=dict)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(f"chromium is not installed: `make test-browser` installs it as root ({INSTALL})")
    return found


def _policy_storing_prompts(directory: Path) -> Path:
    """policies/local.yaml with ``store_prompts`` for one tenant, next to a copy of its router artifacts."""
    source = ROOT / "policies" / "local.yaml"
    text = source.read_text(encoding="utf-8")
    marker = f"  - id: {TENANT_WITH_PROMPTS}\n"
    assert marker in text
    shutil.copytree(source.parent / "routers", directory / "routers")
    path = directory / "local.yaml"
    path.write_text(text.replace(marker, f"{marker}    store_prompts: true\n"), encoding="utf-8")
    return path


def _post(stack: LocalStack, sent: Sent, tenant: str, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {stack.api_keys[tenant]}"}
    response = httpx.post(f"{stack.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    sent.statuses.setdefault(tenant, []).append(response.status_code)


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _send(stack: LocalStack) -> Sent:
    """A hostile model name, a hostile prompt, a budget refusal, then requests while a model fails until
    its breaker opens (the newest request, shown expanded, has a cooling model among its exclusions)."""
    assert stack.models is not None
    sent = Sent()
    question = _user("How do I reset my password?")
    _post(stack, sent, "devtools", {"model": HOSTILE_MODEL, "messages": question})
    _post(stack, sent, TENANT_WITH_PROMPTS, {"model": "auto", "messages": _user(HOSTILE_PROMPT)})
    _post(stack, sent, "trial", {"model": "local-large", "max_tokens": 8000, "messages": question})
    _post(stack, sent, "devtools", {"model": "auto", "messages": _user("Fix this python bug")})
    failures = load_policy_file(stack.policy_path).policy.execution.cooldown.failures
    stack.models.inject("local-small", "server_error", times=failures + 1)
    for _ in range(failures):
        _post(stack, sent, TENANT_WITH_PROMPTS, {"model": "auto", "messages": question})
    stack.models.clear("local-small")
    return sent


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Sent]]:
    _chromium()
    policy = _policy_storing_prompts(tmp_path_factory.mktemp("policy"))
    options = StackOptions(policy=policy, port=0, models_port=0, latency_scale=0.0, containers=1)
    with LocalStack(options) as stack:
        yield stack, _send(stack)


def _run_chromium(url: str, profile: Path, *arguments: str) -> str:
    width, height = WINDOW_SIZE
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
        f"--user-data-dir={profile}", f"--window-size={width},{height}",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}", *arguments, url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def rendered(served: tuple[LocalStack, Sent], tmp_path_factory: pytest.TempPathFactory) -> Element:
    stack, _ = served
    return parse(_run_chromium(console_url(stack.url), tmp_path_factory.mktemp("profile"), "--dump-dom"))


def _records(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.resources is not None
    table = stack.resources.tables["ProvenanceTable"]
    items = stack.client("dynamodb").scan(TableName=table)["Items"]
    return [{name: TypeDeserializer().deserialize(value) for name, value in item.items()} for item in items]


def test_every_request_has_a_row_with_its_outcome(served: tuple[LocalStack, Sent], rendered: Element) -> None:
    stack, sent = served
    # Given the requests sent: a refusal of each kind among them, answers for the others
    assert 404 in sent.statuses["devtools"]
    assert sent.statuses["trial"] == [429]
    assert set(sent.statuses[TENANT_WITH_PROMPTS]) == {200}

    # Then the rendered page has one row per recorded request, with its tenant and outcome, live
    records = {str(r["request_id"]): r for r in _records(stack)}
    rows = {row.attrs["data-request-id"]: row for row in rendered.find_all("tr", data_request_id=None)}
    assert set(rows) == set(records)
    for request_id, record in records.items():
        assert rows[request_id].attrs["data-outcome"] == record["outcome"]
        assert str(record["tenant_id"]) in rows[request_id].text
    assert rendered.find(id="status").text.startswith("live")


def test_routes_spend_and_breakers_are_shown(served: tuple[LocalStack, Sent], rendered: Element) -> None:
    stack, _ = served
    assert stack.resources is not None
    # Then each route a request took has a routing-mix row naming it
    routes = {str(r["route"]) for r in _records(stack) if r.get("route")}
    assert routes
    for route in routes:
        assert route in rendered.find("tr", data_route=route).text

    # And the tenant's spend today is the one its usage computes (and not zero)
    policy = load_policy_file(stack.policy_path).policy
    tenant = next(t for t in policy.tenants if t.id == TENANT_WITH_PROMPTS)
    budgets = BudgetStore(stack.resources.tables["BudgetTable"], client=stack.client("dynamodb"))
    expected = tenant_usage(budgets, tenant).as_json()["periods"]["daily"]["committed_usd"]
    row = rendered.find("tr", data_tenant_id=TENANT_WITH_PROMPTS)
    shown = row.find("td", data_period=None).find("span", data_usd=None)
    assert float(shown.attrs["data-usd"]) == pytest.approx(expected)
    assert expected > 0
    assert shown.text.startswith("$")

    # And the model that kept failing shows as cooling
    assert rendered.find("tr", data_breaker="local-small").attrs["data-state"] == "cooling"


def test_hostile_prompt_and_model_name_are_text_and_never_run(rendered: Element) -> None:
    # Then the hostile strings are in the page as text (a prompt preview, a refusal's reason) ...
    texts = [element.text for element in rendered.find_all("q")] + [
        element.text for element in rendered.find_all("p", class_="reason")
    ]
    assert any(HOSTILE_PROMPT in text for text in texts)
    assert any(HOSTILE_MODEL in text for text in texts)

    # ... and never markup: the only script is the page's own, no image element exists, nothing ran
    scripts = rendered.find_all("script")
    assert len(scripts) == 1
    assert "pwned" not in scripts[0].text
    assert rendered.find_all("img") == []
    assert "data-pwned" not in rendered.find("body").attrs


def test_screenshot_is_saved(
    served: tuple[LocalStack, Sent], tmp_path_factory: pytest.TempPathFactory
) -> None:
    stack, _ = served
    target = Path(os.environ.get("CONSOLE_SCREENSHOT") or tmp_path_factory.mktemp("shot") / "console.png")
    target = target if target.is_absolute() else ROOT / target

    # When chromium takes a screenshot of the console
    _run_chromium(console_url(stack.url), tmp_path_factory.mktemp("profile"), f"--screenshot={target}")

    # Then it is a PNG of the window's size
    header = target.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == WINDOW_SIZE
