"""The router handler as the REST API's streaming integration sees it: dispatch, events, streamed bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.api import endpoints
from modelrouter.lambda_runtime import StreamingResponse, split_prelude
from modelrouter.lambda_runtime.loop import as_streaming
from tests.helpers import EVENTS, load_event, rest_event, with_tenant
from tests.integration.rig import RouterRig, router_environment, running_router

ROUTER_EVENTS = sorted(path.stem for path in EVENTS.glob("*.json"))


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


@pytest.mark.parametrize("name", ROUTER_EVENTS)
def test_router_events_are_rest_api_proxy_events(name: str) -> None:
    # Given a checked-in router event, Then it has the REST API proxy (payload 1.0) shape
    event = load_event(name)
    assert "version" not in event
    assert event["httpMethod"] in {"GET", "POST"}
    assert event["resource"] == event["requestContext"]["resourcePath"]
    parameters = event.get("pathParameters") or {}
    assert event["path"] == event["resource"].format_map(parameters)
    context = event["requestContext"]
    assert (context["stage"], context["path"]) == ("api", f"/api{event['path']}")
    assert context["requestId"]
    assert event["multiValueHeaders"] == {key: [value] for key, value in event["headers"].items()}
    assert event["isBase64Encoded"] is False
    # And the tenant is where a REST API puts the authorizer's context (flattened), except in the one
    # event that has none and on the key-less health check
    if name in {"bad-no-tenant", "health"}:
        assert "authorizer" not in context
    else:
        assert context["authorizer"]["tenant_id"] == context["authorizer"]["principalId"]
        assert "lambda" not in context["authorizer"]


def test_the_handler_returns_a_streaming_response_with_a_prelude(rig: RouterRig) -> None:
    # When the models listing is served
    response = rig.app.handler(load_event("models-list"), rig.context)
    # Then it is a StreamingResponse whose prelude carries the status and content type
    assert isinstance(response, StreamingResponse)
    prelude, rest = split_prelude(response.prelude() + response.read_all())
    assert prelude["statusCode"] == 200
    assert prelude["headers"]["Content-Type"] == "application/json"
    assert json.loads(rest)["object"] == "list"


def test_the_handler_serves_exactly_the_templates_methods(rig: RouterRig) -> None:
    from tests.integration.test_template import ROUTES

    served = {(method.lower(), path) for path, methods in rig.app.ROUTES.items() for method in methods}
    assert served == ROUTES


def test_a_known_path_with_another_method_is_405_with_allow(rig: RouterRig) -> None:
    # Given GET on the chat path
    event = rest_event("GET", "/v1/chat/completions", tenant_id="acme-support")
    # When served, Then 405 names the method to use, in the body and in Allow
    status, body, headers = rig.call(event)
    assert status == 405
    assert headers["allow"] == "POST"
    assert body["error"]["code"] == "method_not_allowed"
    assert "POST" in body["error"]["message"]


def test_an_unknown_path_is_404_naming_it(rig: RouterRig) -> None:
    # Given a path the API does not serve, When served, Then 404 names method and path
    status, body, _ = rig.call(rest_event("POST", "/v1/embeddings", "{}", tenant_id="acme-support"))
    assert status == 404
    assert body["error"]["message"] == "no route for POST /v1/embeddings"
    assert rig.model_calls() == 0


def test_a_base64_body_is_decoded(rig: RouterRig) -> None:
    # Given the support chat with its body base64-encoded, as API Gateway sends binary media types
    event = load_event("chat-support")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    # When served, Then it is answered as the plain one would be
    status, body, _ = rig.call(event)
    assert status == 200, body
    assert body["object"] == "chat.completion"


def test_a_body_that_is_not_base64_is_400(rig: RouterRig) -> None:
    # Given a body flagged base64 that is not
    event = load_event("chat-support")
    event["isBase64Encoded"] = True
    event["body"] = "not base64 at all!"
    # When served, Then 400 and no model call
    status, body, _ = rig.call(event)
    assert status == 400
    assert "base64" in body["error"]["message"]
    assert rig.model_calls() == 0


def test_the_tenant_comes_from_the_authorizer_only(rig: RouterRig) -> None:
    # Given a request without authorizer context whose headers and body claim a tenant
    event = with_tenant(load_event("models-list"), None)
    event["headers"]["X-Tenant-Id"] = "acme-support"
    event["requestContext"]["identity"]["user"] = "acme-support"
    # When served, Then it is unauthenticated
    status, body, _ = rig.call(event)
    assert status == 401
    assert body["error"]["type"] == "authentication_error"


def test_logs_carry_the_api_gateway_request_id(rig: RouterRig) -> None:
    # When an event is served, Then its log lines are correlated by the REST request id
    rig.call(load_event("route-dry-run"))
    lines = [line for line in rig.log_lines() if "level" in line]
    assert lines
    assert {line.get("correlation_id") for line in lines} == {"req-route-dry-run"}


class _Stream:
    """A streamed endpoint answer that records what happened to it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.events: list[str] = []

    def chunks(self) -> Iterator[bytes]:
        try:
            for number in range(3):
                self.events.append(f"produced {number}")
                self.app.metrics.add_metric(name="StreamChunks", unit="Count", value=1)
                yield f"data: {number}\n\n".encode()
        finally:
            self.events.append("finally")

    def response(self) -> endpoints.StreamedHttpResponse:
        return endpoints.StreamedHttpResponse(200, self.chunks(), headers={"x-request-id": "r"})


