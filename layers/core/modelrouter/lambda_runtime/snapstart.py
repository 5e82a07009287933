"""Lambda SnapStart for the layer's runtime loop: hooks before the snapshot and after a restore.

With SnapStart (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``) Lambda initialises the function once,
when a version is published, snapshots it and restores new containers from that snapshot. The managed
Python runtime runs the hooks registered with ``snapshot_restore_py``, but the router's function runs
this layer's own loop instead (:mod:`modelrouter.lambda_runtime.loop`), so the loop does what the
Runtime API asks of a runtime (docs: "Implementing SnapStart hooks for container images"): after init,
run the before-snapshot hooks (last registered first), ``GET /runtime/restore/next`` (the snapshot is
taken while it waits; it answers once restored), run the after-restore hooks (in registration order);
a failing hook is reported with ``POST /runtime/restore/error``.

:func:`register_before_snapshot` / :func:`register_after_restore` keep the hooks here, and also hand them
to ``snapshot_restore_py`` when it can be imported (only inside Lambda's managed runtime), so they run
whichever runtime drives the function. Without SnapStart nothing here runs.
"""

from __future__ import annotations

import http.client
import logging
import os
import random
from collections.abc import Callable, Mapping

from modelrouter.lambda_runtime.errors import ErrorReport, report_of

__all__ = [
    "INITIALIZATION_TYPE_ENV",
    "SNAP_START",
    "Hook",
    "checkpoint",
    "enabled",
    "register_after_restore",
    "register_before_snapshot",
    "reseed_random",
    "run_after_restore",
    "run_before_snapshot",
]

INITIALIZATION_TYPE_ENV = "AWS_LAMBDA_INITIALIZATION_TYPE"
"""Set by Lambda: ``on-demand``, ``provisioned-concurrency`` or ``snap-start``."""
SNAP_START = "snap-start"
"""Its value when the function is initialised for a snapshot."""
API_VERSION = "2018-06-01"
RESTORE_ERROR_TYPE = "Runtime.AfterRestoreHookError"

Hook = Callable[[], object]
"""A hook: called without arguments."""

logger = logging.getLogger(__name__)

_before: list[Hook] = []
_after: list[Hook] = []


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this container is being initialised for a SnapStart snapshot."""
    return (os.environ if environ is None else environ).get(INITIALIZATION_TYPE_ENV) == SNAP_START


def register_before_snapshot(hook: Hook) -> Hook:
    """Run ``hook`` before the snapshot (hooks run last registered first); returns it (a decorator)."""
    _before.append(hook)
    _managed("register_before_snapshot", hook)
    return hook


def register_after_restore(hook: Hook) -> Hook:
    """Run ``hook`` after each restore (hooks run in registration order); returns it (a decorator)."""
    _after.append(hook)
    _managed("register_after_restore", hook)
    return hook


def _managed(name: str, hook: Hook) -> None:
    """Register with the managed runtime's ``snapshot_restore_py`` too, where it exists."""
    try:
        import snapshot_restore_py  # type: ignore[import-not-found]  # Lambda's managed runtime only
    except ImportError:
        return
    getattr(snapshot_restore_py, name)(hook)


def run_before_snapshot() -> None:
    """Run the before-snapshot hooks, last registered first (an exception propagates: init fails)."""
    for hook in reversed(_before):
        hook()


def run_after_restore() -> None:
    """Run the after-restore hooks in registration order (an exception propagates)."""
    for hook in list(_after):
        hook()


def reseed_random() -> None:
    """Give the ``random`` module fresh entropy: every restored container would otherwise draw the same
    sequence (jitter, sampling) as every other one restored from the snapshot."""
    random.seed()


def checkpoint(address: str, environ: Mapping[str, str] | None = None, *, timeout_s: float = 10.0) -> bool:
    """With SnapStart: the before-snapshot hooks, the Runtime API's restore handshake at ``address``,
    then the after-restore hooks. Returns False when a hook failed (reported to Lambda); True otherwise,
    also when SnapStart is off (nothing is done)."""
    if not enabled(environ):
        return True
    run_before_snapshot()
    _call(address, "GET", f"/{API_VERSION}/runtime/restore/next")  # answers once restored
    try:
        run_after_restore()
    except Exception as error:
        logger.exception("an after-restore hook failed")
        _report(address, report_of(error, RESTORE_ERROR_TYPE), timeout_s)
        return False
    return True


def _report(address: str, report: ErrorReport, timeout_s: float) -> None:
    headers = {"Lambda-Runtime-Function-Error-Type": report.error_type, "Content-Type": "application/json"}
    path = f"/{API_VERSION}/runtime/restore/error"
    _call(address, "POST", path, body=report.document(), headers=headers, timeout_s=timeout_s)


def _call(
    address: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float | None = None,
) -> int:
    """One Runtime API call (the snapshot may be taken during it: no timeout unless given)."""
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(
        host or address, int(port) if host and port else 80, timeout=timeout_s
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
