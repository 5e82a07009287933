"""One simulated Lambda container, seen from the gateway's side: a child process
(:mod:`modelrouter.local.container_main`) running one function's handler, spoken to in JSON lines over a
socket pair. :class:`~modelrouter.local.pool.ContainerPool` runs several.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Container", "ContainerError", "FunctionError", "FunctionSpec", "IntegrationTimeoutError"]

_READY_TIMEOUT_S = 90.0
"""How long a new container may take to import its handler (many start at once on a small machine)."""
_STOP_GRACE_S = 3.0
_TIMEOUT_GRACE_S = 2.0


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
        python_path = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p)
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
                env={**os.environ, **spec.environment, "PYTHONPATH": python_path},
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches serve only; serve stops its containers
            )
        finally:
            theirs.close()
        self._socket = ours
        self._reader = ours.makefile("rb")

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

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler on ``event`` in the container.

        Raises:
            FunctionError: the handler raised.
            ContainerError: the container died, or was killed after the function's timeout.
        """
        request = {"event": event, "timeout_s": self.spec.timeout_s, "function_name": self.spec.function_name}
        line = json.dumps(request, default=str).encode("ascii") + b"\n"
        self.invocations += 1
        try:
            self._socket.settimeout(self.spec.timeout_s + _TIMEOUT_GRACE_S)
            self._socket.sendall(line)
        except OSError as error:
            self.kill()
            raise ContainerError(f"container {self.number} of {self.spec.name} is gone: {error}") from None
        message = self._read(self.spec.timeout_s + _TIMEOUT_GRACE_S)
        if "error" in message:
            failure = message["error"]
            raise FunctionError(f"{failure.get('type')}: {failure.get('message')}")
        response: dict[str, Any] = message["response"]
        return response

    def _read(self, timeout_s: float) -> dict[str, Any]:
        try:
            self._socket.settimeout(timeout_s)
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
