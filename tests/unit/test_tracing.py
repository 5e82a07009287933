"""X-Ray subsegments without the SDK: trace header, daemon address, recorder, botocore and httpx hooks."""

from __future__ import annotations

import json
import socket
from typing import Any

import boto3
import httpx
import pytest
import respx
from botocore.stub import Stubber
from tests.fakes import ListEmitter

from modelrouter.providers.errors import ProviderConnectionError
from modelrouter.providers.http import post_json
from modelrouter.tracing import Recorder, TraceHeader
from modelrouter.tracing.botocore_hooks import instrument_client
from modelrouter.tracing.emitter import DEFAULT_DAEMON_ADDRESS, MAX_DOCUMENT_BYTES, UdpEmitter, daemon_address
from modelrouter.tracing.httpx_hooks import event_hooks
from modelrouter.tracing.recorder import TRACE_HEADER_ENV

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
SAMPLED = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    monkeypatch.setenv(TRACE_HEADER_ENV, SAMPLED)
    return Recorder(ListEmitter(), enabled=True)


def sent(traces: Recorder) -> list[dict[str, Any]]:
    emitter = traces.emitter
    assert isinstance(emitter, ListEmitter)
    return emitter.documents


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SAMPLED, TraceHeader(ROOT, "53995c3f42cd8ad8", True)),
        (
            f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a:1",
            TraceHeader(ROOT, "53995c3f42cd8ad8", False),
        ),
        (f"root={ROOT}; parent=abc ;sampled=1", TraceHeader(ROOT, "abc", True)),
        (f"Root={ROOT};Sampled=1", None),
        ("Parent=abc;Sampled=1", None),
        ("garbage", None),
        ("", None),
        (None, None),
        (SAMPLED + ";" + "x" * 600, None),
    ],
)
def test_trace_header_parts(value: str | None, expected: TraceHeader | None) -> None:
    # Given a header value; When parsed; Then its root, parent and sampling, or None without both ids
    assert TraceHeader.parse(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
        (None, DEFAULT_DAEMON_ADDRESS),
        ("no-port", DEFAULT_DAEMON_ADDRESS),
        ("host:99999", DEFAULT_DAEMON_ADDRESS),
    ],
)
def test_daemon_address(value: str | None, expected: tuple[str, int]) -> None:
    assert daemon_address(value) == expected


