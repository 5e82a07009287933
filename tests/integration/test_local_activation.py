"""Local mode activates uploads as AWS does: ``modelrouter policy push --local`` against a running
``modelrouter serve`` waits for the in-process activator's verdict (activated, or rejected with its
problems), the routers follow the activated version, and ``policy history``/``rollback --local`` work
on the stack's bucket. Real processes, as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modelrouter.local.local_env import LOCAL_ENV_OVERRIDE
from tests.helpers import ROOT
from tests.integration.test_local_cli import _banner, _free_port

COMMAND = [sys.executable, "-m", "modelrouter.cli.main"]
LOCAL_POLICY = ROOT / "policies" / "local.yaml"
SERVE_REFRESH_S = 5
"""How often serve's routers re-read the pointer (StackOptions' default)."""


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """``serve`` with one container per function on free ports: its API URL, a key and its models URL."""
    monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(tmp_path / "local.env"))
    port, models_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port), "--models-port", str(models_port), "--containers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        banner = _banner(process)
        key = next(line.split()[1] for line in banner if line.startswith("  acme-support "))
        policy_line = next(line for line in banner if line.startswith("  policy "))
        yield {"url": f"http://127.0.0.1:{port}/api", "key": key, "models": f"http://127.0.0.1:{models_port}",
               "banner": policy_line}  # fmt: skip
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _policy(tmp_path: Path, models_url: str, change: Any = None, name: str = "policy.yaml") -> Path:
    """policies/local.yaml pointing at this serve's models, changed by ``change``."""
    document = yaml.safe_load(LOCAL_POLICY.read_text().replace("http://127.0.0.1:8081", models_url))
    if change is not None:
        change(document)
    path = tmp_path / name  # its artifacts are checked in the stack's bucket, where serve put them
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _never_serves(document: dict[str, Any]) -> None:
    without = next(m for m in document["models"] if "vision" not in m.get("capabilities", []))
    document["routes"].insert(0, {"name": "scans", "when": {"tags": ["scan"]}, "models": [without["id"]],
                                  "require_capabilities": ["vision"]})  # fmt: skip


def _served_version(served: dict[str, Any]) -> str:
    body = {"model": "auto", "messages": [{"role": "user", "content": "How do I reset my password?"}]}
    headers = {"Authorization": f"Bearer {served['key']}"}
    answer = httpx.post(f"{served['url']}/v1/route", json=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["policy_version"])


def test_push_local_activates_or_rejects_and_the_routers_follow(
    served: dict[str, Any], tmp_path: Path
) -> None:
    assert "activated" in served["banner"]
    first = _served_version(served)
    # When a valid policy is pushed to the running stack
    valid = _policy(tmp_path, served["models"], lambda d: d.update(description="pushed"))
    pushed = _run("policy", "push", str(valid), "--local")
    # Then the in-process activator activated it within the wait, and the routers follow it
    assert pushed.returncode == 0, pushed.stderr
    assert "activated: " in pushed.stdout
    version = next(line.split()[1] for line in pushed.stdout.splitlines() if line.startswith("version: "))
    deadline = time.monotonic() + SERVE_REFRESH_S * 3
    while _served_version(served) != version and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _served_version(served) == version != first
    # When a policy the dry run fails is pushed
    broken = _policy(tmp_path, served["models"], _never_serves, "broken.yaml")
    rejected = _run("policy", "push", str(broken), "--local")
    # Then push reports the rejection and its problem, and the routers keep the pushed version
    assert rejected.returncode == 1
    assert "rejected: not active" in rejected.stderr
    assert "route 'scans' never decides with a candidate" in rejected.stderr
    assert "Traceback" not in rejected.stderr
    assert _served_version(served) == version
    # And the history lists both, newest first
    history = _run("policy", "history", "--local", "--json")
    assert history.returncode == 0, history.stderr
    outcomes = [(r["outcome"], r["by"]) for r in json.loads(history.stdout)]
    assert outcomes[:3] == [("rejected", "upload"), ("activated", "upload"), ("activated", "upload")]
    # When rolled back, Then the first version is active again
    rolled = _run("policy", "rollback", "--local")
    assert rolled.returncode == 0, rolled.stderr
    assert f"@{first} is active" in rolled.stdout
