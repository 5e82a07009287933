"""The whole router on 127.0.0.1: embedded AWS, simulated models, and the real handlers behind the
local API Gateway stand-in. ``modelrouter serve``, ``modelrouter invoke`` and the demo share it.

The handlers configure themselves from the environment exactly as in Lambda; this module provides that
environment (the stack's names, and endpoint overrides that send S3, DynamoDB, Secrets Manager and
CloudWatch Logs to the embedded AWS, and Bedrock to the model server when it runs). With
``containers`` ≥ 1 (the default), each function runs in that many simulated Lambda containers, one
process each (:mod:`modelrouter.local.pool`), so concurrent requests run in parallel with their own
breakers and caches; with 0 (``invoke``, some tests) the handlers run in this process, one at a time.
Each tenant gets a random key, or with ``dev_keys`` one derived from its name
(:mod:`modelrouter.local.dev_keys`); with ``request_lines`` every request ends in one readable line
(:mod:`modelrouter.local.request_lines`). Everything lives in memory and is gone after :meth:`stop`.

The policy is provisioned as in AWS: uploaded under ``incoming/`` and activated by the policy activator
(``functions/policy_activator``), run in this process on a synthesized S3 ``Object Created`` event; while
the stack runs, a watcher (:mod:`modelrouter.local.activation_watch`) hands every new upload to the same
handler, so ``modelrouter policy push --local`` is activated (or rejected) within seconds. Its events go
to the embedded AWS's EventBridge (moto's), where nothing subscribes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from modelrouter.errors import ModelRouterError
from modelrouter.local.activation import LocalActivator
from modelrouter.local.aws import EmbeddedAws, StackResources, create_stack, router_artifacts, upload_routers
from modelrouter.local.environment import POLICY_KEY, POLICY_POINTER_KEY, function_environment
from modelrouter.local.functions import project_root
from modelrouter.local.gateway import Gateway
from modelrouter.local.inprocess import InProcessFunction
from modelrouter.local.logs import LogShipper
from modelrouter.local.pool import ContainerError, ContainerPool, FunctionSpec
from modelrouter.local.request_lines import RequestLines
from modelrouter.local.slots import ReportingGateway, Slot
from modelrouter.local.streams import FunctionResult

__all__ = [
    "DEFAULT_CONTAINERS",
    "DEFAULT_MODELS_ADDRESS",
    "DEFAULT_POLICY",
    "FUNCTIONS",
    "LocalModeError",
    "LocalStack",
    "StackOptions",
]

DEFAULT_POLICY = Path("policies") / "local.yaml"
"""The policy serve uses without ``--policy`` (relative to the project)."""
DEFAULT_MODELS_ADDRESS = "http://127.0.0.1:8081"
"""Where policies/local.yaml expects the model server; rewritten to the real address on upload."""
DEFAULT_CONTAINERS = max(2, min(4, os.cpu_count() or 2))
"""Simulated containers per function: 2 to 4, one per CPU core."""
FUNCTIONS = {"router": ("RouterFunction", 300.0), "authorizer": ("AuthorizerFunction", 10.0)}
"""Each function's ``template.yaml`` logical id and timeout (seconds)."""
STACK_NAME = "modelrouter-local"
LOCAL_PROVIDER_KEYS = {"openai": "local-model-server-key", "anthropic": "local-model-server-key"}


class LocalModeError(ModelRouterError):
    """Local mode cannot start (port in use, missing policy file …); the message says what to do."""

    code = "local_mode_error"


@dataclass(frozen=True)
class StackOptions:
    """How to run the local stack."""

    policy: Path | None = None
    """Policy file; ``policies/local.yaml`` by default."""
    host: str = "127.0.0.1"
    """Interface for every server (loopback by default: nothing is exposed)."""
    port: int | None = 8080
    """Router API port (0: any free port; None: no HTTP API, for ``invoke``)."""
    models_port: int = 8081
    """Simulated model server port (0: any free port; ``invoke`` uses 0, so it never meets ``serve``)."""
    aws_port: int = 0
    """Embedded AWS port (0: any free port)."""
    containers: int = DEFAULT_CONTAINERS
    """Simulated Lambda containers (processes) per function; 0 runs the handlers in this process."""
    local_models: bool = True
    """Run the simulated models (off when the policy points at real endpoints only)."""
    latency_scale: float = 1.0
    """Multiplies the simulated models' latency (0 in tests)."""
    policy_refresh_seconds: int = 5
    """How often the router re-checks S3 for a pushed policy."""
    activation_poll_seconds: float | None = 1.0
    """How often new uploads under ``incoming/`` are looked for and activated; None: only the policy
    provisioned at start is."""
    verbose: bool = False
    """Handler logs and EMF metrics to stdout as well (they always go to embedded CloudWatch Logs)."""
    dev_keys: bool = False
    """Keys derived from the tenant names (the same on every start) instead of random ones."""
    request_lines: IO[str] | None = None
    """Where to write one readable line per request (:mod:`modelrouter.local.request_lines`)."""


