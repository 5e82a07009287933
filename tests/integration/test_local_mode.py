"""Local mode end to end: the openai package against the local stack (embedded AWS, simulated models,
the real handlers in simulated Lambda containers behind the API Gateway stand-in), then DynamoDB checked
for budgets and provenance, CloudWatch Logs for each function's logs."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
import yaml
from boto3.dynamodb.types import TypeDeserializer

from modelrouter.accounting.store import BudgetStore
from modelrouter.local.stack import LocalStack, StackOptions
from tests.helpers import load_event, minimal_policy


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackOptions(port=0, models_port=0, latency_scale=0.0, containers=CONTAINERS)) as running:
        yield running


CONTAINERS = 2


def _client(stack: LocalStack, tenant: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{stack.url}/v1", api_key=stack.api_keys[tenant], max_retries=0, timeout=30
    )


def _request(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load_event(name)["body"])
    return body


def _provenance(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.resources is not None
    items = stack.client("dynamodb").scan(TableName=stack.resources.tables["ProvenanceTable"])["Items"]
    return [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in items]


def test_local_mode_serves_the_openai_package_and_records_everything(stack: LocalStack) -> None:
    assert stack.models is not None
    assert stack.resources is not None
    request_ids: Counter[str] = Counter()

    def remember(completion: Any) -> Any:
        request_ids[completion.model_extra["router"]["request_id"]] += 1
        return completion

    # A chat, answered by a simulated model through the OpenAI-compatible adapter
    chat = remember(_client(stack, "acme-support").chat.completions.create(**_request("chat-support")))
    assert chat.choices[0].message.content.startswith("[local-")

    # A JSON-schema request: the answer validates
    extraction = _request("chat-json-schema")
    answer = remember(_client(stack, "lexdoc-eu").chat.completions.create(**extraction))
    schema = extraction["response_format"]["json_schema"]["schema"]
    jsonschema.validate(json.loads(answer.choices[0].message.content), schema)
    assert answer.model == "local-medium-eu"  # EU data stays on the EU model, through the Bedrock adapter

    # A tool call
    tool = remember(_client(stack, "devtools").chat.completions.create(**_request("chat-tool-call")))
    assert tool.choices[0].message.tool_calls[0].function.name == "run_tests"

    # A stream
    chunks = list(_client(stack, "acme-support").chat.completions.create(**_request("chat-stream")))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("[local-")
    request_ids[
        next(c.model_extra["router"] for c in chunks if c.model_extra.get("router"))["request_id"]
    ] += 1

    # Fallback: local-small fails with server errors, local-medium answers
    stack.models.inject("local-small", "server_error")
    try:
        fallback = remember(
            _client(stack, "acme-support").chat.completions.create(**_request("chat-support"))
        )
    finally:
        stack.models.clear("local-small")
    router = fallback.model_extra["router"]
    assert fallback.model == "local-medium"
    assert next(a["error_code"] for a in router["attempts"] if a["outcome"] != "success") == "server_error"

    # Budget exhaustion: the trial tenant spends until it is refused with 429 and Retry-After
    trial = _client(stack, "trial")
    body = {"model": "local-large", "max_tokens": 300, "messages": [{"role": "user", "content": "Hello"}]}
    refused = None
    for _ in range(30):
        try:
            remember(trial.chat.completions.create(**body))
        except openai.RateLimitError as error:
            refused = error
            break
    assert refused is not None
    assert refused.code == "budget_exhausted"
    assert int(refused.response.headers["retry-after"]) > 0

    # Then DynamoDB holds one provenance record per request (refusals too), and budgets that add up
    records = _provenance(stack)
    per_request = Counter(record["request_id"] for record in records)
    assert set(per_request.values()) == {1}
    assert set(request_ids) <= set(per_request)
    assert all(
        record["outcome"] == "refused" for record in records if record["request_id"] not in request_ids
    )
    store = BudgetStore(stack.resources.tables["BudgetTable"], stack.client("dynamodb"))
    for tenant in ("acme-support", "trial"):
        state = store.state(tenant)
        assert state["open_holds"] == 0
        assert abs(state["ledger_usd"] - state["month_usd"]) < 1e-9
    assert store.state("trial")["day_usd"] <= 0.015


def _log_lines(stack: LocalStack, function: str) -> list[str]:
    assert stack.resources is not None
    group = next(g for g in stack.resources.log_groups if g.endswith(function))
    events = stack.client("logs").filter_log_events(logGroupName=group)["events"]
    return [event["message"] for event in events]


def test_each_function_logs_to_its_own_group(stack: LocalStack) -> None:
    # Given a request served
    _client(stack, "devtools").models.list()

    # Then the router's group holds its structured logs and EMF metrics, and Lambda's REPORT lines
    router = _log_lines(stack, "RouterFunction")
    documents = [json.loads(line) for line in router if line.startswith("{")]
    assert any("_aws" in document for document in documents)
    assert {d.get("function_name") for d in documents if "level" in d} == {"modelrouter-local-RouterFunction"}
    assert any(line.startswith("REPORT RequestId:") and "Max Memory Used" in line for line in router)
    # And the authorizer's group holds the authorizer's, and only those
    authorizer = _log_lines(stack, "AuthorizerFunction")
    documents = [json.loads(line) for line in authorizer if line.startswith("{")]
    assert any(document.get("message") == "api key accepted" for document in documents)
    assert {d.get("function_name") for d in documents if "level" in d} == {
        "modelrouter-local-AuthorizerFunction"
    }


def test_requests_run_in_parallel_containers_each_with_its_own_process(stack: LocalStack) -> None:
    # Given a model that takes a second before its first byte
    assert stack.models is not None
    stack.models.inject("local-medium", "slow_first_byte", delay_ms=1_000)
    body = {"model": "local-medium", "messages": [{"role": "user", "content": "Hello there"}]}
    try:
        # When as many requests as there are containers arrive at once
        started = time.monotonic()
        with ThreadPoolExecutor(CONTAINERS) as pool:
            answers = list(pool.map(lambda _: _client(stack, "devtools").chat.completions.create(**body),
                                    range(CONTAINERS)))  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        stack.models.clear()

    # Then they ran side by side, not one after the other, each in a container process of its own
    assert all(answer.model == "local-medium" for answer in answers)
    assert elapsed < CONTAINERS * 1.0, elapsed
    containers = stack.containers()["router"]
    assert len({container["pid"] for container in containers}) == CONTAINERS
    assert all(container["alive"] and container["invocations"] >= 1 for container in containers)


def test_a_hundred_concurrent_connections_are_all_answered(stack: LocalStack) -> None:
    # Given a hundred clients connecting at the same moment (the gateway used to reset a third of them)
    key = stack.api_keys["devtools"]
    barrier = threading.Barrier(100)

    def list_models(_: int) -> int:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            return http.get(f"{stack.url}/v1/models", headers={"authorization": f"Bearer {key}"}).status_code

    # When each sends a request
    with ThreadPoolExecutor(100) as pool:
        statuses = Counter(pool.map(list_models, range(100)))

    # Then every one is answered
    assert statuses == {200: 100}


def test_a_policy_pointing_at_real_endpoints_runs_unchanged(tmp_path: Path) -> None:
    # Given an OpenAI-compatible server of the user's own (here: a model server started separately,
    # standing in for Ollama, vLLM or llama.cpp) and a policy whose only model points at it
    from modelrouter.local.model_server import ModelServer

    with ModelServer(latency_scale=0.0) as own_server:
        policy = minimal_policy()
        policy["models"] = [
            {
                "id": "my-llama",
                "provider": "openai",
                "model_id": "llama-small-2026-01-01",
                "base_url": f"{own_server.url}/v1",
                "pricing": {"input_per_mtok": 0.0, "output_per_mtok": 0.0},
                "context_window": 8000,
                "max_output_tokens": 1000,
                "residency": "local",
                "max_classification": "confidential",
            }
        ]
        policy["routes"] = [{"name": "default", "models": ["my-llama"]}]
        path = tmp_path / "mine.yaml"
        path.write_text(yaml.safe_dump(policy, sort_keys=False))

        # When serve runs it without the simulated models
        options = StackOptions(policy=path, port=0, models_port=0, local_models=False, latency_scale=0.0)
        with LocalStack(options) as stack:
            assert stack.models is None
            client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=stack.api_keys["t1"], max_retries=0)
            completion = client.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "What is the capital of France?"}]
            )

        # Then the user's endpoint answered, through the same adapter
        assert completion.model == "my-llama"
        assert own_server.calls("llama-small-2026-01-01") == 1
