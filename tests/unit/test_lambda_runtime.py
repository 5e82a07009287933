"""The streaming runtime loop (modelrouter.lambda_runtime) against a fake Runtime API."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.runtime_api_fake import WAIT_S, FakeRuntimeApi, running_fake_runtime_api

from modelrouter.lambda_runtime.context import LambdaContext
from modelrouter.lambda_runtime.loop import TRACE_ENV, main, run, serve
from modelrouter.lambda_runtime.response import (
    HTTP_INTEGRATION_CONTENT_TYPE,
    StreamingResponse,
    split_prelude,
)
from modelrouter.lambda_runtime.runtime_api import Invocation, RuntimeApiClient

EVENT = {"path": "/v1/chat/completions", "httpMethod": "POST"}
Handler = Callable[[Any, LambdaContext], Any]


@pytest.fixture
def fake() -> Iterator[FakeRuntimeApi]:
    """A fake Runtime API on a free port."""
    with running_fake_runtime_api() as api:
        yield api


def deadline_in(ms: int) -> int:
    from modelrouter.lambda_runtime.context import now_ms

    return now_ms() + ms


def serve_in_thread(fake: FakeRuntimeApi, handler: Handler, invocations: int = 1) -> threading.Thread:
    """The loop serving ``invocations`` invocations in a background thread."""
    thread = threading.Thread(
        target=run,
        args=(RuntimeApiClient(fake.address), handler),
        kwargs={"invocations": invocations},
        daemon=True,
    )
    thread.start()
    return thread


def test_chunks_arrive_one_by_one_while_the_handler_is_still_producing(fake: FakeRuntimeApi) -> None:
    # Given a handler whose body waits, after each chunk, for the test to let it go on
    gates = [threading.Event(), threading.Event()]

    def body() -> Iterator[bytes]:
        yield b"data: one\n\n"
        assert gates[0].wait(WAIT_S)
        yield b"data: two\n\n"
        assert gates[1].wait(WAIT_S)
        yield b"data: [DONE]\n\n"

    def handler(event: Any, context: LambdaContext) -> StreamingResponse:
        return StreamingResponse(200, {"Content-Type": "text/event-stream"}, body())

    request_id = fake.invoke(EVENT, deadline_ms=deadline_in(60_000))
    thread = serve_in_thread(fake, handler)
    # When the loop streams the response
    posted = fake.wait_for_post(request_id, "response")
    # Then the prelude and the first chunk arrive while the handler is blocked before the second
    posted.wait_for_chunks(2)
    assert posted.chunks[1:] == [b"data: one\n\n"]
    assert not posted.complete.is_set()
    gates[0].set()
    posted.wait_for_chunks(3)
    assert posted.chunks[2] == b"data: two\n\n"
    assert not posted.complete.is_set()
    gates[1].set()
    thread.join(WAIT_S)
    # And the whole response is the prelude, the chunks in order, and no error trailer
    assert posted.complete.is_set()
    assert posted.chunks[3:] == [b"data: [DONE]\n\n"]
    prelude, rest = split_prelude(posted.body)
    assert prelude == {"statusCode": 200, "headers": {"Content-Type": "text/event-stream"}}
    assert rest == b"data: one\n\ndata: two\n\ndata: [DONE]\n\n"
    assert posted.trailers == {}


def test_the_response_is_announced_as_a_chunked_stream_with_error_trailers(fake: FakeRuntimeApi) -> None:
    # Given a handler with a complete body
    def handler(event: Any, context: LambdaContext) -> StreamingResponse:
        return StreamingResponse(201, {"Content-Type": "application/json"}, (b"{}",))

    request_id = fake.invoke(EVENT, deadline_ms=deadline_in(60_000))
    serve_in_thread(fake, handler).join(WAIT_S)
    # Then the POST carries the streaming headers of the Runtime API
    posted = fake.completed(request_id, "response")
    assert posted.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    assert posted.header("Transfer-Encoding") == "chunked"
    assert posted.header("Content-Type") == HTTP_INTEGRATION_CONTENT_TYPE
    assert (
        posted.header("Trailer") == "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    assert split_prelude(posted.body) == (
        {"statusCode": 201, "headers": {"Content-Type": "application/json"}},
        b"{}",
    )


def test_a_body_failing_mid_stream_ends_with_error_trailers(fake: FakeRuntimeApi) -> None:
    # Given a body that fails after its first chunk
    def body() -> Iterator[bytes]:
        yield b"data: one\n\n"
        raise ValueError("the model stream broke")

    request_id = fake.invoke(EVENT, deadline_ms=deadline_in(60_000))
    serve_in_thread(fake, lambda event, context: StreamingResponse(200, {}, body())).join(WAIT_S)
    # Then what was produced was sent, and the trailers name the error
    posted = fake.completed(request_id, "response")
    assert split_prelude(posted.body)[1] == b"data: one\n\n"
    assert posted.trailers["Lambda-Runtime-Function-Error-Type"] == "ValueError"
    document = json.loads(base64.b64decode(posted.trailers["Lambda-Runtime-Function-Error-Body"]))
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "the model stream broke"
    assert any("body" in frame for frame in document["stackTrace"])


def test_a_handler_failing_before_its_response_posts_an_invocation_error(fake: FakeRuntimeApi) -> None:
    # Given a handler that raises
    def handler(event: Any, context: LambdaContext) -> StreamingResponse:
        raise KeyError("requestContext")

    request_id = fake.invoke(EVENT, deadline_ms=deadline_in(60_000))
    serve_in_thread(fake, handler).join(WAIT_S)
    # Then the invocation is reported failed, with Lambda's error document
    posted = fake.completed(request_id, "error")
    assert posted.header("Lambda-Runtime-Function-Error-Type") == "KeyError"
    assert posted.json()["errorType"] == "KeyError"
    assert "requestContext" in posted.json()["errorMessage"]
    assert isinstance(posted.json()["stackTrace"], list)
    assert [p.kind for p in fake.posts] == ["error"]


def test_a_body_failing_before_its_first_byte_is_an_invocation_error_and_is_closed(
    fake: FakeRuntimeApi,
) -> None:
    # Given a body that fails before producing anything, with a finally that records it ran
    settled: list[str] = []

    def body() -> Iterator[bytes]:
        try:
            raise RuntimeError("no model answered")
            yield b""  # a generator
        finally:
            settled.append("settled")

    request_id = fake.invoke(EVENT, deadline_ms=deadline_in(60_000))
    serve_in_thread(fake, lambda event, context: StreamingResponse(200, {}, body())).join(WAIT_S)
    # Then no stream was started, the error was posted, and the body's finally ran
    assert fake.completed(request_id, "error").json()["errorMessage"] == "no model answered"
    assert [p.kind for p in fake.posts] == ["error"]
    assert settled == ["settled"]


def test_the_context_and_the_trace_id_come_from_the_invocation(
    fake: FakeRuntimeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the Lambda environment, and two invocations: one traced, one not
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "router")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    monkeypatch.setenv("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/router")
    monkeypatch.setenv("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]abc")
    monkeypatch.delenv(TRACE_ENV, raising=False)
    seen: list[dict[str, Any]] = []

    def handler(event: Any, context: LambdaContext) -> StreamingResponse:
        seen.append({"event": event, "context": context, "remaining": context.get_remaining_time_in_millis(),
                     "trace": os.environ.get(TRACE_ENV)})  # fmt: skip
        return StreamingResponse(200, {}, ())

    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    client_context = json.dumps({"client": {"app_title": "t"}, "custom": {"k": "v"}, "env": {}})
    identity = json.dumps({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"})
    first = fake.invoke(
        EVENT,
        deadline_ms=deadline_in(30_000),
        trace_id=trace,
        **{"Lambda-Runtime-Client-Context": client_context, "Lambda-Runtime-Cognito-Identity": identity},
    )
    second = fake.invoke(EVENT, deadline_ms=deadline_in(5_000))
    # When both are served
    serve_in_thread(fake, handler, invocations=2).join(WAIT_S)
    # Then the handler saw the event, the context Powertools reads, and the remaining time
    one, two = seen
    context = one["context"]
    assert one["event"] == EVENT
    assert (context.aws_request_id, context.function_name, context.memory_limit_in_mb) == (
        first,
        "router",
        1024,
    )
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:router"
    assert (context.function_version, context.log_group_name) == ("$LATEST", "/aws/lambda/router")
    assert context.log_stream_name == "2026/12/01/[$LATEST]abc"
    assert 0 < one["remaining"] <= 30_000
    assert 0 < two["remaining"] <= 5_000
    assert context.client_context.custom == {"k": "v"}
    assert context.identity.cognito_identity_pool_id == "pool-1"
    # And the trace id was set for the traced invocation only
    assert (one["trace"], two["trace"]) == (trace, None)
    assert two["context"].aws_request_id == second
    assert two["context"].client_context is None


def test_remaining_time_counts_down_to_zero() -> None:
    # Given a context whose deadline is 1,500 ms after a fixed clock
    clock = [1_000_000]
    context = LambdaContext("id", "arn", deadline_ms=1_001_500, clock_ms=lambda: clock[0])
    # Then the remaining time follows the clock and never goes negative
    assert context.get_remaining_time_in_millis() == 1_500
    clock[0] += 1_000
    assert context.get_remaining_time_in_millis() == 500
    clock[0] += 1_000
    assert context.get_remaining_time_in_millis() == 0


def test_a_buffered_proxy_response_is_streamed_as_one_chunk(fake: FakeRuntimeApi) -> None:
    # Given a handler returning a buffered proxy response with a base64 body and multi-value headers
    def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
        return {
            "statusCode": 404,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Vary": ["Accept", "Origin"], "Set-Cookie": ["a=1"]},
            "body": base64.b64encode(b'{"error": {}}').decode(),
            "isBase64Encoded": True,
        }

    request_id = fake.invoke(EVENT, deadline_ms=deadline_in(60_000))
    serve_in_thread(fake, handler).join(WAIT_S)
    # Then it is streamed with its status, headers and decoded body
    prelude, body = split_prelude(fake.completed(request_id, "response").body)
    assert prelude == {
        "statusCode": 404,
        "headers": {"Content-Type": "application/json", "Vary": "Accept, Origin"},
        "cookies": ["a=1"],
    }
    assert body == b'{"error": {}}'


class BrokenClient(RuntimeApiClient):
    """A client whose streamed response breaks after the prelude and one chunk (the client went away)."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:9")
        self.sent: list[bytes] = []

    def stream_response(self, request_id: str, chunks: Iterator[bytes]) -> None:
        self.sent.extend([next(chunks), next(chunks)])
        raise ConnectionResetError("connection reset by peer")


