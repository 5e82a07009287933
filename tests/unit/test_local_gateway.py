"""The local API Gateway (REST API) stand-in: events as API Gateway builds them, the authorizer's IAM
policy, and its own refusals rendered from template.yaml's gateway responses."""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from tests.helpers import ROOT

from modelrouter.local.events import authorizer_event, proxy_event
from modelrouter.local.gateway import MAX_REQUEST_BYTES, Gateway
from modelrouter.local.gateway_template import DEFAULT_ROUTES, GatewayReply, GatewayTemplate

GOOD = {"Authorization": "Bearer good"}


def _router(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}


def policy(effect: str, principal: str, context: dict[str, str]) -> dict[str, Any]:
    """An authorizer's answer: ``effect`` on every method of the local stage."""
    statement = {"Action": "execute-api:Invoke", "Effect": effect,
                 "Resource": "arn:aws:execute-api:us-east-1:000000000000:local/api/*/*"}  # fmt: skip
    return {"principalId": principal, "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": context}  # fmt: skip


def _allow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["headers"].get("Authorization") == "Bearer good":
        return policy("Allow", "t1", {"tenant_id": "t1", "key_id": "k1"})
    return policy("Deny", "anonymous", {"reason": "unknown", "message": "Incorrect API key provided."})


def answer(gateway: Gateway, method: str, path: str, headers: dict[str, str]) -> GatewayReply:
    """The gateway's buffered answer to a request without a body."""
    reply = gateway.handle(method, path, headers, b"")
    assert isinstance(reply, tuple)
    return reply


def test_proxy_event_has_the_rest_api_shape() -> None:
    # When a request with a query string and repeated headers becomes an event
    headers = [("Authorization", "Bearer k"), ("X-Thing", "1"), ("X-Thing", "2")]
    event = proxy_event("GET", "/v1/models", headers, b"", query="limit=5&x=")

    # Then it is a payload 1.0 proxy event: header case kept, the last value and every value
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/v1/models", "/v1/models", "GET")
    assert event["headers"] == {"Authorization": "Bearer k", "X-Thing": "2"}
    assert event["multiValueHeaders"]["X-Thing"] == ["1", "2"]
    assert event["queryStringParameters"] == {"limit": "5", "x": ""}
    assert event["requestContext"]["path"] == "/api/v1/models"
    assert event["requestContext"]["stage"] == "api"
    assert event["body"] is None
    assert proxy_event("GET", "/v1/models", {}, b"")["queryStringParameters"] is None


def test_binary_bodies_are_base64_text_bodies_are_text() -> None:
    text = proxy_event("POST", "/v1/route", {"content-type": "application/json"}, b'{"a": 1}')
    binary = proxy_event("POST", "/v1/route", {"content-type": "image/png"}, b"\x89PNG\xff")
    assert (text["body"], text["isBase64Encoded"]) == ('{"a": 1}', False)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG\xff"


def test_authorizer_event_names_the_method() -> None:
    proxy = proxy_event("POST", "/v1/chat/completions", {"Authorization": "Bearer k"}, b"{}")
    event = authorizer_event(proxy)
    assert event["type"] == "REQUEST"
    assert event["methodArn"].endswith(":local/api/POST/v1/chat/completions")
    assert event["headers"]["Authorization"] == "Bearer k"
    assert event["queryStringParameters"] == {}
    assert "authorizer" not in event["requestContext"]


def test_the_template_gives_methods_and_gateway_responses() -> None:
    # When the project's template is read
    template = GatewayTemplate.load(ROOT / "template.yaml")

    # Then the methods are the OpenAPI paths, and a refusal is rendered with its variables
    assert template.routes > DEFAULT_ROUTES
    assert ("GET", "/v1/models/{model}") in template.routes
    assert template.public_routes == {("GET", "/health")}
    status, headers, body = template.render("ACCESS_DENIED", {"authorizer.message": "No such key."})
    assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")
    assert json.loads(body)["error"] == {
        "message": "No such key.", "type": "authentication_error", "param": None, "code": "invalid_api_key"
    }  # fmt: skip


def test_paths_resolve_to_methods_with_parameters_and_literals_first() -> None:
    # Given the project's template
    template = GatewayTemplate.load(ROOT / "template.yaml")

    # When paths are matched, then parameters are filled, literals win, and /health needs no key
    found = template.match("GET", "/v1/models/support-triage")
    assert found is not None
    assert (found.resource, found.path_parameters, found.authorized) == (
        "/v1/models/{model}", {"model": "support-triage"}, True
    )  # fmt: skip
    literal = template.match("GET", "/v1/models")
    assert literal is not None
    assert (literal.resource, literal.path_parameters) == ("/v1/models", {})
    health = template.match("GET", "/health")
    assert health is not None
    assert not health.authorized
    assert template.match("POST", "/v1/models/x") is None
    assert template.match("GET", "/v1/models/a/b") is None


