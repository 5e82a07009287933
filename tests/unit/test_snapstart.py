"""SnapStart: hooks registered with the managed runtime's ``snapshot_restore_py`` and run by the layer's
loop around ``/runtime/restore/next``; the router's hooks re-check the policy, re-seed and rename."""

from __future__ import annotations

import random
import sys
import threading
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.unit.test_policy_store import POINTER_GET, Loaded, loaded, s3  # noqa: F401  (fixtures)

from modelrouter.api import snapstart_hooks
from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.clock import SystemClock
from modelrouter.health.breakers import SharedBreakers
from modelrouter.lambda_runtime import snapstart
from modelrouter.policy.execution import Cooldown

SNAP_START = {snapstart.INITIALIZATION_TYPE_ENV: snapstart.SNAP_START}


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without registered hooks."""
    monkeypatch.setattr(snapstart, "_before", [])
    monkeypatch.setattr(snapstart, "_after", [])


@pytest.fixture
def managed(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """A fake ``snapshot_restore_py`` (the managed runtime's), recording what is registered with it."""
    module = types.ModuleType("snapshot_restore_py")
    registry = types.SimpleNamespace(before=[], after=[])
    module.register_before_snapshot = registry.before.append  # type: ignore[attr-defined]
    module.register_after_restore = registry.after.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return registry


class RuntimeApi:
    """A Runtime API on localhost recording each call; ``/restore/next`` answers at once (restored)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bytes, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or ""
                api.calls.append((self.command, self.path, body, error_type))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self._answer(200)

            def do_POST(self) -> None:
                self._answer(202)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def runtime_api() -> Iterator[RuntimeApi]:
    api = RuntimeApi()
    yield api
    api.server.shutdown()
    api.server.server_close()


def test_hooks_are_handed_to_the_managed_runtime_and_do_their_job_there(managed: Any) -> None:
    # Given the managed runtime's module, and a hook registered through ours
    done: list[str] = []
    snapstart.register_after_restore(lambda: done.append("restored"))
    snapstart.register_before_snapshot(lambda: done.append("snapshot"))
    # When the managed runtime runs what it was given
    for hook in managed.before + managed.after:
        hook()
    # Then each ran once
    assert done == ["snapshot", "restored"]


def test_without_snapstart_the_loop_does_nothing(runtime_api: RuntimeApi) -> None:
    # Given a hook, and a container initialised on demand
    done: list[str] = []
    snapstart.register_before_snapshot(lambda: done.append("snapshot"))
    # When the loop reaches its checkpoint
    assert snapstart.checkpoint(runtime_api.address, {snapstart.INITIALIZATION_TYPE_ENV: "on-demand"})
    # Then no hook ran and the Runtime API was not called
    assert (done, runtime_api.calls) == ([], [])


def test_the_loop_runs_the_hooks_around_the_restore_handshake(runtime_api: RuntimeApi) -> None:
    # Given two hooks of each kind
    done: list[str] = []
    for name in ("a", "b"):
        snapstart.register_before_snapshot(lambda name=name: done.append(f"before {name}"))  # type: ignore[misc]
        snapstart.register_after_restore(lambda name=name: done.append(f"after {name}"))  # type: ignore[misc]

    snapstart.register_before_snapshot(lambda: done.append(f"{len(runtime_api.calls)} calls"))
    # When the loop reaches its checkpoint with SnapStart
    assert snapstart.checkpoint(runtime_api.address, SNAP_START)
    # Then before-snapshot ran last-registered first, before the snapshot; after-restore in order after it
    assert done == ["0 calls", "before b", "before a", "after a", "after b"]
    assert [(method, path) for method, path, _, _ in runtime_api.calls] == [
        ("GET", "/2018-06-01/runtime/restore/next")
    ]


def test_a_failing_after_restore_hook_is_reported_to_lambda(runtime_api: RuntimeApi) -> None:
    # Given an after-restore hook that fails
    def broken() -> None:
        raise RuntimeError("no policy")

    snapstart.register_after_restore(broken)
    # When the loop reaches its checkpoint
    assert not snapstart.checkpoint(runtime_api.address, SNAP_START)
    # Then the failure went to /restore/error with its type and message
    method, path, body, error_type = runtime_api.calls[-1]
    assert (method, path) == ("POST", "/2018-06-01/runtime/restore/error")
    assert error_type == "Runtime.AfterRestoreHookError"
    assert b"no policy" in body


class FakePolicies:
    """Records what the hooks ask of the policy store."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def expire(self) -> None:
        self.calls.append("expire")

    def current(self) -> object:
        self.calls.append("current")
        return object()


class FakeRuntime:
    def __init__(self) -> None:
        self.policies = FakePolicies()


def test_the_router_hooks_load_the_policy_before_and_recheck_it_after_a_restore(managed: Any) -> None:
    # Given the router's hooks installed for its runtime
    runtime = FakeRuntime()
    snapstart_hooks.install(lambda: runtime)  # type: ignore[arg-type,return-value]
    # When the snapshot is taken, Then the policy is loaded and the endpoint modules imported
    snapstart.run_before_snapshot()
    assert runtime.policies.calls == ["current"]
    assert all(name in sys.modules for name in snapstart_hooks.WARM_MODULES)
    # When a container is restored, Then the store re-reads the pointer at once
    snapstart.run_after_restore()
    assert runtime.policies.calls == ["current", "expire", "current"]
    # And the managed runtime got the same two hooks
    assert (len(managed.before), len(managed.after)) == (1, 1)


def test_after_a_restore_random_generators_are_reseeded_and_breakers_renamed() -> None:
    # Given generators and shared breakers made before the snapshot, as two restored containers would
    jitter = random.Random(7)
    random.seed(7)
    module_draw = random.random()
    random.seed(7)
    breakers = SharedBreakers(CircuitBreakers(Cooldown(), SystemClock()), store=_NoStore())  # type: ignore[arg-type]
    name_before = breakers._token().split(":")[0]
    # When the after-restore hook runs
    snapstart_hooks.after_restore(FakeRuntime)  # type: ignore[arg-type,return-value]
    # Then neither draws the snapshot's sequence, and the breakers name their leases anew
    assert jitter.random() != random.Random(7).random()
    assert random.random() != module_draw
    assert breakers._token().split(":")[0] != name_before


class _NoStore:
    """A breaker store nothing reads in this test."""

    def read_states(self) -> dict[str, Any]:
        return {}


def test_expire_makes_the_store_reread_the_pointer_at_once(loaded: Loaded) -> None:  # noqa: F811
    # Given a store that read the pointer a moment ago
    store, stubber = loaded.store, loaded.stubber
    first = store.current()
    # When it is expired (a restore), Then the next request reads the pointer (conditionally) at once
    store.expire()
    conditional = POINTER_GET | {"IfNoneMatch": "p-v1"}
    stubber.add_client_error("get_object", "304", http_status_code=304, expected_params=conditional)
    assert store.current() is first
    stubber.assert_no_pending_responses()
