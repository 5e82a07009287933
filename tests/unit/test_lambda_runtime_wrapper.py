"""The layer's exec wrapper starts the streaming runtime: ``python -m modelrouter.lambda_runtime`` in a
subprocess, as Lambda would start it, against the fake Runtime API."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers import ROOT
from tests.runtime_api_fake import FakeRuntimeApi, running_fake_runtime_api

from modelrouter.lambda_runtime.context import now_ms
from modelrouter.lambda_runtime.response import split_prelude

WRAPPER = ROOT / "layers/core/modelrouter-streaming"
APP = """
import os
from modelrouter.lambda_runtime import StreamingResponse


def handler(event, context):
    def body():
        yield b"hello "
        yield event["name"].encode()
        yield (" " + os.environ.get("_X_AMZN_TRACE_ID", "-")).encode()
    return StreamingResponse(200, {"Content-Type": "text/plain"}, body())
"""


@pytest.fixture
def fake() -> Iterator[FakeRuntimeApi]:
    """A fake Runtime API on a free port."""
    with running_fake_runtime_api() as api:
        yield api


def test_the_wrapper_runs_the_streaming_loop_in_place_of_the_managed_runtime(
    fake: FakeRuntimeApi, tmp_path: Path
) -> None:
    # Given a task root with a streaming handler, and Lambda's environment pointing at the fake
    (tmp_path / "app.py").write_text(APP)
    environment = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": fake.address,
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "PYTHONPATH": str(ROOT / "layers/core"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # its python3
    }
    request_id = fake.invoke({"name": "world"}, deadline_ms=now_ms() + 60_000, trace_id="Root=1-abc")
    # When Lambda starts the wrapper with the managed runtime's bootstrap as arguments
    process = subprocess.Popen(
        ["/bin/sh", str(WRAPPER), "/var/runtime/bootstrap", "--ignored"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        posted = fake.completed(request_id, "response")
    finally:
        process.kill()
        _, stderr = process.communicate()
    # Then the handler's chunks came back streamed, one HTTP chunk each, after the prelude
    assert posted.header("Lambda-Runtime-Function-Response-Mode") == "streaming", stderr.decode()[-2000:]
    assert posted.chunks[1:] == [b"hello ", b"world", b" Root=1-abc"]
    assert split_prelude(posted.body)[0] == {"statusCode": 200, "headers": {"Content-Type": "text/plain"}}


def test_the_wrapper_is_a_posix_script_that_execs_the_runtime() -> None:
    # Given the wrapper, Then it is an executable POSIX sh script replacing itself with the loop
    text = WRAPPER.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert WRAPPER.stat().st_mode & 0o111
    assert "exec python3 -m modelrouter.lambda_runtime" in text
    assert "bash" not in text.split("\n", 1)[0]
