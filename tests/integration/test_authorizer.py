"""The Lambda authorizer (functions/authorizer/app.py) on API Gateway events, against moto DynamoDB."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from modelrouter.keys import KeyStore, generate_key
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.functions import load_function
from tests.aws import create_tables
from tests.helpers import fake_aws_environment, load_event

PLACEHOLDER = "{{api_key}}"
CONTEXT = LocalLambdaContext(function_name="authorizer", timeout_s=10)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real AWS account."""
    fake_aws_environment(monkeypatch)


@pytest.fixture
def app() -> Iterator[ModuleType]:
    """The authorizer module; its key store is reset after each test."""
    module = load_function("authorizer")
    module.set_key_store(None)
    yield module
    module.set_key_store(None)


@pytest.fixture
def logs(app: ModuleType) -> Iterator[io.StringIO]:
    """What the authorizer logs during the test (Powertools writes JSON lines to its handler)."""
    buffer = io.StringIO()
    handler = app.logger.registered_handler
    previous, handler.stream = handler.stream, buffer  # no flush of a stream pytest may have closed
    yield buffer
    handler.stream = previous


@pytest.fixture
def table(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The template's key table in moto, named by ``API_KEY_TABLE``."""
    with mock_aws():
        names = create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        monkeypatch.setenv("API_KEY_TABLE", names["ApiKeyTable"])
        yield names["ApiKeyTable"]


def with_token(event: dict[str, Any], token: str) -> dict[str, Any]:
    """The event with its placeholder key replaced by ``token`` (header and identity source)."""
    return json.loads(json.dumps(event).replace(PLACEHOLDER, token))  # type: ignore[no-any-return]


def log_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_valid_key_is_authorized_with_tenant_context(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given an active key of tenant "acme", created in the table the environment names
    key = KeyStore(table).create("acme", "ci")
    event = with_token(load_event("authorizer/valid-key"), key.token)
    # When the authorizer runs on a request bearing it (store built from API_KEY_TABLE)
    response = app.handler(event, CONTEXT)
    # Then the request is authorized and the route sees the tenant and key id
    assert response == {"isAuthorized": True, "context": {"tenant_id": "acme", "key_id": key.key_id}}
    # And the log says so with the key id, never the token or the secret
    [line] = log_lines(logs)
    assert line["outcome"] == "ok"
    assert line["key_id"] == key.key_id
    assert line["tenant_id"] == "acme"
    assert key.secret not in logs.getvalue()


@pytest.mark.parametrize(
    ("event_name", "outcome"),
    [
        pytest.param("authorizer/unknown-key", "unknown_key", id="unknown"),
        pytest.param("authorizer/malformed-key", "malformed", id="malformed"),
        pytest.param("authorizer/missing-header", "malformed", id="missing-header"),
    ],
)
def test_bad_keys_are_refused(
    app: ModuleType, table: str, logs: io.StringIO, event_name: str, outcome: str
) -> None:
    # Given a table with one active key, and a request without a valid key of it
    KeyStore(table).create("acme")
    event = load_event(event_name)
    # When the authorizer runs
    response = app.handler(event, CONTEXT)
    # Then it refuses, and logs why without the presented value
    assert response == {"isAuthorized": False}
    [line] = log_lines(logs)
    assert line["outcome"] == outcome
    presented = event["headers"].get("authorization", "")
    if presented:
        assert presented.split(" ", 1)[1] not in logs.getvalue()


def test_revoked_key_is_refused(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given a key that was revoked
    store = KeyStore(table)
    key = store.create("acme")
    assert store.revoke(key.key_id)
    # When a request bears it
    response = app.handler(with_token(load_event("authorizer/revoked-key"), key.token), CONTEXT)
    # Then it is refused, and the log says revoked with the key id
    assert response == {"isAuthorized": False}
    [line] = log_lines(logs)
    assert (line["outcome"], line["key_id"]) == ("revoked", key.key_id)


def test_wrong_secret_for_a_real_key_id_is_refused(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given a real key id with another (well-formed) secret
    key = KeyStore(table).create("acme")
    forged = f"mr_{key.key_id}_{generate_key().secret}"
    # When a request bears the forged token
    response = app.handler(with_token(load_event("authorizer/valid-key"), forged), CONTEXT)
    # Then it is refused
    assert response == {"isAuthorized": False}
    [line] = log_lines(logs)
    assert (line["outcome"], line["key_id"]) == ("wrong_secret", key.key_id)


def test_injected_store_is_used(app: ModuleType, table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an injected store and no API_KEY_TABLE in the environment
    store = KeyStore(table, client=boto3.client("dynamodb", region_name="us-east-1"))
    key = store.create("globex")
    monkeypatch.delenv("API_KEY_TABLE")
    app.set_key_store(store)
    # When a request bears a key of it, Then the injected store authenticates it
    response = app.handler(with_token(load_event("authorizer/valid-key"), key.token), CONTEXT)
    assert response["isAuthorized"] is True
    assert response["context"]["tenant_id"] == "globex"
    assert app.key_store() is store


def test_unreachable_dynamodb_fails_closed(app: ModuleType, aws_env: None, logs: io.StringIO) -> None:
    # Given a store whose DynamoDB endpoint refuses connections
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1}),
    )
    app.set_key_store(KeyStore("keys", client=client))
    token = generate_key().token
    # When a well-formed key is checked
    response = app.handler(with_token(load_event("authorizer/valid-key"), token), CONTEXT)
    # Then the request is refused and the failure logged (without the token)
    assert response == {"isAuthorized": False}
    [line] = log_lines(logs)
    assert line["level"] == "ERROR"
    assert (line["outcome"], line["error_type"]) == ("error", "KeyStoreError")
    assert token not in logs.getvalue()


def test_missing_table_fails_closed(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given a store on a table that does not exist
    app.set_key_store(KeyStore("no-such-table"))
    # When a well-formed key is checked, Then the request is refused and the error logged
    response = app.handler(with_token(load_event("authorizer/valid-key"), generate_key().token), CONTEXT)
    assert response == {"isAuthorized": False}
    assert "does not exist" in log_lines(logs)[0]["reason"]


def test_unconfigured_function_fails_closed(
    app: ModuleType, aws_env: None, logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no API_KEY_TABLE and no injected store
    monkeypatch.delenv("API_KEY_TABLE", raising=False)
    # When a request arrives, Then it is refused and the misconfiguration logged
    response = app.handler(with_token(load_event("authorizer/valid-key"), generate_key().token), CONTEXT)
    assert response == {"isAuthorized": False}
    assert "API_KEY_TABLE" in log_lines(logs)[0]["reason"]


def test_corrupt_row_fails_closed(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given a row of the key table without its hash
    key = KeyStore(table).create("acme")
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=table,
        Key={"key_id": {"S": key.key_id}},
        UpdateExpression="REMOVE #h",
        ExpressionAttributeNames={"#h": "hash"},
    )
    # When its key is presented, Then the request is refused
    response = app.handler(with_token(load_event("authorizer/valid-key"), key.token), CONTEXT)
    assert response == {"isAuthorized": False}
    assert log_lines(logs)[0]["outcome"] == "error"


@pytest.mark.parametrize("event", [{}, {"headers": None}, {"headers": ["authorization"]}])
def test_odd_events_are_refused(app: ModuleType, aws_env: None, event: dict[str, Any]) -> None:
    # Given events without usable headers, When authorized, Then refused (no exception)
    assert app.handler(event, CONTEXT) == {"isAuthorized": False}


def test_events_are_http_api_v2_request_authorizer_events() -> None:
    # Given the checked-in authorizer events, Then each has the payload 2.0 REQUEST shape
    for name in ("valid-key", "unknown-key", "malformed-key", "missing-header", "revoked-key"):
        event = load_event(f"authorizer/{name}")
        assert (event["version"], event["type"]) == ("2.0", "REQUEST")
        assert event["routeArn"].startswith("arn:aws:execute-api:")
        assert event["requestContext"]["http"]["method"] in {"GET", "POST"}
        assert event["identitySource"] == (
            [event["headers"]["authorization"]] if "authorization" in event["headers"] else []
        )
