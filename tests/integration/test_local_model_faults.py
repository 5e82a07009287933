"""The simulated models' chaos faults over HTTP: a hang held until the client gives up, a slow first
byte, and rate limits whose Retry-After is set through the control API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelrouter.local.model_server import ModelServer
from modelrouter.providers.errors import ProviderTimeoutError
from tests.helpers import fake_aws_environment, wait_for
from tests.integration.test_local_model_server import PROTOCOLS, SHORT_TIMEOUT_S, chat, complete


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServer]:
    """A running server without simulated latency, with fake AWS credentials for boto3."""
    fake_aws_environment(monkeypatch)
    with ModelServer(latency_scale=0) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def _connection_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "local-models-connection")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_hang_holds_the_call_until_the_client_gives_up(
    server: ModelServer, http: httpx.Client, protocol: str
) -> None:
    # Given a hung model
    server.inject("local-small", "hang")
    # When the adapter calls it with a short timeout, Then it gets no answer at all
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        complete(server, http, protocol, "small", chat("Hello"), timeout_s=SHORT_TIMEOUT_S)
    assert time.monotonic() - started < SHORT_TIMEOUT_S + 2
    # (Bedrock's adapter abandons a call that misses its deadline on a worker thread, so that call may
    # reach the server only now; count connections once it has, or it would be counted as a leak)
    wait_for(lambda: server.calls("local-small") >= 1)
    # And when a client hangs up on it, the server lets the call go: its connection thread ends
    before = _connection_threads()
    with httpx.Client(timeout=SHORT_TIMEOUT_S) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{server.url}/v1/chat/completions", json=chat_body("local-small"))
    deadline = time.monotonic() + 3
    while _connection_threads() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _connection_threads() <= before


def chat_body(model: str) -> dict[str, Any]:
    """A minimal Chat Completions body."""
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_slow_first_byte_delays_the_answer_then_answers(
    server: ModelServer, http: httpx.Client, protocol: str
) -> None:
    # Given a model that waits 300 ms before its status line
    server.inject("local-medium", "slow_first_byte", delay_ms=300)
    # When it is called, Then the answer comes, after the delay
    started = time.monotonic()
    assert complete(server, http, protocol, "medium", chat("Hello")).content
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(("protocol", "path"), [("openai", "/v1/chat/completions"),
                                                ("bedrock", "/model/local.small-v1:0/converse")])  # fmt: skip
def test_rate_limits_carry_the_retry_after_set_over_http(
    server: ModelServer, http: httpx.Client, protocol: str, path: str
) -> None:
    # Given a rate limit with a 7 s Retry-After and a probability, set over the control API
    put = http.put(
        f"{server.url}/_local/faults/local-small",
        json={"fault": "rate_limit", "retry_after_s": 7, "probability": 1.0},
    )
    assert put.json()["fault"] == {"fault": "rate_limit", "times": None, "retry_after_s": 7}
    # When the model is called, Then it answers 429 with that Retry-After
    body = chat_body("local-small")
    if protocol == "bedrock":
        body = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}
    response = http.post(f"{server.url}{path}", json=body)
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    # And bad control documents are refused with what is expected
    refused = http.put(f"{server.url}/_local/faults/local-small", json={"fault": "hang", "seconds": 1})
    assert refused.status_code == 400
    assert "unknown option" in refused.json()["error"]