def test_without_a_template_api_gateways_defaults_apply(tmp_path: Path) -> None:
    template = GatewayTemplate.load(tmp_path / "missing.yaml")
    assert template.render("UNAUTHORIZED", {}) == (
        401, {"content-type": "application/json"}, b'{"message": "Unauthorized"}'
    )  # fmt: skip
    assert template.render("DEFAULT_5XX", {})[0] == 502


def test_gateway_runs_the_authorizer_first_and_passes_its_context() -> None:
    calls: list[dict[str, Any]] = []

    def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return _allow(event, context)

    gateway = Gateway(_router, authorizer)
    try:
        # Without the identity header: 401 UNAUTHORIZED, the authorizer not even called
        status, _, body = answer(gateway, "GET", "/api/v1/models", {})
        assert (status, json.loads(body)["error"]["code"], calls) == (401, "invalid_api_key", [])
        # The Messages API's authorizer names no identity source (Authorization or x-api-key): it decides
        status, _, body = answer(gateway, "POST", "/api/v1/messages", {})
        assert (status, json.loads(body)["error"]["code"], len(calls)) == (401, "invalid_api_key", 1)
        calls.clear()
        # A refused key: ACCESS_DENIED, 401 with the authorizer's message
        status, _, body = answer(gateway, "GET", "/api/v1/models", {"Authorization": "Bearer bad"})
        assert (status, json.loads(body)["error"]["message"]) == (401, "Incorrect API key provided.")
        # Authorized: the router sees the principal and the context
        status, headers, body = answer(gateway, "GET", "/api/v1/models", GOOD)
        assert status == 200
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["requestContext"]["authorizer"] == {
            "principalId": "t1", "tenant_id": "t1", "key_id": "k1"
        }  # fmt: skip
    finally:
        gateway.server.server_close()


def test_unknown_methods_and_paths_are_missing_authentication_token() -> None:
    gateway = Gateway(_router, _allow)
    try:
        for method, path in (
            ("GET", "/api/v1/chat/completions"),
            ("POST", "/api/v2/x"),
            ("GET", "/v1/models"),
        ):
            status, _, body = answer(gateway, method, path, GOOD)
            assert status == 404
            assert f"{method} {path}" in json.loads(body)["error"]["message"]
    finally:
        gateway.server.server_close()


def test_a_crashing_handler_is_a_plain_502_and_a_crashing_authorizer_503() -> None:
    def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("secret detail")

    failing_router, failing_authorizer = Gateway(crash, _allow), Gateway(_router, crash)
    try:
        status, _, body = answer(failing_router, "GET", "/api/v1/models", GOOD)
        assert (status, b"secret" in body) == (502, False)
        status, _, body = answer(failing_authorizer, "GET", "/api/v1/models", GOOD)
        assert (status, json.loads(body)["error"]["type"], b"secret" in body) == (503, "server_error", False)
    finally:
        failing_router.server.server_close()
        failing_authorizer.server.server_close()


def test_oversized_requests_are_refused_over_http() -> None:
    import http.client

    gateway = Gateway(_router, _allow)
    with gateway.running() as url:
        host, port = url.removeprefix("http://").split("/")[0].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.putrequest("POST", "/api/v1/chat/completions")
        connection.putheader("content-length", str(MAX_REQUEST_BYTES + 1))
        connection.putheader("authorization", "Bearer good")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        connection.close()


class _Invoker:
    """A function the gateway may call from many threads at once (as a container pool is)."""

    def __init__(self, delay_s: float = 0.0, fail: BaseException | None = None) -> None:
        self.delay_s, self.fail = delay_s, fail
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.fail is not None:
                raise self.fail
            time.sleep(self.delay_s)
            return {"statusCode": 200, "body": "ok"}
        finally:
            with self.lock:
                self.in_flight -= 1


def test_invokers_are_called_concurrently_with_a_deep_backlog() -> None:
    # Given the gateway over an invoker (not a plain handler, which runs one request at a time)
    router = _Invoker(delay_s=0.3)
    gateway = Gateway(router, _allow)
    assert gateway.server.request_queue_size >= 128
    # When eight requests arrive together
    with gateway.running() as url, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: httpx.get(f"{url}/v1/models", headers=GOOD).status_code, range(8)))
    # Then all are answered, and they overlapped
    assert statuses == [200] * 8
    assert router.most_in_flight > 1


def test_no_prelude_in_time_is_504_and_a_function_error_502() -> None:
    # Given functions that time out or fail
    slow = Gateway(_Invoker(fail=TimeoutError("integration timeout")), _allow)
    failing = Gateway(_Invoker(fail=RuntimeError("secret detail")), _allow)
    try:
        # Then API Gateway's own answers come back, from the template, without detail
        status, _, body = answer(slow, "GET", "/api/v1/models", GOOD)
        assert (status, json.loads(body)["error"]["code"]) == (504, "timeout")
        status, _, body = answer(failing, "GET", "/api/v1/models", GOOD)
        assert (status, json.loads(body)["error"]["message"]) == (502, "Internal server error")
    finally:
        for gateway in (slow, failing):
            gateway.server.server_close()
