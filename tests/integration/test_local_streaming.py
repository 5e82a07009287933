"""Streaming through the local API Gateway: a router handler's StreamingResponse reaches the client
chunk by chunk, a client that leaves stops the handler's body, in-process and in container processes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.functions import FUNCTIONS_ENV
from modelrouter.local.gateway import Gateway
from modelrouter.local.pool import ContainerPool, FunctionSpec
from tests.unit.test_local_gateway import policy

PIECES = 6
PACE_S = 0.25
"""The fake model's pace: the whole stream takes about PIECES × PACE_S."""

HANDLER = """
import json, time
from pathlib import Path
from modelrouter.lambda_runtime import StreamingResponse

def handler(event, context):
    request = json.loads(event.get("body") or "{}")
    marker = Path(request["marker"])

    def body():
        try:
            for number in range(request["pieces"]):
                time.sleep(request["pace_s"])
                if number == request.get("fail_at"):
                    raise RuntimeError("the model broke")
                yield f"data: {number}\\n\\n".encode()
        except GeneratorExit:
            marker.write_text("closed")
            raise
        marker.write_text("finished")

    return StreamingResponse(200, {"content-type": "text/event-stream"}, body())
"""
ALLOW = """
def handler(event, context):
    statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*"}
    return {"principalId": "t1", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"tenant_id": "t1"}}
"""
GOOD = {"Authorization": "Bearer good"}


def _chunk(text: str | None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {}
    document = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return f"data: {json.dumps(document)}\n\n".encode()


def _openai_router(event: dict[str, Any], context: Any) -> StreamingResponse:
    def body() -> Iterator[bytes]:
        for number in range(PIECES):
            time.sleep(PACE_S)
            yield _chunk(f"piece {number} ")
        yield _chunk(None, "stop") + b"data: [DONE]\n\n"

    return StreamingResponse(200, {"content-type": "text/event-stream"}, body())


def _allow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return policy("Allow", "t1", {"tenant_id": "t1"})


@pytest.fixture
def functions(tmp_path: Path) -> dict[str, str]:
    for name, source in (("streamer", HANDLER), ("allow", ALLOW)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(source)
    return {FUNCTIONS_ENV: str(tmp_path)}


@pytest.fixture(params=["in-process", "container"])
def gateway(
    request: pytest.FixtureRequest, functions: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The local gateway over the streaming handler, run in this process or in a container process."""
    if request.param == "in-process":
        monkeypatch.setenv(FUNCTIONS_ENV, functions[FUNCTIONS_ENV])
        from modelrouter.local.functions import load_function

        with Gateway(load_function("streamer").handler, _allow).running() as url:
            yield url
        return
    router = ContainerPool(FunctionSpec("streamer", "streamer-fn", 30.0, functions), size=1).start()
    authorizer = ContainerPool(FunctionSpec("allow", "allow-fn", 10.0, functions), size=1).start()
    try:
        with Gateway(router, authorizer).running() as url:
            yield url
    finally:
        router.stop()
        authorizer.stop()


def _body(marker: Path, **options: Any) -> dict[str, Any]:
    return {"marker": str(marker), "pieces": PIECES, "pace_s": PACE_S, **options}


def test_the_first_chunk_arrives_well_before_the_last(gateway: str, tmp_path: Path) -> None:
    # Given a handler streaming six pieces a quarter second apart
    marker = tmp_path / "marker"
    arrivals: list[float] = []
    started = time.monotonic()
    # When a client reads the stream through the gateway
    with httpx.stream("POST", f"{gateway}/v1/chat/completions", json=_body(marker), headers=GOOD,
                      timeout=30) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        text = b""
        for chunk in response.iter_raw():
            arrivals.append(time.monotonic() - started)
            text += chunk
    # Then every piece came, the first before half the total, and the body ran to its end
    assert text == b"".join(f"data: {n}\n\n".encode() for n in range(PIECES))
    assert arrivals[0] < arrivals[-1] / 2
    assert marker.read_text() == "finished"


def test_a_client_that_leaves_closes_the_handlers_body(gateway: str, tmp_path: Path) -> None:
    # Given a stream being read
    marker = tmp_path / "marker"
    with httpx.stream("POST", f"{gateway}/v1/chat/completions", json=_body(marker), headers=GOOD,
                      timeout=30) as response:  # fmt: skip
        # When the client goes away after the first chunk
        next(response.iter_raw())
    # Then the handler's body sees close() (GeneratorExit) where it runs, well before its end
    deadline = time.monotonic() + PIECES * PACE_S * 4
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "closed"


def test_a_body_that_fails_mid_stream_ends_the_response_abruptly(gateway: str, tmp_path: Path) -> None:
    # Given a handler whose body raises after two pieces
    body = _body(tmp_path / "marker", fail_at=2)
    received = b""
    # When a client reads it, Then the chunked body ends without its last chunk
    url = f"{gateway}/v1/chat/completions"
    with (  # noqa: PT012
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", url, json=body, headers=GOOD, timeout=30) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk
    assert received == b"data: 0\n\ndata: 1\n\n"


def test_the_openai_package_streams_through_the_gateway() -> None:
    # Given a router streaming chat completion chunks, paced
    with Gateway(_openai_router, _allow).running() as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="good", max_retries=0, timeout=30)
        arrivals: list[float] = []
        started = time.monotonic()
        # When the openai package asks for a stream
        pieces = []
        for chunk in client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "Hi"}], stream=True
        ):
            arrivals.append(time.monotonic() - started)
            pieces.append(chunk.choices[0].delta.content or "")
    # Then the pieces arrive as they are made
    assert "".join(pieces) == "".join(f"piece {n} " for n in range(PIECES))
    assert arrivals[0] < arrivals[-1] / 2
