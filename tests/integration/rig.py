"""The router Lambda in-process on moto: bucket, tables (from ``template.yaml``) and the example policy.

Providers are :class:`tests.fakes.EchoProvider` (one per provider kind); everything else — S3 policy
store, DynamoDB budgets and provenance, Powertools idempotency, the handler — is the real code. Policies
become active as in production: uploaded under ``incoming/`` and activated by the activator's core,
which writes the pointer the router follows (:mod:`tests.activation_helpers`).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY, AttemptRecord
from modelrouter.api.runtime import RouterRuntime, build_runtime
from modelrouter.keys import KeyStore
from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.functions import load_function
from modelrouter.local.gateway import Gateway
from modelrouter.policy import ProviderKind
from modelrouter.settings import Settings
from tests.activation_helpers import (
    activate,
    point_at_unchecked,
    upload_shipped_artifacts,
)
from tests.aws import create_tables
from tests.fakes import EchoProvider
from tests.helpers import EXAMPLE_POLICY, fake_aws_environment

BUCKET = "modelrouter-policies-test"
POLICY_KEY = DEFAULT_UPLOAD_KEY
"""Where the rig uploads policies (the template's ``PolicyKey``); the router reads only the pointer's
version of it."""
POINTER = POINTER_KEY
"""The active pointer the activator writes and the router follows."""


@dataclass(frozen=True)
class TimedChunk:
    """One body chunk and when it was produced (``time.monotonic()``)."""

    at: float
    data: bytes


@dataclass
class RouterRig:
    """A running router: invoke events, inspect tables and provider calls."""

    app: ModuleType
    runtime: RouterRuntime
    s3: Any
    dynamodb: Any
    tables: dict[str, str]
    providers: dict[ProviderKind, EchoProvider]
    context: LocalLambdaContext = field(default_factory=lambda: LocalLambdaContext(timeout_s=900))
    """One context for the rig's life (900 s: Lambda's longest timeout, never the limit in a test)."""
    logs: io.StringIO = field(default_factory=io.StringIO)
    """Everything the handler's logger wrote (metrics are printed to stdout by Powertools)."""

    def log_lines(self, stdout: str = "") -> list[dict[str, Any]]:
        """The structured log lines, plus the EMF metric documents found in ``stdout``."""
        text = self.logs.getvalue() + "\n" + stdout
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The handler's response as API Gateway would pass it on: ``{statusCode, headers, body}``.

        The body is read to its end (``str``), as the runtime loop would stream it.
        """
        response: StreamingResponse = self.app.handler(event, self.context)
        body = response.read_all()
        return {"statusCode": response.status_code, "headers": response.headers, "body": body.decode("utf-8")}

    def stream(self, event: dict[str, Any]) -> tuple[StreamingResponse, Iterator[TimedChunk]]:
        """The handler's response, and its body's chunks as they are produced, each with its time.

        The caller iterates the chunks (running the request) and may stop early: closing the iterator
        closes the response, as the runtime loop does when the client goes away.
        """
        response: StreamingResponse = self.app.handler(event, self.context)

        def timed() -> Iterator[TimedChunk]:
            try:
                for chunk in response.chunks():
                    yield TimedChunk(time.monotonic(), chunk)
            finally:
                response.close()

        return response, timed()

    def call(self, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Status, parsed JSON body (or text for streams) and headers."""
        response = self.invoke(event)
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        body = response.get("body", "")
        if headers.get("content-type", "").startswith("application/json"):
            body = json.loads(body)
        return response["statusCode"], body, headers

    def call_direct(self, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Like :meth:`call`, below the Lambda glue: safe from many threads at once.

        Powertools' logger and metrics keep per-invocation state on module objects (one invocation at a
        time, as in Lambda), so concurrent tests call the endpoint functions directly, as many
        containers would.
        """
        from modelrouter.api import endpoints
        from modelrouter.errors import ModelRouterError

        authorizer = event["requestContext"].get("authorizer") or {}
        try:
            response = endpoints.chat(
                self.runtime,
                tenant_id=authorizer.get("tenant_id"),
                body=event["body"].encode(),
                headers=event["headers"],
                request_id=event["requestContext"]["requestId"],
                lambda_remaining_ms=self.context.get_remaining_time_in_millis(),
                lambda_context=self.context,
            )
        except ModelRouterError as error:
            response = endpoints.error_response(error)
        if isinstance(response, endpoints.StreamedHttpResponse):
            try:
                text = b"".join(response.chunks).decode("utf-8")
            finally:
                response.close()
        else:
            text = response.body
        body = json.loads(text) if response.content_type == "application/json" else text
        return response.status, body, response.headers

    def model_calls(self) -> int:
        """Calls made to any provider."""
        return sum(len(provider.calls) for provider in self.providers.values())

    def push_policy(self, text: str | bytes) -> str:
        """Upload a new policy and run the activator on it; returns its version id.

        Raises:
            AssertionError: the activator rejected it (its problems in the message); use
                :meth:`upload_policy` to look at a rejection.
        """
        record = self.upload_policy(text)
        assert record.outcome == "activated", record.problems
        return record.version_id

    def upload_policy(self, text: str | bytes) -> AttemptRecord:
        """Upload a new policy and run the activator on it: its attempt record, whatever the outcome."""
        return activate(self.s3, BUCKET, text, POLICY_KEY)

    def point_at_unchecked(self, text: str | bytes) -> str:
        """Upload ``text`` and point the active pointer at it without the activator (a version this
        router cannot load: artifacts changed since it was activated, a pointer written by hand); returns
        its version id."""
        return point_at_unchecked(self.s3, BUCKET, text, POLICY_KEY)

    def active_version(self) -> str:
        """The version id the active pointer names."""
        from modelrouter.activation.layout import ActivePointer

        raw = self.s3.get_object(Bucket=BUCKET, Key=POINTER)["Body"].read()
        return ActivePointer.parse(raw).version_id

    def provenance_items(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every provenance item of a tenant, deserialized."""
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        items = self.dynamodb.query(
            TableName=self.tables["ProvenanceTable"],
            KeyConditionExpression="tenant_id = :t",
            ExpressionAttributeValues={":t": {"S": tenant_id}},
        )["Items"]
        return [{k: deserializer.deserialize(v) for k, v in item.items()} for item in items]


