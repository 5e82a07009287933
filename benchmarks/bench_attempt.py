"""Router overhead per attempt: request mapping, response parsing and answer checks; no provider time.

Two answers: 2 KB of text, and 50 KB of JSON validated against the request's schema. For the HTTP
adapter the JSON encoding of the request and decoding of the response body are included (the router
does that work); for Bedrock, boto3's own serialization is not (it belongs to the SDK call).
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.harness import Result, summarize, time_calls
from modelrouter.checks import evaluate_answer
from modelrouter.policy import Checks, ModelSpec
from modelrouter.providers.bedrock.mapping import from_converse_response, to_converse_request
from modelrouter.providers.openai.mapping import parse_response, request_body
from modelrouter.providers.types import ProviderCall
from modelrouter.request import ChatRequest, parse_chat_request

SAMPLES = 1000

_ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "sku": {"type": "string", "pattern": "^SKU-[0-9]+$"},
        "description": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 1},
        "unit_price": {"type": "number", "minimum": 0},
    },
    "required": ["sku", "description", "quantity", "unit_price"],
    "additionalProperties": False,
}
SCHEMA = {
    "type": "object",
    "properties": {"invoice": {"type": "string"}, "items": {"type": "array", "items": _ITEM_SCHEMA}},
    "required": ["invoice", "items"],
}


def _model(provider: str) -> ModelSpec:
    common: dict[str, Any] = {
        "id": f"{provider}-model",
        "pricing": {"input_per_mtok": 1, "output_per_mtok": 2},
        "context_window": 200_000,
        "max_output_tokens": 16_000,
        "capabilities": ["json_schema", "json_object", "tools"],
        "residency": "us",
        "max_classification": "internal",
    }
    if provider == "bedrock":
        return ModelSpec.model_validate(
            {**common, "provider": "bedrock", "model_id": "vendor.model-v1:0", "region": "us-east-1"}
        )
    return ModelSpec.model_validate(
        {**common, "provider": "openai", "model_id": "gpt-x-2024-01-01", "base_url": "http://127.0.0.1/v1"}
    )


def _request(json_answer: bool) -> ChatRequest:
    body: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "You are the billing assistant."},
            {"role": "user", "content": "Extract the invoice lines. " * 40},
        ]
    }
    if json_answer:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "invoice", "schema": SCHEMA},
        }
    return parse_chat_request(body)


def _json_answer(size: int) -> dict[str, Any]:
    items = []
    while len(json.dumps(items)) < size:
        n = len(items)
        items.append(
            {
                "sku": f"SKU-{n}",
                "description": f"Line {n}: managed seats",
                "quantity": n + 1,
                "unit_price": 9.5,
            }
        )
    return {"invoice": "INV-1", "items": items}


def _openai_response(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-x-2024-01-01",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 300, "completion_tokens": 500, "total_tokens": 800},
        }
    ).encode()


def _bedrock_response(text: str | None, tool_input: dict[str, Any] | None) -> dict[str, Any]:
    content: list[dict[str, Any]] = (
        [{"toolUse": {"toolUseId": "t1", "name": "invoice", "input": tool_input}}]
        if tool_input
        else [{"text": text}]
    )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use" if tool_input else "end_turn",
        "usage": {"inputTokens": 300, "outputTokens": 500, "totalTokens": 800},
        "metrics": {"latencyMs": 900},
    }


def run() -> list[Result]:
    """Time one attempt's router-side work per adapter and answer size."""
    checks = Checks()
    text = ("The proration covers the days from the upgrade to the end of the cycle. " * 30)[:2048]
    document = _json_answer(50 * 1024)
    cases = [("2 KB text", False, text, None), ("50 KB JSON + schema", True, json.dumps(document), document)]
    results: list[Result] = []
    for label, json_answer, content, tool_input in cases:
        request = _request(json_answer)
        openai_call = ProviderCall(_model("openai"), request, 4000, 30.0, "bench")
        bedrock_call = ProviderCall(_model("bedrock"), request, 4000, 30.0, "bench")
        raw = _openai_response(content)
        converse = _bedrock_response(None if json_answer else content, tool_input)

        def openai_attempt(
            call: ProviderCall = openai_call, raw: bytes = raw, request: ChatRequest = request
        ) -> None:
            json.dumps(request_body(call)).encode()
            answer = parse_response(json.loads(raw))
            verdict = evaluate_answer(checks, request, answer, repairs_done=0)
            assert verdict.action == "accept"

        def bedrock_attempt(
            call: ProviderCall = bedrock_call,
            response: dict[str, Any] = converse,
            request: ChatRequest = request,
        ) -> None:
            to_converse_request(call)
            answer = from_converse_response(response, call)
            verdict = evaluate_answer(checks, request, answer, repairs_done=0)
            assert verdict.action == "accept"

        results.append(
            summarize(f"attempt overhead openai, {label}", time_calls(openai_attempt, SAMPLES), None)
        )
        results.append(
            summarize(f"attempt overhead bedrock, {label}", time_calls(bedrock_attempt, SAMPLES), None)
        )
    return results