def test_nothing_is_recorded_when_disabled_or_not_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a disabled recorder, and an enabled one on an unsampled invocation
    off = Recorder(ListEmitter(), enabled=False)
    monkeypatch.setenv(TRACE_HEADER_ENV, f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0")
    unsampled = Recorder(ListEmitter(), enabled=True)
    # When each times a block
    for recorder in (off, unsampled):
        with recorder.subsegment("work") as subsegment:
            assert subsegment is None
        # Then nothing is sent
        assert sent(recorder) == []


def test_outside_lambda_the_default_recorder_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert not Recorder(ListEmitter()).enabled
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not Recorder(ListEmitter()).enabled
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert Recorder(ListEmitter()).enabled


def test_nested_subsegments_name_their_parents_and_an_exception_faults_them(traces: Recorder) -> None:
    # Given a sampled invocation; When a block inside another raises
    with (
        pytest.raises(ValueError, match="boom"),
        traces.subsegment("outer") as outer,
        traces.subsegment("inner", namespace="remote"),
    ):
        raise ValueError("boom")
    # Then the inner one is sent first, under the outer one, which is under Lambda's segment; both faulted
    inner, outer_document = sent(traces)
    assert outer is not None
    assert outer_document["id"] == outer.id
    assert outer_document["parent_id"] == "53995c3f42cd8ad8"
    assert inner["parent_id"] == outer.id
    assert inner["namespace"] == "remote"
    for document in (inner, outer_document):
        assert document["type"] == "subsegment"
        assert document["trace_id"] == ROOT
        assert document["fault"] is True
        assert document["cause"]["exceptions"][0] == {
            **document["cause"]["exceptions"][0],
            "type": "ValueError",
        }
        assert document["end_time"] >= document["start_time"]
    # and a block after them hangs from Lambda's segment again
    with traces.subsegment("after"):
        pass
    assert sent(traces)[-1]["parent_id"] == "53995c3f42cd8ad8"


def test_handler_subsegment_is_annotated_with_cold_start_and_service(traces: Recorder) -> None:
    @traces.capture_handler(service="modelrouter")
    def handler(event: dict[str, Any], context: object) -> str:
        return "answer"

    assert handler({}, None) == "answer"
    assert handler({}, None) == "answer"
    first, second = sent(traces)
    assert first["name"] == "## handler"
    assert first["annotations"] == {"ColdStart": True, "Service": "modelrouter"}
    assert second["annotations"]["ColdStart"] is False


def test_status_flags(traces: Recorder) -> None:
    for status, flags in [(200, set()), (404, {"error"}), (429, {"error", "throttle"}), (503, {"fault"})]:
        with traces.subsegment("call") as subsegment:
            assert subsegment is not None
            subsegment.record_status(status)
        document = sent(traces)[-1]
        assert {key for key in ("error", "throttle", "fault") if document.get(key)} == flags
        assert document["http"]["response"]["status"] == status


def test_udp_emitter_sends_the_daemon_protocol() -> None:
    # Given a UDP socket standing in for the daemon
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    try:
        emitter = UdpEmitter(daemon.getsockname())
        # When a document is sent, and one too large for a datagram
        emitter.send({"name": "x", "id": "1"})
        emitter.send({"name": "big", "blob": "y" * MAX_DOCUMENT_BYTES})
        emitter.send({"name": "after"})
        # Then the daemon gets the header line and the JSON; the large one is dropped, not cut
        header, _, body = daemon.recv(65_535).partition(b"\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        assert json.loads(body) == {"name": "x", "id": "1"}
        assert json.loads(daemon.recv(65_535).partition(b"\n")[2])["name"] == "after"
    finally:
        daemon.close()


def test_aws_calls_get_a_subsegment_each(traces: Recorder) -> None:
    # Given a DynamoDB client traced by the hooks, stubbed
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    instrument_client(client, traces)
    with Stubber(client) as stub:
        stub.add_response(
            "get_item",
            {"ResponseMetadata": {"RequestId": "R1", "HTTPStatusCode": 200, "RetryAttempts": 1}},
            {"TableName": "budgets", "Key": {"pk": {"S": "a"}}},
        )
        stub.add_client_error("put_item", service_error_code="ValidationException", http_status_code=400)
        # When it makes a call that succeeds and one that fails
        with traces.subsegment("## handler") as handler:
            client.get_item(TableName="budgets", Key={"pk": {"S": "a"}})
            with pytest.raises(client.exceptions.ClientError):
                client.put_item(TableName="budgets", Item={"pk": {"S": "a"}})
    # Then each is a subsegment under the handler's, with its operation, table and outcome
    get_item, put_item, _ = sent(traces)
    assert handler is not None
    assert get_item["name"] == "DynamoDB"
    assert get_item["namespace"] == "aws"
    assert get_item["parent_id"] == handler.id
    assert get_item["aws"] == {
        "operation": "GetItem",
        "region": "eu-west-1",
        "table_name": "budgets",
        "request_id": "R1",
        "retries": 1,
    }
    assert "error" not in get_item
    assert "fault" not in get_item
    assert put_item["aws"]["operation"] == "PutItem"
    assert put_item["error"] is True
    assert put_item["http"]["response"]["status"] == 400


def test_an_untraced_client_has_no_hooks(traces: Recorder) -> None:
    # Given a client instrumented while tracing was off (outside Lambda)
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    traces.enabled = False
    instrument_client(client, traces)
    assert event_hooks(traces) == {}
    # When tracing is on later and the client makes a call
    traces.enabled = True
    with Stubber(client) as stub:
        stub.add_response("get_item", {}, {"TableName": "t", "Key": {"pk": {"S": "a"}}})
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    # Then no hook was registered: nothing is sent
    assert sent(traces) == []


@respx.mock
def test_http_provider_calls_get_a_subsegment_without_the_query(traces: Recorder) -> None:
    # Given an httpx client with the hooks, a model that answers and one that cannot be reached
    respx.post("https://api.example.com/v1/chat").respond(200, json={"ok": True})
    respx.post("https://down.example.com/v1/chat").mock(side_effect=httpx.ConnectError)
    client = httpx.Client(event_hooks=event_hooks(traces))
    # When the provider posts to each
    post_json("https://api.example.com/v1/chat?key=secret", {}, {"a": 1}, 5.0, client=client)
    with pytest.raises(ProviderConnectionError):
        post_json("https://down.example.com/v1/chat", {}, {"a": 1}, 5.0, client=client)
    # Then each is a remote subsegment; the failure is faulted; no query string is recorded
    answered, failed = sent(traces)
    assert answered["name"] == "api.example.com"
    assert answered["namespace"] == "remote"
    assert answered["http"] == {
        "request": {"method": "POST", "url": "https://api.example.com/v1/chat"},
        "response": {"status": 200},
    }
    assert "secret" not in json.dumps(answered)
    assert failed["name"] == "down.example.com"
    assert failed["fault"] is True
    assert failed["cause"]["exceptions"][0]["type"] == "ConnectError"
