"""Fault paths end to end through the real HTTP adapters: each ends in a defined outcome, never a hang."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from modelrouter.execution import AllCandidatesFailedError, DeadlineExceededError, Executor, request_deadline
from modelrouter.execution.clock import SystemClock
from modelrouter.policy import Policy
from modelrouter.providers import build_providers
from modelrouter.providers.secrets import StaticKeyResolver
from modelrouter.selection import RequestContext, decide
from tests.fakes import FakeClock
from tests.helpers import build_policy, chat, features, minimal_policy, model_entry

OPENAI_URL = "http://openai.test/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"
KEYS = StaticKeyResolver({"keys": json.dumps({"openai": "sk-test-openai", "anthropic": "sk-ant-test"})})


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


def message(text: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 4},
    }


def policy(openai_base: str = "http://openai.test/v1") -> Policy:
    document = minimal_policy()
    document["models"] = [
        model_entry(
            "oai",
            provider="openai",
            region=None,
            model_id="gpt-4o-mini-2024-07-18",
            base_url=openai_base,
            api_key={"secretsmanager": "keys", "field": "openai"},
        ),
        model_entry(
            "claude",
            provider="anthropic",
            region=None,
            model_id="claude-3-5-haiku-20241022",
            api_key={"secretsmanager": "keys", "field": "anthropic"},
        ),
    ]
    for model in document["models"]:
        del model["region"]
    document["routes"] = [{"name": "r", "models": ["oai", "claude"]}]
    document["execution"] = {"max_attempts_per_model": 2, "backoff_base_ms": 100, "min_attempt_ms": 100}
    return build_policy(document)


def run(policy: Policy, clock: Any, budget_ms: int = 5_000, client: httpx.Client | None = None) -> Any:
    providers = build_providers(KEYS, http_client=client or httpx.Client())
    executor = Executor(providers, policy, clock=clock, rng=random.Random(1))
    request = chat("hello")
    decision = decide(policy, request, RequestContext("req-9", "t1"), features=features())
    return executor.execute(decision, request, request_deadline(clock, budget_ms, policy.execution))


@respx.mock
def test_429_with_retry_after_is_retried_then_answers() -> None:
    # Given OpenAI throttles once with Retry-After: 1
    route = respx.post(OPENAI_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {"message": "slow"}}),
            httpx.Response(200, json=completion("hi")),
        ]
    )
    clock = FakeClock()
    # When executed
    result = run(policy(), clock)
    # Then it waited at least the asked second and the retry answered
    assert result.answer.content == "hi"
    assert clock.sleeps
    assert clock.sleeps[0] >= 1
    assert route.call_count == 2
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test-openai"


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"error": {"message": "boom"}}),
        httpx.Response(503, text="unavailable"),
        httpx.Response(200, content=b'{"id": "chatcmpl-1", "choices": [{"index": 0, "mess'),
        httpx.Response(200, content=b"<html>gateway</html>"),
        httpx.Response(200, json={**completion("x"), "choices": []}),
    ],
    ids=["500", "503", "truncated-json", "not-json", "empty-choices"],
)
@respx.mock
def test_openai_failures_fall_back_to_anthropic(failure: httpx.Response) -> None:
    respx.post(OPENAI_URL).mock(return_value=failure)
    anthropic = respx.post(ANTHROPIC_URL).mock(return_value=httpx.Response(200, json=message("from claude")))
    result = run(policy(), FakeClock())
    assert result.model == "claude"
    assert result.answer.content == "from claude"
    assert [a.outcome for a in result.attempts] == ["error", "error", "success"]
    assert anthropic.calls[0].request.headers["x-api-key"] == "sk-ant-test"


@respx.mock
def test_timeouts_everywhere_end_in_a_typed_error_listing_attempts() -> None:
    respx.post(OPENAI_URL).mock(side_effect=httpx.ReadTimeout("read timed out"))
    respx.post(ANTHROPIC_URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(AllCandidatesFailedError) as caught:
        run(policy(), FakeClock())
    # a timed-out model is not retried while another candidate is left; the last one is
    assert [(a.model, a.error_code) for a in caught.value.attempts] == [
        ("oai", "timeout"),
        ("claude", "provider_connection_error"),
        ("claude", "provider_connection_error"),
    ]
    # and a refused connection, the last failure, is what the client is told about
    assert (caught.value.code, caught.value.http_status) == ("provider_connection_error", 502)
    assert "sk-" not in json.dumps([a.model_dump() for a in caught.value.attempts])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                held.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    stop.set()
    thread.join(timeout=1)
    for connection in held:
        connection.close()
    server.close()


def test_a_provider_that_hangs_is_cut_off_at_the_deadline(silent_server: str) -> None:
    # Given an OpenAI-compatible server that never answers and a 0.8 s deadline (real clock and sockets)
    only_openai = policy(silent_server)
    # When executed
    started = time.monotonic()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.post(ANTHROPIC_URL).mock(side_effect=httpx.ReadTimeout("slow too"))
        with pytest.raises((DeadlineExceededError, AllCandidatesFailedError)) as caught:
            run(only_openai, SystemClock(), budget_ms=800)
    elapsed = time.monotonic() - started
    # Then it gave up by the deadline (plus scheduling slack), with the timeout recorded
    assert elapsed < 0.8 + 0.4
    assert caught.value.attempts[0].error_code == "timeout"
