"""Embedded AWS for local mode and tests: a moto server, and the stack's resources built from
``template.yaml``'s own definitions (so local and deployed cannot drift).

DynamoDB applies each conditional write atomically. moto does not lock its tables, so two threads of
a threaded moto server can interleave a condition check and a write. :class:`EmbeddedAws` handles one
request at a time, which gives the same per-request atomicity the real service has, while clients
(the simulated containers, each a process) still race each other over real HTTP.

Where moto differs from AWS in ways that matter here (number form, the cost of a transaction), the
embedded AWS corrects it: see :mod:`modelrouter.local.moto_patches`.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from modelrouter.local.functions import project_root
from modelrouter.local.moto_patches import apply_moto_patches

if TYPE_CHECKING:
    from modelrouter.policy.document import Policy

__all__ = [
    "EmbeddedAws",
    "StackResources",
    "create_stack",
    "create_tables",
    "load_template",
    "resolve_sub",
    "router_artifacts",
    "table_definitions",
    "template_path",
    "upload_routers",
]


def template_path() -> Path:
    """``template.yaml`` of the project."""
    return project_root() / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: intrinsic functions (``!Ref``, ``!Sub`` …) become ``{"Fn": value}``."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path | None = None) -> dict[str, Any]:
    """``template.yaml`` as data (intrinsic functions kept as one-key dicts)."""
    text = (path or template_path()).read_text()
    loaded: dict[str, Any] = yaml.load(text, Loader=_CloudFormationLoader)
    return loaded


def _resources_of_type(kind: str, path: Path | None = None) -> dict[str, dict[str, Any]]:
    resources = load_template(path)["Resources"]
    return {name: r.get("Properties", {}) for name, r in resources.items() if r["Type"] == kind}


def table_definitions(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The ``AWS::DynamoDB::Table`` resources of the template, by logical id."""
    return _resources_of_type("AWS::DynamoDB::Table", path)


def resolve_sub(value: Any, stack_name: str, region: str = "us-east-1") -> str:
    """A plain string or a ``!Sub`` over the pseudo parameters, resolved for a local stack."""
    text = value["Sub"] if isinstance(value, dict) and "Sub" in value else value
    if not isinstance(text, str):
        raise ValueError(f"cannot resolve {value!r} locally")
    pseudo = {"AWS::StackName": stack_name, "AWS::Region": region, "AWS::AccountId": "123456789012"}
    for name, replacement in pseudo.items():
        text = text.replace("${" + name + "}", replacement)
    return text


def create_tables(dynamodb: Any, prefix: str = "test", path: Path | None = None) -> dict[str, str]:
    """Create every table of the template with its own key schema, indexes and TTL.

    Returns ``{logical id: table name}``; names are ``<prefix>-<LogicalId>``.
    """
    names: dict[str, str] = {}
    for logical_id, props in table_definitions(path).items():
        name = f"{prefix}-{logical_id}"
        arguments: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            arguments["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb.create_table(**arguments)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        names[logical_id] = name
    return names


@dataclass(frozen=True)
class StackResources:
    """Names of what :func:`create_stack` made."""

    bucket: str
    """The policy bucket (versioned, encrypted, as in the template)."""
    tables: dict[str, str]
    """Table names by logical id (``BudgetTable``, ``ProvenanceTable``, ``ApiKeyTable`` …)."""
    secret_name: str
    """The provider-keys secret."""
    log_groups: tuple[str, ...]
    """CloudWatch log groups."""


def create_stack(clients: dict[str, Any], stack_name: str = "modelrouter-local") -> StackResources:
    """Create the template's bucket, tables, secret and log groups on (embedded) AWS.

    ``clients`` maps ``s3``, ``dynamodb``, ``secretsmanager`` and ``logs`` to boto3 clients.
    """
    bucket = f"{stack_name}-policies"
    (bucket_props,) = _resources_of_type("AWS::S3::Bucket").values()
    clients["s3"].create_bucket(Bucket=bucket)
    clients["s3"].put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration=bucket_props["VersioningConfiguration"]
    )
    rules = [
        {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
        for rule in bucket_props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ]
    clients["s3"].put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
    tables = create_tables(clients["dynamodb"], prefix=stack_name)
    (secret_props,) = _resources_of_type("AWS::SecretsManager::Secret").values()
    secret_name = resolve_sub(secret_props["Name"], stack_name)
    clients["secretsmanager"].create_secret(Name=secret_name, SecretString=secret_props["SecretString"])
    log_groups = []
    for props in _resources_of_type("AWS::Logs::LogGroup").values():
        name = resolve_sub(props["LogGroupName"], stack_name)
        clients["logs"].create_log_group(logGroupName=name)
        log_groups.append(name)
    return StackResources(bucket, tables, secret_name, tuple(log_groups))


def router_artifacts(policy: Policy, policy_file: Path) -> dict[str, bytes]:
    """The router artifacts ``policy`` names, from files next to ``policy_file``, checked as the router
    will check them (pin, format, models): key to bytes, for :func:`upload_routers`.

    Raises:
        PolicyError: a file is missing, does not fit its pin or the policy, or an artifact is pinned by
            S3 version id (the embedded bucket starts empty: no version of it exists yet).
    """
    from modelrouter.errors import PolicyError
    from modelrouter.policy.artifacts import (
        artifact_refs,
        load_local_routers,
        load_local_topics,
        local_artifact_files,
    )
    from modelrouter.problems import Problem, format_path

    load_local_routers(policy, policy_file)
    load_local_topics(policy, policy_file)
    by_version = [
        Problem(format_path((*location, "version_id")), "local mode uploads artifacts afresh: pin by sha256")
        for location, ref in artifact_refs(policy)
        if ref.version_id is not None
    ]
    if by_version:
        raise PolicyError(by_version, str(policy_file))
    return {ref.key: path.read_bytes() for ref, path in local_artifact_files(policy, policy_file)}


def upload_routers(s3: Any, bucket: str, artifacts: dict[str, bytes]) -> None:
    """Put each artifact at its key in the policy bucket, where the router's policy store reads it."""
    for key, body in artifacts.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


class EmbeddedAws:
    """moto's server on ``host:port`` (0: a free port), handling one request at a time.

    Raises:
        OSError: the port cannot be bound (e.g. ``EADDRINUSE``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """Requests are not logged."""

        apply_moto_patches()
        application = DomainDispatcherApplication(create_backend_app)
        # Bound here, not by werkzeug, which prints and exits the process when the port is taken.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(128)
            self._server = make_server(
                host, port, application, threaded=False, request_handler=QuietHandler, fd=listener.fileno()
            )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Endpoint URL for every service."""
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> str:
        """Serve in a background thread, starting empty; returns :attr:`url`.

        moto keeps its state per process, so an embedded AWS started after another in the same process
        would see the first one's resources: it is reset first (one embedded AWS per process at a time).
        """
        from urllib.request import Request, urlopen

        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        with urlopen(Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10):
            pass
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client for ``service`` on this server (credentials need not be real)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(max_pool_connections=64, retries={"max_attempts": 5, "mode": "standard"}),
        )
