"""Shared HTTP plumbing: the pooled client, POSTing JSON, retry hints, status and body errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from modelrouter.providers import http
from modelrouter.providers.errors import (
    AuthError,
    BadRequestError,
    ContextTooLongError,
    MalformedResponseError,
    ModelNotFoundError,
    OverloadedError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)

URL = "https://llm.example.test/v1/chat/completions"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as made:
        yield made


# post_json


def test_post_json_sends_json_and_returns_status_headers_and_body(
    api: respx.MockRouter, client: httpx.Client
) -> None:
    # Given an endpoint that answers 200 with a header
    route = api.post(URL).mock(return_value=httpx.Response(200, json={"ok": True}, headers={"X-Thing": "1"}))

    # When a body is posted
    response = http.post_json(URL, {"authorization": "Bearer k"}, {"a": "é"}, 7.0, client=client)

    # Then the body went out as compact UTF-8 JSON with the given and the JSON headers
    sent = route.calls.last.request
    assert sent.content == '{"a":"é"}'.encode()
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["authorization"] == "Bearer k"
    # And the call's timeout applies to every phase but connect, which is capped
    assert sent.extensions["timeout"] == {
        "connect": http.CONNECT_TIMEOUT_S,
        "read": 7.0,
        "write": 7.0,
        "pool": 7.0,
    }
    # And the response is returned whole, header names lower-cased
    assert response.status == 200
    assert response.headers["x-thing"] == "1"
    assert response.body == b'{"ok":true}'


def test_post_json_returns_error_statuses_without_raising(
    api: respx.MockRouter, client: httpx.Client
) -> None:
    # Given an endpoint that answers 500
    api.post(URL).mock(return_value=httpx.Response(500, text="boom"))

    # When a body is posted, then the status is returned for the provider to map
    assert http.post_json(URL, {}, {}, 5.0, client=client).status == 500


def test_short_timeouts_cap_the_connect_timeout(api: respx.MockRouter, client: httpx.Client) -> None:
    # Given a call with less time than the connect timeout
    route = api.post(URL).mock(return_value=httpx.Response(200, json={}))

    # When it is posted
    http.post_json(URL, {}, {}, 0.5, client=client)

    # Then connecting may not take longer than the call
    assert route.calls.last.request.extensions["timeout"]["connect"] == 0.5


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ReadTimeout("read timed out"), ProviderTimeoutError),
        (httpx.ConnectTimeout("connect timed out"), ProviderTimeoutError),
        (httpx.PoolTimeout("pool exhausted"), ProviderTimeoutError),
        (httpx.ConnectError("connection refused"), ProviderConnectionError),
        (httpx.ConnectError("[Errno -2] Name or service not known"), ProviderConnectionError),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            ProviderConnectionError,
        ),
        (
            httpx.RemoteProtocolError("server disconnected without sending a response"),
            ProviderConnectionError,
        ),
        (httpx.ReadError("connection reset"), ProviderConnectionError),
        (httpx.UnsupportedProtocol("Request URL has an unsupported protocol"), ProviderServerError),
    ],
)
def test_transport_failures_become_retryable_provider_errors(
    api: respx.MockRouter, client: httpx.Client, raised: Exception, expected: type[ProviderError]
) -> None:
    # Given a transport that fails
    api.post(URL).mock(side_effect=raised)

    # When a body is posted
    with pytest.raises(expected) as caught:
        http.post_json(URL, {}, {}, 5.0, provider="openai", client=client)

    # Then the typed error is retryable and names the provider
    assert caught.value.retryable
    assert caught.value.provider == "openai"


class _BrokenBody(httpx.SyncByteStream):
    """A body that starts, then loses its connection."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"choices": ['
        raise httpx.ReadError("connection reset by peer")


def test_a_connection_that_breaks_after_the_answer_began_is_a_server_error(
    api: respx.MockRouter, client: httpx.Client
) -> None:
    # Given an answer whose connection resets after its first bytes
    api.post(URL).mock(return_value=httpx.Response(200, stream=_BrokenBody()))

    # When a body is posted, then it is a server error (the provider answered), not a connection error
    with pytest.raises(ProviderServerError) as caught:
        http.post_json(URL, {}, {}, 5.0, provider="openai", client=client)
    assert type(caught.value) is ProviderServerError
    assert caught.value.code == "server_error"


def test_undecodable_bodies_are_malformed(api: respx.MockRouter, client: httpx.Client) -> None:
    # Given a body whose content-encoding is broken
    api.post(URL).mock(
        return_value=httpx.Response(
            200, stream=httpx.ByteStream(b"not gzip"), headers={"content-encoding": "gzip"}
        )
    )

    # When it is read, then it is malformed, which is worth retrying
    with pytest.raises(MalformedResponseError):
        http.post_json(URL, {}, {}, 5.0, client=client)


