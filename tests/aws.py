"""AWS test rig: a moto server that serializes requests, and resources built from ``template.yaml``.

DynamoDB applies each conditional write atomically. moto does not lock its tables, so two threads of
a threaded moto server can interleave a condition check and a write. ``serial_moto_server`` handles one
request at a time, which gives the test the same per-request atomicity the real service has, while
clients still race each other over real HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


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


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """``template.yaml`` as data (intrinsic functions kept as one-key dicts)."""
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)
    return loaded


def table_definitions(path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """The ``AWS::DynamoDB::Table`` resources of the template, by logical id."""
    resources = load_template(path)["Resources"]
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}


def create_tables(dynamodb: Any, prefix: str = "test", path: Path = TEMPLATE) -> dict[str, str]:
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


@contextmanager
def serial_moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 that handles one request at a time; yields its endpoint URL."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Requests are not logged."""

    application = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, application, threaded=False, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
