"""``make chaos``'s processes: ``modelrouter serve`` on free ports, its container processes and their
memory, and the listener that remote ``$ref`` s point at (it only counts connections)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["RefListener", "Serve", "free_port", "rss_kb"]

ROOT = Path(__file__).resolve().parent.parent
_BANNER_TIMEOUT_S = 180.0


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_kb(pid: int) -> int | None:
    """Resident memory of ``pid`` in KiB (psutil when installed, else ``/proc``); None when gone."""
    try:
        import psutil  # type: ignore[import-untyped]  # optional

        return int(psutil.Process(pid).memory_info().rss // 1024)
    except ImportError:
        pass
    except Exception:  # psutil.NoSuchProcess and friends
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu(pid: int, ticks: int) -> float:
    """User + system CPU seconds of ``pid`` (0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / ticks


class RefListener:
    """A TCP listener on 127.0.0.1 that counts connections and closes them at once."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.connections = 0
        """Connections accepted so far."""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="ref-listener", daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            connection.close()

    def __enter__(self) -> RefListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._socket.close()


class Serve:
    """``modelrouter serve`` as a process on free ports; ``with`` starts it and stops it (Ctrl-C)."""

    def __init__(self, policy: Path, containers: int) -> None:
        self.port, self.models_port, self.aws_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"  # the REST API stage
        self.models_url = f"http://127.0.0.1:{self.models_port}"
        self.aws_url = f"http://127.0.0.1:{self.aws_port}"
        self.keys: dict[str, str] = {}
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  # closed in __exit__
        command = [
            sys.executable, "-m", "modelrouter.cli.main", "serve", "--policy", str(policy),
            "--port", str(self.port), "--models-port", str(self.models_port),
            "--aws-port", str(self.aws_port), "--containers", str(containers),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=ROOT, env=dict(os.environ)
        )

    def __enter__(self) -> Serve:
        try:
            self._read_banner()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _read_banner(self) -> None:
        assert self.process.stdout is not None
        deadline, in_keys = time.monotonic() + _BANNER_TIMEOUT_S, False
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                self._stderr.seek(0)
                raise RuntimeError(f"serve exited before it was ready:\n{self._stderr.read()[-3000:]}")
            if line.startswith("API keys"):
                in_keys = True
            elif in_keys and line.strip():
                tenant, token = line.split()
                self.keys[tenant] = token
            elif in_keys:
                in_keys = False
            if line.startswith("Ctrl-C"):
                threading.Thread(
                    target=self.process.stdout.read, daemon=True
                ).start()  # keep the pipe drained
                return
        raise RuntimeError("serve did not print its banner in time")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.returncode not in (0, None) or error is not None:
            self._stderr.seek(0)
            tail = self._stderr.read()[-3000:]
            if tail.strip():
                print(f"serve's stderr (last lines):\n{tail}", file=sys.stderr)
        self._stderr.close()

    def containers(self) -> dict[int, str]:
        """The simulated Lambda containers serve runs now: ``{pid: function}``."""
        found: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                arguments = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except (OSError, ValueError, IndexError):
                continue
            if parent == self.process.pid and "modelrouter.local.container_main" in arguments:
                found[int(entry.name)] = arguments[arguments.index("--function") + 1]
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of serve's own process (gateway, embedded AWS, models) and its containers."""
        ticks = os.sysconf("SC_CLK_TCK")
        totals = {"serve process": _cpu(self.process.pid, ticks), "router containers": 0.0,
                  "authorizer containers": 0.0}  # fmt: skip
        for pid, function in self.containers().items():
            totals[f"{function} containers"] = totals.get(f"{function} containers", 0.0) + _cpu(pid, ticks)
        return totals

    def dynamodb(self) -> Any:
        """A DynamoDB client on serve's embedded AWS."""
        import boto3

        return boto3.client(
            "dynamodb", endpoint_url=self.aws_url, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip

    def tables(self) -> dict[str, str]:
        """Table names by the template's logical id."""
        from modelrouter.local.aws import table_definitions
        from modelrouter.local.stack import STACK_NAME

        return {logical_id: f"{STACK_NAME}-{logical_id}" for logical_id in table_definitions()}
