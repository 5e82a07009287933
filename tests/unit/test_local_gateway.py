"""The local API Gateway stand-in: events as API Gateway builds them, and its own 401/403/413/500."""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from modelrouter.local.events import authorizer_event, proxy_event
from modelrouter.local.gateway import MAX_REQUEST_BYTES, Gateway


def _router(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}


def _allow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    allowed = event["headers"].get("authorization") == "Bearer good"
    return {"isAuthorized": allowed, "context": {"tenant_id": "t1", "key_id": "k1"}}


def test_proxy_event_lower_cases_headers_and_splits_the_query() -> None:
    # When a request with a query string and mixed-case headers becomes an event
    event = proxy_event("GET", "/v1/models?limit=5&x=", {"Authorization": "Bearer k", "X-Thing": "1"}, b"")

    # Then it has API Gateway's shape
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/v1/models"
    assert event["rawQueryString"] == "limit=5&x="
    assert event["queryStringParameters"] == {"limit": "5", "x": ""}
    assert event["headers"] == {"authorization": "Bearer k", "x-thing": "1"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert "body" not in event


def test_binary_bodies_are_base64_text_bodies_are_text() -> None:
    text = proxy_event("POST", "/v1/route", {"content-type": "application/json"}, b'{"a": 1}')
    binary = proxy_event("POST", "/v1/route", {"content-type": "image/png"}, b"\x89PNG\xff")
    assert (text["body"], text["isBase64Encoded"]) == ('{"a": 1}', False)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG\xff"


def test_authorizer_event_names_the_route_and_identity() -> None:
    proxy = proxy_event("POST", "/v1/chat/completions", {"authorization": "Bearer k"}, b"{}")
    event = authorizer_event(proxy)
    assert event["type"] == "REQUEST"
    assert event["identitySource"] == ["Bearer k"]
    assert event["routeArn"].endswith("/$default/POST/v1/chat/completions")


def test_gateway_runs_the_authorizer_first_and_passes_its_context() -> None:
    gateway = Gateway(_router, _allow)
    try:
        # Without the identity header: 401, with a refused key: 403, API Gateway's bodies
        assert gateway.handle("GET", "/v1/models", {}, b"")[0] == 401
        status, _, body = gateway.handle("GET", "/v1/models", {"Authorization": "Bearer bad"}, b"")
        assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
        # Authorized: the router sees the authorizer's context
        status, headers, body = gateway.handle("GET", "/v1/models", {"Authorization": "Bearer good"}, b"")
        assert status == 200
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["requestContext"]["authorizer"] == {
            "lambda": {"tenant_id": "t1", "key_id": "k1"}
        }
    finally:
        gateway.server.server_close()


def test_a_crashing_handler_is_a_plain_500() -> None:
    def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("secret detail")

    gateway = Gateway(crash, _allow)
    try:
        status, _, body = gateway.handle("GET", "/v1/models", {"Authorization": "Bearer good"}, b"")
    finally:
        gateway.server.server_close()
    assert status == 500
    assert b"secret" not in body


def test_oversized_requests_are_refused_over_http() -> None:
    import http.client

    gateway = Gateway(_router, _allow)
    with gateway.running() as url:
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.putrequest("POST", "/v1/chat/completions")
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
        statuses = list(
            pool.map(
                lambda _: httpx.get(f"{url}/v1/models", headers={"authorization": "Bearer good"}).status_code,
                range(8),
            )
        )
    # Then all are answered, and they overlapped
    assert statuses == [200] * 8
    assert router.most_in_flight > 1


def test_no_answer_in_time_is_503_and_a_function_error_500() -> None:
    # Given functions that time out or fail
    slow = Gateway(_Invoker(fail=TimeoutError("integration timeout")), _allow)
    failing = Gateway(_Invoker(fail=RuntimeError("secret detail")), _allow)
    broken_authorizer = Gateway(_router, _Invoker(fail=RuntimeError("secret detail")))
    headers = {"Authorization": "Bearer good"}
    try:
        # Then API Gateway's own answers come back, without detail
        assert slow.handle("GET", "/v1/models", headers, b"")[::2] == (
            503,
            b'{"message": "Service Unavailable"}',
        )
        assert failing.handle("GET", "/v1/models", headers, b"")[::2] == (
            500,
            b'{"message": "Internal Server Error"}',
        )
        assert broken_authorizer.handle("GET", "/v1/models", headers, b"")[0] == 500
    finally:
        for gateway in (slow, failing, broken_authorizer):
            gateway.server.server_close()