@pytest.fixture
def streamed(rig: RouterRig, monkeypatch: pytest.MonkeyPatch) -> _Stream:
    """``endpoints.chat`` answering with a recorded stream."""
    stream = _Stream(rig.app)
    monkeypatch.setattr(endpoints, "chat", lambda *_, **__: stream.response())
    return stream


def test_a_streamed_answer_is_produced_chunk_by_chunk_as_it_is_read(
    rig: RouterRig, streamed: _Stream, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the stream is read
    response, chunks = rig.stream(load_event("chat-stream"))
    assert response.headers["Content-Type"] == "text/event-stream"
    first = next(chunks)
    # Then each chunk is produced only when the previous one was taken
    assert first.data == b"data: 0\n\n"
    assert streamed.events == ["produced 0"]
    rest = list(chunks)
    assert [chunk.data for chunk in rest] == [b"data: 1\n\n", b"data: 2\n\n"]
    assert first.at <= rest[0].at <= rest[1].at
    # And when it ends, the metrics it recorded while streaming are flushed
    assert streamed.events[-1] == "finally"
    flushed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"StreamChunks"' in line]
    assert [document["StreamChunks"] for document in flushed] == [[1.0, 1.0, 1.0]]


def test_a_stream_closed_early_stops_the_endpoint_and_flushes_its_metrics(
    rig: RouterRig, streamed: _Stream, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stream of which the client read one chunk
    _, chunks = rig.stream(load_event("chat-stream"))
    next(chunks)
    # When the client goes away (the runtime loop closes the response)
    chunks.close()  # type: ignore[attr-defined]
    # Then the endpoint's generator was closed before producing more, and the metrics were flushed
    assert streamed.events == ["produced 0", "finally"]
    flushed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"StreamChunks"' in line]
    assert [document["StreamChunks"] for document in flushed] == [[1.0]]


def test_a_buffered_dict_and_a_streaming_response_stream_alike() -> None:
    # Given the same answer as a proxy dict and as a StreamingResponse, Then the loop sends the same bytes
    proxy = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
    direct = StreamingResponse(200, {"Content-Type": "application/json"}, (b"{}",))
    converted = as_streaming(proxy)
    assert converted.prelude() + converted.read_all() == direct.prelude() + direct.read_all()