def router_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and Powertools settings for in-process runs."""
    fake_aws_environment(monkeypatch)
    for name, value in {
        "POWERTOOLS_SERVICE_NAME": "modelrouter",
        "POWERTOOLS_METRICS_NAMESPACE": "ModelRouterTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)


@contextmanager
def running_router(
    policy: Path | str | bytes = EXAMPLE_POLICY,
    *,
    s3: Any = None,
    dynamodb: Any = None,
    refresh_seconds: int = 0,
    artifacts: Mapping[str, bytes] | None = None,
) -> Iterator[RouterRig]:
    """A router on moto (in-process unless clients are given) with ``policy`` uploaded and activated (a
    policy the activator rejects leaves the router with none active). ``artifacts`` (key to bytes) are
    put in the bucket first, where the policy names them."""
    with mock_aws() if s3 is None else _nothing():
        s3 = s3 or boto3.client("s3", region_name="us-east-1")
        dynamodb = dynamodb or boto3.client("dynamodb", region_name="us-east-1")
        tables = create_tables(dynamodb)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        text = policy.read_bytes() if isinstance(policy, Path) else policy
        upload_shipped_artifacts(s3, BUCKET)  # what the shipped policies pin (topics, routers)
        for key, body in (artifacts or {}).items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        activate(s3, BUCKET, text, POLICY_KEY)
        settings = Settings(
            policy_bucket=BUCKET,
            policy_key=POLICY_KEY,
            policy_pointer_key=POINTER,
            policy_refresh_seconds=refresh_seconds,
            budget_table=tables["BudgetTable"],
            provenance_table=tables["ProvenanceTable"],
            idempotency_table=tables["IdempotencyTable"],
            learning_table=tables["LearningTable"],
        )
        providers = {kind: EchoProvider(kind) for kind in ProviderKind}
        app = load_function("router")
        runtime = build_runtime(
            settings, app.telemetry, s3_client=s3, dynamodb_client=dynamodb, providers=lambda: dict(providers)
        )
        app.set_runtime(runtime)
        rig = RouterRig(app, runtime, s3, dynamodb, tables, providers)
        handler = app.logger.registered_handler
        previous, handler.stream = handler.stream, rig.logs  # no flush of a stream pytest may have closed
        try:
            yield rig
        finally:
            handler.stream = previous
            app.set_runtime(None)


@contextmanager
def behind_gateway(rig: RouterRig, tenants: Iterable[str]) -> Iterator[tuple[dict[str, str], str]]:
    """The rig's router behind the local API Gateway and the real authorizer, with a key created for
    each tenant: yields ``(token by tenant, base URL with the stage)``."""
    keys = KeyStore(rig.tables["ApiKeyTable"], client=rig.dynamodb)
    tokens = {tenant: keys.create(tenant).token for tenant in tenants}
    authorizer = load_function("authorizer")
    authorizer.set_key_store(keys)
    gateway = Gateway(rig.app.handler, authorizer.handler)
    try:
        with gateway.running() as url:
            yield tokens, url
    finally:
        authorizer.set_key_store(None)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
