"""The REST API REQUEST authorizer (functions/authorizer/app.py) on API Gateway events, on moto."""

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

from modelrouter.keys import KeyStore, KeyStoreError, generate_key
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.functions import load_function
from tests.aws import create_tables
from tests.helpers import fake_aws_environment, load_event

PLACEHOLDER = "{{api_key}}"
CONTEXT = LocalLambdaContext(function_name="authorizer", timeout_s=10)
STAGE_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/api/*/*"
"""What every policy covers: each method and path of the events' API and stage."""


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


def statement(response: dict[str, Any]) -> dict[str, Any]:
    """The policy's one statement."""
    document = response["policyDocument"]
    assert document["Version"] == "2012-10-17"
    [only] = document["Statement"]
    return only  # type: ignore[no-any-return]


def assert_denied(response: dict[str, Any], reason: str) -> str:
    """A Deny on the whole stage with ``reason``; returns the message."""
    assert response["principalId"] == "anonymous"
    assert statement(response) == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": STAGE_ARN}
    assert set(response["context"]) == {"reason", "message"}
    assert response["context"]["reason"] == reason
    message: str = response["context"]["message"]
    assert message
    assert not any(char in message for char in '"\\')
    assert all(ord(char) >= 0x20 for char in message)
    return message


def test_valid_key_is_allowed_on_the_whole_stage_with_tenant_context(
    app: ModuleType, table: str, logs: io.StringIO
) -> None:
    # Given an active key of tenant "acme", created in the table the environment names
    key = KeyStore(table).create("acme", "ci")
    event = with_token(load_event("authorizer/valid-key"), key.token)
    # When the authorizer runs on a request bearing it (store built from API_KEY_TABLE)
    response = app.handler(event, CONTEXT)
    # Then the policy allows every route of the stage (it is cached per key) and carries the tenant
    assert response == {
        "principalId": "acme",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_ARN}],
        },
        "context": {"tenant_id": "acme", "key_id": key.key_id},
    }
    # And the log says so with the key id, never the token or the secret
    [line] = log_lines(logs)
    assert line["outcome"] == "ok"
    assert line["key_id"] == key.key_id
    assert line["tenant_id"] == "acme"
    assert key.secret not in logs.getvalue()


def test_allow_covers_routes_other_than_the_one_that_asked(app: ModuleType, table: str) -> None:
    # Given a key, and the revoked-key event which asks for GET /v1/models
    key = KeyStore(table).create("acme")
    event = with_token(load_event("authorizer/revoked-key"), key.token)
    assert event["methodArn"].endswith("/api/GET/v1/models")
    # When authorized, Then the cached policy also covers POST /v1/chat/completions
    assert statement(app.handler(event, CONTEXT))["Resource"] == STAGE_ARN


@pytest.mark.parametrize(
    ("event_name", "outcome", "reason", "hint"),
    [
        pytest.param("authorizer/unknown-key", "unknown_key", "unknown", "Incorrect API key", id="unknown"),
        pytest.param(
            "authorizer/malformed-key", "malformed", "malformed", "mr_<key id>_<secret>", id="malformed"
        ),
        pytest.param(
            "authorizer/missing-header",
            "missing",
            "missing",
            "Authorization: Bearer <key> or x-api-key",
            id="missing",
        ),
    ],
)
def test_bad_keys_are_denied_with_a_reason_and_a_hint(
    app: ModuleType, table: str, logs: io.StringIO, event_name: str, outcome: str, reason: str, hint: str
) -> None:
    # Given a table with one active key, and a request without a valid key of it
    KeyStore(table).create("acme")
    event = load_event(event_name)
    # When the authorizer runs
    response = app.handler(event, CONTEXT)
    # Then it denies, saying why in words a client can act on
    message = assert_denied(response, reason)
    assert hint in message
    # And logs why without the presented value
    [line] = log_lines(logs)
    assert line["outcome"] == outcome
    presented = event["headers"].get("Authorization", "")
    if presented:
        secret_part = presented.split(" ", 1)[1]
        assert secret_part not in logs.getvalue()
        assert secret_part not in message


def test_malformed_message_tells_what_a_key_looks_like_and_how_to_send_it(
    app: ModuleType, aws_env: None
) -> None:
    # Given a token one character short
    token = generate_key().token[:-1]
    # When presented, Then the message says what is wrong, what a key looks like and where it goes
    message = assert_denied(
        app.handler(with_token(load_event("authorizer/valid-key"), token), CONTEXT), "malformed"
    )
    assert "59 characters" in message
    assert "mr_<key id>_<secret>" in message
    assert "Authorization: Bearer <key> or x-api-key: <key>" in message
    assert token not in message


def test_other_schemes_are_malformed(app: ModuleType, aws_env: None) -> None:
    # Given an OpenAI-style "Basic" header
    event = load_event("authorizer/valid-key")
    event["headers"]["Authorization"] = "Basic dXNlcjpwYXNz"
    # When authorized, Then denied as malformed, telling to use Bearer
    message = assert_denied(app.handler(event, CONTEXT), "malformed")
    assert "Bearer" in message


def test_revoked_key_is_denied_as_revoked(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given a key that was revoked
    store = KeyStore(table)
    key = store.create("acme")
    assert store.revoke(key.key_id)
    # When a request bears it
    response = app.handler(with_token(load_event("authorizer/revoked-key"), key.token), CONTEXT)
    # Then it is denied as revoked, and the log says revoked with the key id
    assert "revoked" in assert_denied(response, "revoked")
    [line] = log_lines(logs)
    assert (line["outcome"], line["key_id"]) == ("revoked", key.key_id)


def test_wrong_secret_for_a_real_key_id_is_denied_as_unknown(
    app: ModuleType, table: str, logs: io.StringIO
) -> None:
    # Given a real key id with another (well-formed) secret
    key = KeyStore(table).create("acme")
    forged = f"mr_{key.key_id}_{generate_key().secret}"
    # When a request bears the forged token
    response = app.handler(with_token(load_event("authorizer/valid-key"), forged), CONTEXT)
    # Then the client learns no more than for an unknown key; the log tells the operator
    assert assert_denied(response, "unknown") == app.UNKNOWN_MESSAGE
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
    assert statement(response)["Effect"] == "Allow"
    assert response["context"]["tenant_id"] == "globex"
    assert app.key_store() is store


def test_unreachable_dynamodb_raises_so_nothing_is_cached(
    app: ModuleType, aws_env: None, logs: io.StringIO
) -> None:
    # Given a store whose DynamoDB endpoint refuses connections
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1}),
    )
    app.set_key_store(KeyStore("keys", client=client))
    token = generate_key().token
    # When a well-formed key is checked, Then the authorizer raises (API Gateway: AUTHORIZER_FAILURE,
    # a 503 that is not cached, rather than a cached Deny of a good key)
    with pytest.raises(KeyStoreError) as raised:
        app.handler(with_token(load_event("authorizer/valid-key"), token), CONTEXT)
    # And the error names no token ("Unauthorized" would make API Gateway answer 401 instead)
    assert token not in str(raised.value)
    assert str(raised.value) != "Unauthorized"
    # And the failure is logged without the token
    [line] = log_lines(logs)
    assert line["level"] == "ERROR"
    assert (line["outcome"], line["error_type"]) == ("error", "KeyStoreError")
    assert token not in logs.getvalue()


def test_missing_table_raises(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given a store on a table that does not exist
    app.set_key_store(KeyStore("no-such-table"))
    # When a well-formed key is checked, Then the authorizer raises and logs the error
    with pytest.raises(KeyStoreError):
        app.handler(with_token(load_event("authorizer/valid-key"), generate_key().token), CONTEXT)
    assert "does not exist" in log_lines(logs)[0]["reason"]


def test_unconfigured_function_raises(
    app: ModuleType, aws_env: None, logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no API_KEY_TABLE and no injected store
    monkeypatch.delenv("API_KEY_TABLE", raising=False)
    # When a request arrives, Then the authorizer raises and the misconfiguration is logged
    with pytest.raises(RuntimeError):
        app.handler(with_token(load_event("authorizer/valid-key"), generate_key().token), CONTEXT)
    assert "API_KEY_TABLE" in log_lines(logs)[0]["reason"]


def test_corrupt_row_raises(app: ModuleType, table: str, logs: io.StringIO) -> None:
    # Given a row of the key table without its hash
    key = KeyStore(table).create("acme")
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=table,
        Key={"key_id": {"S": key.key_id}},
        UpdateExpression="REMOVE #h",
        ExpressionAttributeNames={"#h": "hash"},
    )
    # When its key is presented, Then the authorizer raises and logs the error
    with pytest.raises(KeyStoreError):
        app.handler(with_token(load_event("authorizer/valid-key"), key.token), CONTEXT)
    assert log_lines(logs)[0]["outcome"] == "error"


@pytest.mark.parametrize("event", [{}, {"headers": None}, {"headers": ["authorization"]}])
def test_odd_events_are_denied(app: ModuleType, aws_env: None, event: dict[str, Any]) -> None:
    # Given events without usable headers or methodArn, When authorized, Then denied on nothing in
    # particular (no exception): no key was found
    response = app.handler(event, CONTEXT)
    assert statement(response) == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}
    assert response["context"]["reason"] == "missing"


def test_a_valid_key_with_an_odd_method_arn_is_not_allowed_everywhere(app: ModuleType, table: str) -> None:
    # Given a valid key and a methodArn that names no API and stage
    key = KeyStore(table).create("acme")
    event = with_token(load_event("authorizer/valid-key"), key.token)
    event["methodArn"] = "arn:aws:lambda:us-east-1:123456789012:function:x"
    # When authorized, Then denied: an Allow on "*" is never written
    assert statement(app.handler(event, CONTEXT))["Effect"] == "Deny"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('say "hi"', "say hi"),
        ("back\\slash", "backslash"),
        ("line\nbreak\ttab", "line break tab"),
        ("bell\x07 del\x7f", "bell del"),
    ],
)
def test_messages_are_json_safe(app: ModuleType, text: str, expected: str) -> None:
    # Given text with quotes, backslashes or control characters, When made safe, Then they are gone
    safe = app.json_safe(text)
    assert safe == expected
    assert json.loads(f'"{safe}"') == safe


def test_events_are_rest_api_request_authorizer_events() -> None:
    # Given the checked-in authorizer events, Then each has the REST API REQUEST authorizer shape
    for name in ("valid-key", "unknown-key", "malformed-key", "missing-header", "revoked-key"):
        event = load_event(f"authorizer/{name}")
        assert event["type"] == "REQUEST"
        assert "version" not in event
        method, path = event["httpMethod"], event["path"]
        assert (
            event["methodArn"] == f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/api/{method}{path}"
        )
        assert event["requestContext"]["httpMethod"] == method
        assert event["requestContext"]["stage"] == "api"
        assert "authorizer" not in event["requestContext"]
        assert event["multiValueHeaders"] == {name: [value] for name, value in event["headers"].items()}


def _with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """``event`` with its key headers replaced by ``headers`` (in both header maps)."""
    for name in ("Authorization", "authorization", "x-api-key", "X-Api-Key"):
        event["headers"].pop(name, None)
        event["multiValueHeaders"].pop(name, None)
    event["headers"].update(headers)
    event["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
    return event


def test_a_key_in_x_api_key_is_accepted_as_anthropic_clients_send_it(app: ModuleType, table: str) -> None:
    # Given an active key, sent the way the anthropic package and Claude Code send it
    key = KeyStore(table).create("acme")
    event = _with_headers(load_event("authorizer/valid-key"), {"x-api-key": key.token})
    # When authorized, Then allowed for its tenant, exactly as with a Bearer token
    response = app.handler(event, CONTEXT)
    assert statement(response)["Effect"] == "Allow"
    assert response["context"] == {"tenant_id": "acme", "key_id": key.key_id}


def test_authorization_wins_over_x_api_key(app: ModuleType, table: str) -> None:
    # Given a router key in Authorization and another vendor's key in x-api-key (Claude Code with both
    # ANTHROPIC_AUTH_TOKEN and ANTHROPIC_API_KEY set)
    key = KeyStore(table).create("acme")
    headers = {"Authorization": f"Bearer {key.token}", "x-api-key": "sk-ant-not-a-router-key"}
    allowed = app.handler(_with_headers(load_event("authorizer/valid-key"), headers), CONTEXT)
    # Then the Authorization key decides
    assert statement(allowed)["Effect"] == "Allow"
    # And with the two swapped, the malformed Authorization decides: the x-api-key is not read
    headers = {"Authorization": "Bearer sk-ant-not-a-router-key", "x-api-key": key.token}
    denied = app.handler(_with_headers(load_event("authorizer/valid-key"), headers), CONTEXT)
    assert assert_denied(denied, "malformed")


def test_an_accepted_key_is_reused_without_reading_the_table_until_it_expires(
    app: ModuleType, table: str, logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key accepted once, and a clock the test moves
    now = [1000.0]
    monkeypatch.setattr(app, "accepted_keys", app.AcceptedKeys(clock=lambda: now[0]))
    store = KeyStore(table)
    key = store.create("acme")
    event = with_token(load_event("authorizer/valid-key"), key.token)
    assert statement(app.handler(event, CONTEXT))["Effect"] == "Allow"
    # When the key is revoked and presented again within the TTL
    store.revoke(key.key_id)
    now[0] += app.ACCEPTED_KEY_SECONDS - 1
    cached = app.handler(event, CONTEXT)
    # Then the container answers from memory, as API Gateway's result cache did (the log says so)
    assert statement(cached)["Effect"] == "Allow"
    assert [line.get("cached") for line in log_lines(logs)] == [False, True]
    # And once the TTL has passed, the table is read again and the revocation bites
    now[0] += 1
    assert_denied(app.handler(event, CONTEXT), "revoked")
    assert key.token not in logs.getvalue()


def test_accepted_keys_are_bounded_and_forget_the_least_recently_used(app: ModuleType) -> None:
    # Given room for two keys
    keys = app.AcceptedKeys(size=2, clock=lambda: 0.0)
    keys.put("token-a", "t1", "a")
    keys.put("token-b", "t1", "b")
    # When the first is used and a third is added
    assert keys.get("token-a") == ("t1", "a")
    keys.put("token-c", "t2", "c")
    # Then the least recently used one is forgotten
    assert [keys.get(token) for token in ("token-a", "token-b", "token-c")] == [
        ("t1", "a"),
        None,
        ("t2", "c"),
    ]
