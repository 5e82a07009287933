"""``.modelrouter/local.env``: where a running ``modelrouter serve`` is, for shells and other commands.

``serve`` writes the file when its stack is up (mode 0600) and removes it when it stops cleanly. It
holds shell ``export NAME='value'`` lines, so ``source .modelrouter/local.env`` points ``aws``, boto3,
the ``openai`` and ``anthropic`` packages and ``modelrouter keys``/``policy push`` at the local stack:
the embedded AWS endpoint, region, dummy credentials (moto accepts any), the bucket and table names and
the router's base URLs. A comment line records the pid of the ``serve`` that wrote it, so a file left
behind by a killed ``serve`` is recognised as stale instead of sending commands to a dead port.

Where the file lives: ``.modelrouter/local.env`` in the project checkout this package runs from (the
folder with ``template.yaml``), whatever the current directory; when the package is installed outside a
checkout, under the current directory. ``$MODELROUTER_LOCAL_ENV`` overrides both (tests use it).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from modelrouter import env_names
from modelrouter.errors import ModelRouterError
from modelrouter.local.functions import project_root

__all__ = [
    "LOCAL_ENV_KEYS",
    "LOCAL_ENV_OVERRIDE",
    "LOCAL_ENV_PATH",
    "NOT_RUNNING",
    "LocalEnvError",
    "local_env_path",
    "local_env_values",
    "read_local_env",
    "remove_local_env",
    "serve_pid",
    "write_local_env",
]

LOCAL_ENV_OVERRIDE: Final = env_names.MODELROUTER_LOCAL_ENV
"""Environment variable naming another path for the file."""
LOCAL_ENV_NAME: Final = Path(".modelrouter") / "local.env"


def _default_path() -> Path:
    root = project_root()
    base = root if (root / "template.yaml").is_file() else Path.cwd()
    return base / LOCAL_ENV_NAME


LOCAL_ENV_PATH: Final = _default_path()
"""``.modelrouter/local.env`` of the checkout (or of the current directory outside a checkout)."""
_RESOURCE_NAMES: Final = (
    "POLICY_BUCKET",
    "POLICY_KEY",
    "POLICY_POINTER_KEY",
    "API_KEY_TABLE",
    "BUDGET_TABLE",
    "PROVENANCE_TABLE",
    "IDEMPOTENCY_TABLE",
    "LEARNING_TABLE",
    "HEALTH_TABLE",
)
LOCAL_ENV_KEYS: Final = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    *_RESOURCE_NAMES,
    "MODELROUTER_BASE_URL",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
)
"""The variables the file sets, in the order written."""
NOT_RUNNING: Final = "no local stack is running: start `modelrouter serve`"
"""The message of :class:`LocalEnvError` when there is no file."""
DUMMY_CREDENTIAL: Final = "local"
"""The access key id and secret written to the file (moto accepts any)."""
_FILE_MODE: Final = 0o600
_PID_LINE: Final = re.compile(r"^#\s*modelrouter serve pid (\d+)\b")
_EXPORT_LINE: Final = re.compile(r"^export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


class LocalEnvError(ModelRouterError):
    """There is no usable ``.modelrouter/local.env``: no ``serve`` running, or it was killed."""

    code = "local_stack_not_running"


def local_env_path(path: Path | None = None) -> Path:
    """``path``, else ``$MODELROUTER_LOCAL_ENV``, else :data:`LOCAL_ENV_PATH`."""
    if path is not None:
        return path
    configured = os.environ.get(LOCAL_ENV_OVERRIDE)
    return Path(configured) if configured else LOCAL_ENV_PATH


def local_env_values(
    *, aws_url: str, region: str, resources_env: Mapping[str, str], api_url: str | None
) -> dict[str, str]:
    """The file's variables for a stack: ``resources_env`` is the functions' environment (bucket, key
    and table names); ``api_url`` the router's base URL with the stage (None: no HTTP API)."""
    values = {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
        **{name: resources_env[name] for name in _RESOURCE_NAMES},
    }
    if api_url is not None:
        values |= {
            "MODELROUTER_BASE_URL": f"{api_url}/v1",
            "OPENAI_BASE_URL": f"{api_url}/v1",
            "ANTHROPIC_BASE_URL": api_url,  # the anthropic package appends /v1/messages itself
        }
    return values


def _quote(value: str) -> str:
    """Single-quoted for POSIX shells (a quote inside becomes ``'\\''``)."""
    return "'" + value.replace("'", "'\\''") + "'"


def write_local_env(values: Mapping[str, str], path: Path | None = None, *, pid: int | None = None) -> Path:
    """Write ``values`` as ``export`` lines under a comment naming this process (or ``pid``) as the
    ``serve`` that owns the stack; readable by the owner only. Returns the path written."""
    target = local_env_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    owner = os.getpid() if pid is None else pid
    lines = [
        f"# modelrouter serve pid {owner}: the local stack's endpoints, names and dummy credentials.",
        f"# Removed when that serve stops. Use it with: source {target}",
        *[f"export {name}={_quote(value)}" for name, value in values.items()],
    ]
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), _FILE_MODE)  # an older file keeps its mode through O_TRUNC
        handle.write("\n".join(lines) + "\n")
    return target


def serve_pid(path: Path | None = None) -> int | None:
    """The pid of the ``serve`` that wrote the file, or None (no file, or no pid line)."""
    try:
        text = local_env_path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        match = _PID_LINE.match(line)
        if match:
            return int(match.group(1))
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def read_local_env(path: Path | None = None) -> dict[str, str]:
    """The variables of the running local stack.

    Raises:
        LocalEnvError: no file (no ``serve`` running), or its ``serve`` is gone (killed: the file
            is stale), or a line is not ``export NAME='value'``.
    """
    target = local_env_path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LocalEnvError(NOT_RUNNING) from None
    pid = serve_pid(target)
    if pid is not None and not _alive(pid):
        raise LocalEnvError(
            f"{target} is stale: the modelrouter serve that wrote it (pid {pid}) is no longer running; "
            "start `modelrouter serve`"
        )
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _EXPORT_LINE.match(line.strip())
        words = shlex.split(match.group(2)) if match else []
        if match is None or len(words) != 1:
            raise LocalEnvError(f"{target}:{number}: expected export NAME='value'")
        values[match.group(1)] = words[0]
    return values


def remove_local_env(path: Path | None = None, *, pid: int | None = None) -> bool:
    """Remove the file if this process (or ``pid``) wrote it; a file of another, running ``serve`` is
    left alone. Returns whether a file was removed."""
    target = local_env_path(path)
    owner = serve_pid(target)
    if owner is not None and owner != (os.getpid() if pid is None else pid):
        return False
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True
