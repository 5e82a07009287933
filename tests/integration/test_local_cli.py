"""``modelrouter serve`` and ``invoke`` as a user runs them: real processes, signals, ports, bad input,
``.modelrouter/local.env``, the line per request and ``--dev-keys``.

Every ``serve`` here writes its ``local.env`` to a temporary path (``$MODELROUTER_LOCAL_ENV``), never
over the file of a ``serve`` someone runs in this checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import openai
import pytest

from modelrouter.local.dev_keys import dev_key
from modelrouter.local.local_env import LOCAL_ENV_KEYS, LOCAL_ENV_OVERRIDE, read_local_env
from tests.helpers import ROOT

COMMAND = [sys.executable, "-m", "modelrouter.cli.main"]
SERVE_MODELS_PORT = 8081
"""serve's default model server port, which invoke must leave alone."""


@pytest.fixture(autouse=True)
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's serve processes write ``local.env`` (inherited through the environment)."""
    path = tmp_path / "local.env"
    monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(path))
    return path


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


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )


def _banner(process: subprocess.Popen[str]) -> list[str]:
    """serve's lines up to and including the one that says how to stop it."""
    assert process.stdout is not None
    banner = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        banner.append(line)
        if line.startswith("Ctrl-C") or not line:
            break
    return banner


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, then the rest of its stdout and its stderr; the exit status must be 0."""
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    return out, err


@contextlib.contextmanager
def _held(port: int) -> Iterator[None]:
    """``port`` bound by this test if it is free (if not, something else already holds it)."""
    with socket.socket() as holder:
        with contextlib.suppress(OSError):
            holder.bind(("127.0.0.1", port))
            holder.listen()
        yield


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_serve_answers_then_ctrl_c_stops_everything_and_frees_the_ports() -> None:
    # Given serve on free ports, the embedded AWS on one of our choosing, two containers per function
    port, models_port, aws_port = _free_port(), _free_port(), _free_port()
    process = _serve(
        "--port", str(port), "--models-port", str(models_port), "--aws-port", str(aws_port),
        "--containers", "2",
    )  # fmt: skip
    try:
        banner = _banner(process)
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
    assert f"port {port} is in use (embedded AWS; is modelrouter serve running?)" in line
    assert line.endswith("pass --aws-port 0 or another port")


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
    assert f"port {port} is in use (router API; is modelrouter serve running?)" in line
    assert line.endswith("pass --port 0 or another port")


def test_serve_with_the_model_port_in_use_names_models_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_error(_run("serve", "--port", "0", "--models-port", str(port)))
    assert f"port {port} is in use (model server; is modelrouter serve running?)" in line
    assert line.endswith("pass --models-port 0 or another port")


def test_invoke_leaves_serves_model_port_alone() -> None:
    # Given serve's model port taken (by this test, or by a serve already running)
    with _held(SERVE_MODELS_PORT):
        # When invoke runs with its defaults / Then it picks a free port and answers
        result = _run("invoke", "events/chat-support.json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 200


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


def test_serve_writes_local_env_prints_a_line_per_request_and_removes_it(local_env: Path) -> None:
    # Given a file left by a serve that was killed, and serve started with dev keys
    local_env.write_text("# modelrouter serve pid 999999999: gone\nexport AWS_REGION='us-east-1'\n")
    process = _serve("--port", "0", "--models-port", "0", "--containers", "1", "--dev-keys")
    try:
        banner = _banner(process)
        # Then the banner shows each tenant's dev key, the same as derived from its name
        key = next(line.split()[1] for line in banner if line.startswith("  acme-support "))
        assert key == dev_key("acme-support").token
        assert any("source" in line and str(local_env) in line for line in banner)
        # And local.env (owner-only) points at this stack: boto3 finds the dev keys through it
        values = read_local_env(local_env)
        assert set(values) == set(LOCAL_ENV_KEYS)
        assert stat.S_IMODE(local_env.stat().st_mode) == 0o600
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=values["AWS_ENDPOINT_URL"],
            region_name=values["AWS_REGION"],
            aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        )
        items = dynamodb.scan(TableName=values["API_KEY_TABLE"])["Items"]
        assert dev_key("acme-support").key_id in {item["key_id"]["S"] for item in items}

        # When the openai package, pointed by local.env, sends a request, a stream and a bad key
        client = openai.OpenAI(base_url=values["OPENAI_BASE_URL"], api_key=key, max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "How do I reset my password?"}]
        answered = client.chat.completions.create(model="auto", messages=messages)
        for _ in client.chat.completions.create(model="auto", messages=messages, stream=True):
            pass
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=values["OPENAI_BASE_URL"], api_key="mr_nope", max_retries=0).models.list()
        out, err = _stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then serve printed a line for each, with the router's own figures, and the stale file was noticed
    assert answered.model_extra is not None
    route, model = answered.model_extra["router"]["route"], answered.model
    lines = [line for line in out.splitlines() if "acme-support" in line or "401" in line]
    assert len(lines) == 3, out
    assert f"acme-support    {route} → {model}" in lines[0]
    assert " 1 attempt " in lines[0]
    assert " 200 " in lines[0]
    assert lines[1].endswith(" streamed")
    assert "GET /api/v1/models" in lines[2]
    assert lines[2].endswith("401 invalid_api_key")
    assert "left by a modelrouter serve that was killed (pid 999999999)" in err
    # And the file is gone once serve stopped
    assert not local_env.exists()


def _make_dry_run(*args: str) -> list[str]:
    """The commands ``make -n`` would run (``-B``: as on a fresh clone, the installation included)."""
    # --no-print-directory: under a parent make (make test) a sub-make announces its directory
    command = ["make", "--no-print-directory", "-n", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return result.stdout.splitlines()


def test_make_serve_passes_port_models_port_and_dev_keys() -> None:
    # Given make serve with PORT, MODELS_PORT and DEV_KEYS / When make plans it / Then serve gets them
    port, models_port = _free_port(), _free_port()
    planned = _make_dry_run("serve", f"PORT={port}", f"MODELS_PORT={models_port}", "DEV_KEYS=1")
    assert f".venv/bin/modelrouter serve --port {port} --models-port {models_port} --dev-keys" in planned
    # And without them, serve's own defaults and no dev keys
    assert ".venv/bin/modelrouter serve --port 8080 --models-port 8081" in _make_dry_run("serve")


def test_make_demo_says_what_it_installs_and_how_long_it_all_took() -> None:
    # Given a fresh clone (-B: every target remade) / When make plans the demo
    planned = _make_dry_run("-B", "demo")
    # Then it announces the installation before it starts, and reports the total time after the demo
    announce = next(i for i, line in enumerate(planned) if "Installing modelrouter" in line)
    install = next(i for i, line in enumerate(planned) if "pip install" in line)
    assert announce < install
    assert "usually about" in planned[announce]
    assert "make demo took" in planned[-1]