def test_invalid_urls_are_bad_requests(client: httpx.Client) -> None:
    # Given a URL httpx cannot parse, when a body is posted to it
    with pytest.raises(BadRequestError):
        http.post_json("http://[::1", {}, {}, 5.0, client=client)


def test_no_time_left_fails_without_a_request(api: respx.MockRouter, client: httpx.Client) -> None:
    # Given a call whose deadline has passed
    route = api.post(URL).mock(return_value=httpx.Response(200, json={}))

    # When it is posted, then it times out at once
    with pytest.raises(ProviderTimeoutError):
        http.post_json(URL, {}, {}, 0.0, client=client)
    assert not route.called


def test_oversized_bodies_are_malformed(
    api: respx.MockRouter, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a response larger than the limit
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", 10)
    api.post(URL).mock(return_value=httpx.Response(200, content=b"x" * 11))

    # When it is read, then it is refused as malformed
    with pytest.raises(MalformedResponseError):
        http.post_json(URL, {}, {}, 5.0, client=client)


def test_shared_client_is_created_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no client yet
    monkeypatch.setattr(http, "_client", None)
    made: list[httpx.Client] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        made.append(http.shared_client())

    # When eight threads ask for it at once
    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then they all get the same client
    assert len({id(client) for client in made}) == 1
    made[0].close()


def test_post_json_uses_the_shared_client_by_default(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no injected client
    monkeypatch.setattr(http, "_client", None)
    api.post(URL).mock(return_value=httpx.Response(204))

    # When a body is posted, then the shared client sends it
    assert http.post_json(URL, {}, {}, 5.0).status == 204
    shared = http.shared_client()
    assert not shared.follow_redirects
    shared.close()


# parse_retry_after


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
        ({"Retry-After": format_datetime(NOW + timedelta(seconds=30), usegmt=True)}, 30.0),
        ({"Retry-After": format_datetime(NOW - timedelta(seconds=30), usegmt=True)}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_seconds_dates_and_milliseconds(
    headers: dict[str, str], expected: float | None
) -> None:
    # Given retry headers, when they are read, then the wait is in seconds
    assert http.parse_retry_after(headers, now=NOW.timestamp()) == expected


# error_for_status


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (403, AuthError),
        (404, ModelNotFoundError),
        (408, ProviderTimeoutError),
        (409, BadRequestError),
        (413, ContextTooLongError),
        (422, BadRequestError),
        (429, RateLimitedError),
        (500, ProviderServerError),
        (501, ProviderServerError),
        (502, ProviderServerError),
        (503, OverloadedError),
        (504, ProviderServerError),
        (529, OverloadedError),
        (307, BadRequestError),
    ],
)
def test_statuses_map_to_typed_errors(status: int, expected: type[ProviderError]) -> None:
    # Given a failed status, when it is mapped
    error = http.error_for_status(status, "it failed", 1.5, "openai")

    # Then the class, status, provider and retry hint are kept
    assert type(error) is expected
    assert (error.status, error.provider, error.retry_after_s) == (status, "openai", 1.5)
    assert error.message == f"openai returned HTTP {status}: it failed"


def test_error_class_override_and_long_messages_are_truncated() -> None:
    # Given a very long provider message and an override
    error = http.error_for_status(400, "x" * 1000, None, "openai", error_class=ContextTooLongError)

    # Then the override wins and the message is cut
    assert isinstance(error, ContextTooLongError)
    assert len(error.message) < 400
    assert error.message.endswith("…")


# decode_json, body_snippet, redact


def test_decode_json_returns_objects() -> None:
    assert http.decode_json(b'{"a": 1}', "openai") == {"a": 1}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"<html>502 Bad Gateway</html>",
        b'{"id": "chatcmpl-1", "choices": [',
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe",
    ],
)
def test_decode_json_refuses_what_is_not_a_json_object(body: bytes) -> None:
    # Given a body that is not a complete JSON object, when it is decoded
    with pytest.raises(MalformedResponseError) as caught:
        http.decode_json(body, "anthropic")

    # Then the error is retryable and names the provider
    assert caught.value.retryable
    assert caught.value.provider == "anthropic"


def test_body_snippet_keeps_plain_text_and_drops_html() -> None:
    assert http.body_snippet(b"  upstream   connect error  ") == "upstream connect error"
    assert http.body_snippet(b"<html><body>413</body></html>") == ""
    assert http.body_snippet(b"\xff\xfe\x00") == ""


def test_redact_scrubs_secrets_of_eight_characters_or_more() -> None:
    assert http.redact("bad key sk-abcdefgh1234 given", "sk-abcdefgh1234") == "bad key *** given"
    assert http.redact("short abc", "abc") == "short abc"