@dataclass
class LocalStack:
    """Start with :meth:`start` (or ``with``); :meth:`stop` ends every server and restores the env."""

    options: StackOptions = field(default_factory=StackOptions)
    aws: EmbeddedAws | None = None
    models: Any = None
    gateway: Gateway | None = None
    resources: StackResources | None = None
    api_keys: dict[str, str] = field(default_factory=dict)
    policy_version: str = ""
    policy_path: Path = DEFAULT_POLICY
    functions: dict[str, InProcessFunction | ContainerPool] = field(default_factory=dict)
    """``router`` and ``authorizer``: container pools, or in-process handlers."""
    environment: dict[str, str] = field(default_factory=dict)
    """What the functions' environment adds: names, endpoints, credentials."""
    request_lines: RequestLines | None = None
    """The per-request line writer, when :attr:`StackOptions.request_lines` is set."""
    activator: LocalActivator | None = None
    """The policy activator's handler, run in this process on each upload."""
    _slots: dict[str, Slot] = field(default_factory=lambda: {name: Slot() for name in FUNCTIONS})
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start everything; on any failure, stop what started and raise.

        Raises:
            LocalModeError: a port is in use, the policy file is missing or a function cannot start.
            PolicyError: the policy or a router artifact it names is invalid (nothing is started).
        """
        from modelrouter.policy.loader import parse_policy

        self.policy_path = self.options.policy or project_root() / DEFAULT_POLICY
        try:
            text = self.policy_path.read_text(encoding="utf-8")
        except OSError as error:
            raise LocalModeError(
                f"cannot read policy file {self.policy_path}: {error.strerror or error}"
            ) from None
        loaded = parse_policy(text, str(self.policy_path))
        routers = router_artifacts(loaded.policy, self.policy_path)
        try:
            self._start_servers()
            self._provision(text, [tenant.id for tenant in loaded.policy.tenants], routers)
        except ContainerError as error:
            self.stop()
            raise LocalModeError(str(error)) from None
        except BaseException:
            self.stop()
            raise
        return self

    def _start_servers(self) -> None:
        options = self.options
        if options.port is not None:
            with _port_errors("router API", options.port, "--port"):
                self.gateway = ReportingGateway(
                    self._slots["router"], self._slots["authorizer"], host=options.host, port=options.port
                )
        if options.local_models:
            from modelrouter.local.model_server import ModelServer

            with _port_errors("model server", options.models_port, "--models-port"):
                self.models = ModelServer(
                    host=options.host, port=options.models_port, latency_scale=options.latency_scale
                )
            self.models.start()
        with _port_errors("embedded AWS", options.aws_port, "--aws-port"):
            self.aws = EmbeddedAws(host=options.host, port=options.aws_port)
        self.aws.start()

    def _provision(self, policy_text: str, tenants: list[str], routers: dict[str, bytes]) -> None:
        assert self.aws is not None
        clients = {name: self.aws.client(name) for name in ("s3", "dynamodb", "secretsmanager", "logs")}
        self.resources = resources = create_stack(clients, STACK_NAME)
        clients["secretsmanager"].put_secret_value(
            SecretId=resources.secret_name, SecretString=json.dumps(LOCAL_PROVIDER_KEYS)
        )
        upload_routers(clients["s3"], resources.bucket, routers)  # before the policy: it loads with them
        if self.models is not None:
            policy_text = policy_text.replace(DEFAULT_MODELS_ADDRESS, self.models.url)
        self.activator = LocalActivator(
            self.aws, resources, STACK_NAME, pointer_key=POLICY_POINTER_KEY, verbose=self.options.verbose
        )
        self.policy_version = self.activator.activate_now(
            POLICY_KEY, policy_text.encode(), str(self.policy_path)
        )
        models_url = self.models.url if self.models is not None else None
        self.environment = function_environment(
            resources, self.aws.url, models_url, self.options.policy_refresh_seconds
        )
        self._start_functions(clients["logs"], resources)
        self._create_keys(clients["dynamodb"], resources, tenants)
        if self.options.request_lines is not None:
            self.request_lines = lines = RequestLines(
                self.options.request_lines, self.aws.client("dynamodb"), resources.tables["ProvenanceTable"]
            )
            self._slots["router"].watch = lines.router
            if isinstance(self.gateway, ReportingGateway):
                self.gateway.lines = lines
        if self.gateway is not None:
            from modelrouter.local.console import attach_console

            attach_console(self)  # /_local/console
            self.gateway.start()
        self.activator.watch(self.options.activation_poll_seconds)

    def _create_keys(self, dynamodb: Any, resources: StackResources, tenants: list[str]) -> None:
        """One key per tenant: random, or derived from the tenant's name with ``dev_keys``."""
        from modelrouter.keys import KeyStore

        keys = KeyStore(resources.tables["ApiKeyTable"], client=dynamodb)
        if self.options.dev_keys:
            from modelrouter.local.dev_keys import seed_dev_keys

            self.api_keys = seed_dev_keys(keys, dynamodb, tenants)
        else:
            self.api_keys = {tenant: keys.create(tenant, "local mode").token for tenant in tenants}

    def _start_functions(self, logs_client: Any, resources: StackResources) -> None:
        """Container pools (all started at once), or the handlers in this process."""
        groups = {group.rsplit("-", 1)[-1]: group for group in resources.log_groups}
        in_process = self.options.containers < 1 or self.options.port is None
        if in_process:
            for name, value in self.environment.items():
                self._set(name, value)
        pools = []
        for name, (logical_id, timeout_s) in FUNCTIONS.items():
            function_name = f"{STACK_NAME}-{logical_id}"
            if in_process:
                shipper = LogShipper(logs_client, groups[logical_id], echo=self.options.verbose)
                self.functions[name] = InProcessFunction(name, function_name, timeout_s, shipper)
            else:
                spec = FunctionSpec(
                    name, function_name, timeout_s, self.environment, groups[logical_id], self.options.verbose
                )
                pools.append(pool := ContainerPool(spec, self.options.containers))
                self.functions[name] = pool
        for pool in pools:  # every process starts importing at once
            pool.spawn()
        for pool in pools:
            pool.start()
        for name, function in self.functions.items():
            self._slots[name].target = function

    def _set(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def invoke_router(self, event: dict[str, Any]) -> FunctionResult:
        """Run the router handler on ``event`` (a stream must be exhausted or closed)."""
        return self._slots["router"].invoke(event)

    def invoke_authorizer(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the authorizer handler on ``event``."""
        answer = self._slots["authorizer"].invoke(event)
        if not isinstance(answer, dict):
            answer.close()
            raise LocalModeError("the authorizer answered a stream; authorizers answer a policy document")
        return answer

    def containers(self) -> dict[str, list[dict[str, Any]]]:
        """Each function's containers (number, pid, invocations); empty lists when run in-process."""
        return {
            name: function.describe() if isinstance(function, ContainerPool) else []
            for name, function in self.functions.items()
        }

    @property
    def url(self) -> str:
        """Base URL of the router API, stage included (OpenAI clients use ``<url>/v1``)."""
        if self.gateway is None:
            raise LocalModeError("this stack has no HTTP API (started with port=None)")
        return self.gateway.url

    def client(self, service: str) -> Any:
        """A boto3 client on the embedded AWS."""
        if self.aws is None:
            raise LocalModeError("the stack is not running")
        return self.aws.client(service)

    def stop(self) -> None:
        """Stop every server and container, flush logs, release every port and restore the env."""
        if self.activator is not None:
            self.activator.stop()  # before the embedded AWS: an activation in progress finishes
            self.activator = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        for slot in self._slots.values():
            slot.target = slot.watch = None
        if self.request_lines is not None:
            self.request_lines.stop()  # before the embedded AWS stops: the last lines look it up
            self.request_lines = None
        for function in self.functions.values():
            function.stop() if isinstance(function, ContainerPool) else function.close()
        self.functions.clear()
        if self.models is not None:
            self.models.stop()
            self.models = None
        if self.aws is not None:
            self.aws.stop()
            self.aws = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()


@contextlib.contextmanager
def _port_errors(what: str, port: int, option: str) -> Iterator[None]:
    """Binding failures as one-line :class:`LocalModeError` s: a port in use says which server, the
    likely cause and the ``option`` to change."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise LocalModeError(
                f"port {port} is in use ({what}; is modelrouter serve running?): "
                f"pass {option} 0 or another port"
            ) from None
        raise LocalModeError(
            f"cannot start the {what} on port {port}: {error.strerror or error} (pass {option} to change it)"
        ) from None
