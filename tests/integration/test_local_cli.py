"""``modelrouter serve`` and ``invoke`` as a user runs them: real processes, signals, ports, bad input."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from tests.helpers import ROOT

COMMAND = [sys.executable, "-m", "modelrouter.cli.main"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # SO_REUSEADDR: a connection in TIME_WAIT is not a bound port (a restarted server binds fine)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_serve_answers_then_ctrl_c_stops_everything_and_frees_the_ports() -> None:
    # Given serve on free ports, the embedded AWS on one of our choosing, two containers per function
    port, models_port, aws_port = _free_port(), _free_port(), _free_port()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port), "--models-port", str(models_port),
         "--aws-port", str(aws_port), "--containers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if line.startswith("Ctrl-C") or not line:
                break
        text = "".join(banner)
        assert f"http://127.0.0.1:{port}/api/v1" in text, text
        assert f"http://127.0.0.1:{aws_port}" in text
        assert "router ×2" in text
        assert "authorizer ×2" in text
        key = next(line.split()[1] for line in banner if line.startswith("  acme-support "))
        containers = _children(process.pid)
        assert len(containers) == 4

        # When the openai package calls it with the printed key
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/api/v1", api_key=key, max_retries=0)
        completion = client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "How do I reset my password?"}]
        )
        assert completion.choices[0].message.content

        # And Ctrl-C arrives
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then nothing is left bound, and no container process is left running
    assert _port_is_free(port)
    assert _port_is_free(models_port)
    assert _port_is_free(aws_port)
    assert not [pid for pid in containers if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]


def _children(parent: int) -> list[int]:
    """Container processes started by ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"container_main" in command:
                found.append(int(entry.name))
    return found


def _is_zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_serve_with_an_embedded_aws_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_error(_run("serve", "--port", "0", "--models-port", "0", "--aws-port", str(port)))
    assert f"port {port} is in use (embedded AWS)" in line


def test_serve_with_a_missing_policy_file_is_one_line() -> None:
    line = _one_line_error(
        _run("serve", "--policy", "no/such/policy.yaml", "--port", "0", "--models-port", "0")
    )
    assert "no/such/policy.yaml" in line


def test_serve_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_error(_run("serve", "--port", str(port), "--models-port", "0"))
    assert f"port {port} is in use" in line


def test_serve_with_an_invalid_policy_lists_the_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "policies" / "local.yaml")
        .read_text()
        .replace("default_route: support-triage", "default_route: nowhere")
    )
    result = _run("serve", "--policy", str(bad), "--port", "0", "--models-port", "0")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "unknown route 'nowhere'" in result.stderr


def test_invoke_runs_an_event_through_the_handler() -> None:
    result = _run("invoke", "events/chat-support.json", "--models-port", "0")
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert response["body"]["object"] == "chat.completion"


def test_invoke_runs_an_authorizer_event() -> None:
    # When a valid key's authorizer event runs, Then the policy allows the stage, with the tenant
    result = _run("invoke", "events/authorizer/valid-key.json", "--models-port", "0")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert answer["context"]["tenant_id"] == answer["principalId"] != "anonymous"


def test_invoke_of_a_revoked_key_shows_a_deny() -> None:
    result = _run("invoke", "events/authorizer/revoked-key.json", "--models-port", "0")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert answer["context"]["reason"] == "revoked"


def test_invoke_prints_a_streamed_answer_as_text() -> None:
    result = _run("invoke", "events/chat-stream.json", "--models-port", "0")
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    headers = {name.lower(): value for name, value in response["headers"].items()}
    assert headers["content-type"].startswith("text/event-stream")
    assert response["body"].rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"model": "auto", "messages": []}', "not an API Gateway REST API proxy event"),
        ("[1, 2, 3]", "expected a JSON object"),
        ("not json at all", "is not JSON"),
    ],
)
def test_invoke_refuses_what_is_not_an_api_gateway_event(tmp_path: Path, content: str, expected: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(content)
    assert expected in _one_line_error(_run("invoke", str(event), "--models-port", "0"))


def test_invoke_of_a_missing_file_is_one_line() -> None:
    assert "cannot read" in _one_line_error(_run("invoke", "events/nope.json"))


def test_no_process_is_left_behind_by_invoke() -> None:
    # invoke runs everything in its own process and exits: nothing of ours keeps running
    before = _our_processes()
    _run("invoke", "events/models-list.json", "--models-port", "0")
    assert _our_processes() <= before


def _our_processes() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"modelrouter.cli.main" in command and int(entry.name) != os.getpid():
                found.add(int(entry.name))
    return found
