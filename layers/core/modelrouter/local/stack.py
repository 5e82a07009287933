"""The whole router on 127.0.0.1: embedded AWS, simulated models, and the real handlers behind the
local API Gateway stand-in. ``modelrouter serve``, ``modelrouter invoke`` and the demo share it.

The handlers configure themselves from the environment exactly as in Lambda; this module provides that
environment (the stack's names, and endpoint overrides that send S3, DynamoDB, Secrets Manager and
CloudWatch Logs to the embedded AWS, and Bedrock to the model server when it runs).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from modelrouter.errors import ModelRouterError
from modelrouter.local.aws import EmbeddedAws, StackResources, create_stack
from modelrouter.local.functions import load_function, project_root
from modelrouter.local.gateway import Gateway
from modelrouter.local.logs import LogShipper

__all__ = [
    "DEFAULT_MODELS_ADDRESS",
    "DEFAULT_POLICY",
    "LocalModeError",
    "LocalStack",
    "StackOptions",
]

DEFAULT_POLICY = Path("policies") / "local.yaml"
"""The policy serve uses without ``--policy`` (relative to the project)."""
DEFAULT_MODELS_ADDRESS = "http://127.0.0.1:8081"
"""Where policies/local.yaml expects the model server; rewritten to the real address on upload."""
STACK_NAME = "modelrouter-local"
POLICY_KEY = "policies/active.yaml"
LOCAL_PROVIDER_KEYS = {"openai": "local-model-server-key", "anthropic": "local-model-server-key"}
_AWS_SERVICES = ("S3", "DYNAMODB", "SECRETS_MANAGER", "CLOUDWATCH_LOGS")


_INVOCATIONS = threading.Lock()


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
    """Simulated model server port (0: any free port)."""
    local_models: bool = True
    """Run the simulated models (off when the policy points at real endpoints only)."""
    latency_scale: float = 1.0
    """Multiplies the simulated models' latency (0 in tests)."""
    policy_refresh_seconds: int = 5
    """How often the router re-checks S3 for a pushed policy."""
    verbose: bool = False
    """Handler logs and EMF metrics to stdout as well (they always go to embedded CloudWatch Logs)."""


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
    router: ModuleType | None = None
    authorizer: ModuleType | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _shippers: list[tuple[ModuleType, LogShipper]] = field(default_factory=list)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start everything; on any failure, stop what started and raise.

        Raises:
            LocalModeError: a port is in use or the policy file is missing.
            PolicyError: the policy is invalid (nothing is started).
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
        try:
            self._start_servers()
            self._provision(text, [tenant.id for tenant in loaded.policy.tenants])
        except BaseException:
            self.stop()
            raise
        return self

    def _start_servers(self) -> None:
        options = self.options
        if options.port is not None:
            with _port_errors("router API", options.port):
                self.gateway = Gateway(
                    self.invoke_router, self.invoke_authorizer, host=options.host, port=options.port
                )
        if options.local_models:
            from modelrouter.local.model_server import ModelServer

            with _port_errors("model server", options.models_port):
                self.models = ModelServer(
                    host=options.host, port=options.models_port, latency_scale=options.latency_scale
                )
            self.models.start()
        self.aws = EmbeddedAws(host=options.host)
        self.aws.start()

    def _provision(self, policy_text: str, tenants: list[str]) -> None:
        assert self.aws is not None
        clients = {name: self.aws.client(name) for name in ("s3", "dynamodb", "secretsmanager", "logs")}
        self.resources = resources = create_stack(clients, STACK_NAME)
        clients["secretsmanager"].put_secret_value(
            SecretId=resources.secret_name, SecretString=json.dumps(LOCAL_PROVIDER_KEYS)
        )
        if self.models is not None:
            policy_text = policy_text.replace(DEFAULT_MODELS_ADDRESS, self.models.url)
        response = clients["s3"].put_object(
            Bucket=resources.bucket, Key=POLICY_KEY, Body=policy_text.encode()
        )
        self.policy_version = str(response.get("VersionId", ""))
        self._set_environment(resources)
        self.router, self.authorizer = load_function("router"), load_function("authorizer")
        self.router.set_runtime(None)
        self.authorizer.set_key_store(None)
        self._ship_logs(clients["logs"], resources)
        from modelrouter.keys import KeyStore

        keys = KeyStore(resources.tables["ApiKeyTable"], client=clients["dynamodb"])
        self.api_keys = {tenant: keys.create(tenant, "local mode").token for tenant in tenants}
        if self.gateway is not None:
            self.gateway.start()

    def _set_environment(self, resources: StackResources) -> None:
        assert self.aws is not None
        environment = {
            "POLICY_BUCKET": resources.bucket,
            "POLICY_KEY": POLICY_KEY,
            "POLICY_REFRESH_SECONDS": str(self.options.policy_refresh_seconds),
            "BUDGET_TABLE": resources.tables["BudgetTable"],
            "PROVENANCE_TABLE": resources.tables["ProvenanceTable"],
            "IDEMPOTENCY_TABLE": resources.tables["IdempotencyTable"],
            "API_KEY_TABLE": resources.tables["ApiKeyTable"],
            "PROVIDER_SECRET_ARN": resources.secret_name,
            "POWERTOOLS_SERVICE_NAME": "modelrouter",
            "POWERTOOLS_METRICS_NAMESPACE": "ModelRouterLocal",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            **{f"AWS_ENDPOINT_URL_{service}": self.aws.url for service in _AWS_SERVICES},
        }
        if self.models is not None:
            environment["BEDROCK_ENDPOINT_URL"] = self.models.url
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            # moto accepts any credentials; real Bedrock (no local models) needs the user's own.
            environment |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
        for name, value in environment.items():
            self._set(name, value)

    def _ship_logs(self, logs_client: Any, resources: StackResources) -> None:
        assert self.router is not None
        assert self.authorizer is not None
        groups = {group.rsplit("-", 1)[-1]: group for group in resources.log_groups}
        for module, suffix in ((self.router, "RouterFunction"), (self.authorizer, "AuthorizerFunction")):
            shipper = LogShipper(logs_client, groups[suffix], echo=self.options.verbose)
            handler = module.logger.registered_handler
            # Assigned, not setStream(): that flushes the old stream, which a test harness may have closed.
            shipper.previous_stream, handler.stream = handler.stream, shipper
            self._shippers.append((module, shipper))

    def _set(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def _invoke(self, module: ModuleType | None, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Run a handler with its stdout (EMF metrics) going where its logs go, as in Lambda.

        Swapping ``sys.stdout`` is process-wide, so handler invocations take turns (one lock for both).
        """
        assert module is not None
        shipper = next((s for m, s in self._shippers if m is module), None)
        with _INVOCATIONS, contextlib.redirect_stdout(shipper or sys.stdout):
            response: dict[str, Any] = module.handler(event, context)
        return response

    def invoke_router(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Run the router handler on ``event``."""
        return self._invoke(self.router, event, context)

    def invoke_authorizer(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Run the authorizer handler on ``event``."""
        return self._invoke(self.authorizer, event, context)

    @property
    def url(self) -> str:
        """Base URL of the router API (OpenAI clients use ``<url>/v1``)."""
        if self.gateway is None:
            raise LocalModeError("this stack has no HTTP API (started with port=None)")
        return self.gateway.url

    def client(self, service: str) -> Any:
        """A boto3 client on the embedded AWS."""
        if self.aws is None:
            raise LocalModeError("the stack is not running")
        return self.aws.client(service)

    def stop(self) -> None:
        """Stop every server, flush logs, release every port and restore the environment."""
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.models is not None:
            self.models.stop()
            self.models = None
        for module, shipper in self._shippers:
            shipper.close()
            module.logger.registered_handler.stream = shipper.previous_stream or sys.stdout
        self._shippers.clear()
        if self.router is not None:
            self.router.set_runtime(None)
        if self.authorizer is not None:
            self.authorizer.set_key_store(None)
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
def _port_errors(what: str, port: int) -> Iterator[None]:
    """Binding failures as one-line :class:`LocalModeError` s (a port in use says which and what to do)."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise LocalModeError(
                f"port {port} is in use ({what}); pick another with the port option"
            ) from None
        raise LocalModeError(f"cannot start the {what} on port {port}: {error.strerror or error}") from None