def test_a_broken_stream_closes_the_response_so_it_settles() -> None:
    # Given a body that records how it ends, and a connection that breaks after its first chunk
    ended: list[str] = []

    def body() -> Iterator[bytes]:
        try:
            yield b"data: one\n\n"
            yield b"data: two\n\n"
            ended.append("exhausted")
        except GeneratorExit:
            ended.append("closed")
            raise

    client = BrokenClient()
    invocation = Invocation("r1", {"Lambda-Runtime-Deadline-Ms": str(deadline_in(60_000))}, b"{}")
    # When served, Then nothing is raised: the response was closed (its finally stops and settles)
    serve(client, lambda event, context: StreamingResponse(200, {}, body()), invocation)
    assert ended == ["closed"]
    assert client.sent[1] == b"data: one\n\n"


@pytest.mark.parametrize(
    ("source", "error_type", "hint"),
    [
        pytest.param(
            "import no_such_module_anywhere\n", "Runtime.ImportModuleError", "no_such_module", id="import"
        ),
        pytest.param("x = 1\n", "Runtime.HandlerNotFound", "missing", id="no-function"),
    ],
)
def test_a_handler_that_cannot_be_loaded_is_reported_as_an_init_error(
    fake: FakeRuntimeApi, tmp_path: Path, source: str, error_type: str, hint: str
) -> None:
    # Given a task root whose handler module fails to import, or lacks the handler
    (tmp_path / "broken_app.py").write_text(source)
    environ = {
        "AWS_LAMBDA_RUNTIME_API": fake.address,
        "_HANDLER": "broken_app.handler",
        "LAMBDA_TASK_ROOT": str(tmp_path),
    }
    # When the runtime starts, Then it reports the init error with Lambda's type and exits non-zero
    assert main(environ) == 1
    posted = fake.completed(None, "init-error")
    assert posted.header("Lambda-Runtime-Function-Error-Type") == error_type
    assert posted.json()["errorType"] == error_type
    assert hint in posted.json()["errorMessage"]
