"""One simulated Lambda container, seen from the gateway's side: a child process
(:mod:`modelrouter.local.container_main`) running one function's handler, spoken to in JSON lines over a
socket pair (streamed responses as head / chunk / end frames, see
:mod:`modelrouter.local.container_main`). :class:`~modelrouter.local.pool.ContainerPool` runs several.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelrouter import env_names
from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.streams import FunctionResult

__all__ = ["Container", "ContainerError", "FunctionError", "FunctionSpec", "IntegrationTimeoutError"]

_READY_TIMEOUT_S = 90.0
"""How long a new container may take to import its handler (many start at once on a small machine)."""
_STOP_GRACE_S = 3.0
_TIMEOUT_GRACE_S = 2.0
_MIN_WAIT_S = 0.001
"""A read past the deadline still gets this long (a zero timeout would mean non-blocking)."""


def _function_error(message: dict[str, Any]) -> FunctionError:
    failure = message["error"]
    return FunctionError(f"{failure.get('type')}: {failure.get('message')}")


class FunctionError(Exception):
    """The handler raised (Lambda's function error); the gateway answers 500."""


class ContainerError(Exception):
    """The container died, broke the protocol or ran past the function's timeout (then it was killed)."""


class IntegrationTimeoutError(TimeoutError):
    """No container answered within the caller's wait (API Gateway's integration timeout: 503)."""


@dataclass(frozen=True)
class FunctionSpec:
    """What a container runs and with which environment."""

    name: str
    """Handler folder: ``functions/<name>/app.py``."""
    function_name: str
    """The Lambda function's name (the context's ``function_name``)."""
    timeout_s: float
    """The function's timeout: a container still busy after it is killed and replaced."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Set on top of this process's environment (table names, endpoints, credentials)."""
    log_group: str | None = None
    """CloudWatch Logs group of the handler's stdout; None discards it."""
    echo: bool = False
    """The handler's output on this process's stdout too."""


def _package_root() -> str:
    """The folder holding the ``modelrouter`` package, so containers import this very code."""
    return str(Path(__file__).resolve().parents[2])


class Container:
    """One container process; :meth:`invoke` is called by one thread at a time."""

    def __init__(self, spec: FunctionSpec, number: int) -> None:
        self.spec, self.number = spec, number
        self.invocations = 0
        """Invocations served."""
        ours, theirs = socket.socketpair()
        python_path = os.pathsep.join(p for p in (_package_root(), os.environ.get(env_names.PYTHONPATH)) if p)
        command = [
            sys.executable, "-m", "modelrouter.local.container_main",
            "--function", spec.name, "--socket", str(theirs.fileno()),
            *(["--log-group", spec.log_group] if spec.log_group else []),
            *(["--echo"] if spec.echo else []),
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(  # our own interpreter and module
                command,
                pass_fds=(theirs.fileno(),),
                env={**os.environ, **spec.environment, env_names.PYTHONPATH: python_path},
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches serve only; serve stops its containers
            )
        finally:
            theirs.close()
        self._socket = ours
        self._reader = ours.makefile("rb")
        self._idle = threading.Event()
        self._idle.set()

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def wait_ready(self, timeout_s: float = _READY_TIMEOUT_S) -> None:
        """Wait for the handler to be imported.

        Raises:
            ContainerError: the import failed (the message says why) or took too long.
        """
        message = self._read(timeout_s)
        if not message.get("ready"):
            self.kill()
            error = message.get("error") or {}
            raise ContainerError(
                f"function {self.spec.name} cannot start: {error.get('type')}: {error.get('message')}"
            )

    def invoke(self, event: dict[str, Any]) -> FunctionResult:
        """Run the handler on ``event`` in the container: its response, or its stream once the head
        has come (the container stays busy until the stream is exhausted or closed: :meth:`wait_idle`).

        Raises:
            FunctionError: the handler raised.
            ContainerError: the container died, or was killed after the function's timeout.
        """
        request = {"event": event, "timeout_s": self.spec.timeout_s, "function_name": self.spec.function_name}
        line = json.dumps(request, default=str).encode("ascii") + b"\n"
        self.invocations += 1
        deadline = time.monotonic() + self.spec.timeout_s + _TIMEOUT_GRACE_S
        try:
            self._socket.settimeout(self.spec.timeout_s + _TIMEOUT_GRACE_S)
            self._socket.sendall(line)
        except OSError as error:
            self.kill()
            raise ContainerError(f"container {self.number} of {self.spec.name} is gone: {error}") from None
        message = self._read(deadline - time.monotonic())
        if "error" in message:
            raise _function_error(message)
        if "head" not in message:
            response: dict[str, Any] = message["response"]
            return response
        head = message["head"]
        self._idle.clear()
        body = self._chunks(deadline)
        return StreamingResponse(
            int(head.get("statusCode", 200)),
            dict(head.get("headers") or {}),
            body,
            list(head.get("cookies") or []),
        )

    def wait_idle(self) -> None:
        """Wait until the current stream (if any) is over."""
        self._idle.wait()

    def _chunks(self, deadline: float) -> Iterator[bytes]:
        """The stream's chunks as the container sends them; closed early, it cancels the stream."""
        over = False
        try:
            while True:
                message = self._read(deadline - time.monotonic())
                if "chunk" in message:
                    yield base64.b64decode(message["chunk"])
                    continue
                over = True
                if "error" in message:
                    raise _function_error(message)
                return
        except ContainerError:
            over = True
            raise
        finally:
            if not over:
                self._cancel(deadline)
            self._idle.set()

    def _cancel(self, deadline: float) -> None:
        """Tell the container to stop the stream, and read what it still sends up to its end."""
        try:
            self._socket.sendall(b'{"cancel": true}\n')
            while True:
                message = self._read(deadline - time.monotonic())
                if "chunk" not in message:
                    return
        except (OSError, ContainerError):
            self.kill()  # it cannot be told, or does not stop: a fresh one replaces it

    def _read(self, timeout_s: float) -> dict[str, Any]:
        try:
            self._socket.settimeout(max(timeout_s, _MIN_WAIT_S))
            line = self._reader.readline()
        except TimeoutError:
            self.kill()
            raise ContainerError(
                f"{self.spec.function_name} timed out after {timeout_s:.0f} s; its container was stopped"
            ) from None
        except (OSError, ValueError) as error:
            self.kill()
            raise ContainerError(f"container {self.number} of {self.spec.name} is gone: {error}") from None
        if not line:
            self.kill()
            raise ContainerError(
                f"container {self.number} of {self.spec.name} exited (status {self.process.returncode})"
            )
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError:
            self.kill()
            raise ContainerError(f"container {self.number} of {self.spec.name} broke protocol") from None
        return message

    def kill(self) -> None:
        """End the process now."""
        self._idle.set()
        self._close()
        if self.alive():
            self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """End of input (the process exits after its current invocation), then kill after a grace."""
        self._close()
        try:
            self.process.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
        self._socket.close()
