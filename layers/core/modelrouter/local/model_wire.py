"""The simulated models' wire protocols: OpenAI Chat Completions and Bedrock Converse; pure, no I/O.

Requests become a :class:`~modelrouter.local.models.SimRequest`; answers and failures become the
bodies (and headers) the real services send, so the router's own adapters read them unchanged:

* OpenAI: ``{"error": {"message", "type", "code"}}`` error bodies, ``retry-after`` on 429.
* Bedrock (rest-json): the error code in the ``x-amzn-ErrorType`` header, which botocore reads
  first, and ``{"message": ...}`` in the body. A ``json_schema`` request arrives as one forced tool
  (``toolChoice.tool``); its schema is the answer's, and a JSON-object answer goes back as that
  tool's ``toolUse`` input. An answer that is not a JSON object goes back as text.
* Schemas the adapters put into a system instruction (models without native JSON modes) are read
  back from that instruction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from modelrouter.features.media import base64_image_info, request_images
from modelrouter.local.model_body import (
    WireError,
    dicts,
    instructed_object,
    instructed_schema,
    json_object,
    mapping,
    maybe_json,
)
from modelrouter.local.model_images import largest_megapixels
from modelrouter.local.models import SimAnswer, SimRequest, SimTool
from modelrouter.request import ChatRequest, ResponseFormatJsonObject, ToolMessage

__all__ = [
    "ANTHROPIC_ERRORS",
    "RETRY_AFTER_S",
    "FailureKind",
    "Reply",
    "WireError",
    "bedrock_failure",
    "bedrock_output",
    "bedrock_request",
    "bedrock_stop",
    "maybe_json",
    "openai_completion",
    "openai_failure",
    "openai_request",
    "tool_use_of",
]

Reply = tuple[int, dict[str, str], bytes]
"""An HTTP response: ``(status, headers, body)``."""
FailureKind = Literal["rate_limit", "server_error", "timeout", "not_found", "context", "bad_request"]
"""The failures the server sends, in protocol-neutral terms."""

RETRY_AFTER_S = 1
"""``retry-after`` seconds on simulated OpenAI rate limits."""
_JSON = "application/json"
_ERRORS: dict[str, tuple[tuple[int, str, str | None], tuple[int, str], tuple[int, str]]] = {
    # kind: OpenAI (status, type, code), Bedrock (status, error code), Anthropic (status, error type)
    "rate_limit": ((429, "requests", "rate_limit_exceeded"), (429, "ThrottlingException"),
                   (429, "rate_limit_error")),
    "server_error": ((500, "server_error", None), (500, "InternalServerException"),
                     (529, "overloaded_error")),
    "timeout": ((504, "server_error", "timeout"), (408, "ModelTimeoutException"), (504, "timeout_error")),
    "not_found": ((404, "invalid_request_error", "model_not_found"), (404, "ResourceNotFoundException"),
                  (404, "not_found_error")),
    "context": ((400, "invalid_request_error", "context_length_exceeded"), (400, "ValidationException"),
                (400, "invalid_request_error")),
    "bad_request": ((400, "invalid_request_error", None), (400, "ValidationException"),
                    (400, "invalid_request_error")),
}  # fmt: skip
ANTHROPIC_ERRORS = {kind: columns[2] for kind, columns in _ERRORS.items()}
"""Anthropic's ``(status, error type)`` of each failure kind."""
_BEDROCK_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_BEDROCK_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def openai_request(body: bytes) -> tuple[str, SimRequest]:
    """``(model id, request)`` of a Chat Completions body.

    Unknown top-level fields are ignored (other clients send some); everything else is validated as
    the router validates its own requests.

    Raises:
        WireError: not JSON, or not a valid chat request.
    """
    data = json_object(body)
    fields = {key: value for key, value in data.items() if key in ChatRequest.model_fields}
    try:
        request = ChatRequest.model_validate(fields)
    except ValueError as error:  # pydantic's ValidationError
        raise WireError(f"invalid chat request: {error}") from None
    system = [m.text() for m in request.messages if m.role in ("system", "developer")]
    instructed = instructed_schema(system)
    use = request.tool_use
    last = request.messages[-1]
    return str(data.get("model") or ""), SimRequest(
        last_user_text=request.last_user_text(),
        prompt_chars=sum(len(text) for _, text in request.iter_texts()),
        schema=request.json_schema if request.json_schema is not None else instructed,
        json_object=isinstance(request.response_format, ResponseFormatJsonObject)
        or instructed_object(system),
        tools=tuple(SimTool(t.function.name, t.function.parameters or {}) for t in request.tools or ()),
        tool_choice=use.name if use.name is not None else use.mode,
        tool_result=last.text() if isinstance(last, ToolMessage) else None,
        max_tokens=request.answer_token_limit,
        stream=bool(request.stream),
        stream_usage=bool(request.stream_options and request.stream_options.include_usage),
        image_megapixels=largest_megapixels(request_images(request)),
    )


def openai_completion(model_id: str, answer: SimAnswer, created: int) -> dict[str, Any]:
    """The ``chat.completion`` object of ``answer``."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
    if answer.tool_call is not None:
        call = answer.tool_call
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}
        ]
    return {
        "id": f"chatcmpl-{_digest(model_id, answer)}",
        "object": "chat.completion",
        "created": created,
        "model": model_id,
        "system_fingerprint": "local",
        "choices": [{"index": 0, "message": message, "finish_reason": answer.finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": answer.input_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
        },
    }


def openai_failure(kind: FailureKind, message: str, *, retry_after_s: int = RETRY_AFTER_S) -> Reply:
    """An OpenAI error response (a rate limit with ``retry-after``)."""
    status, error_type, code = _ERRORS[kind][0]
    headers = {"content-type": _JSON}
    if kind == "rate_limit":
        headers["retry-after"] = str(retry_after_s)
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return status, headers, json.dumps(body).encode()


def bedrock_request(body: bytes) -> tuple[SimRequest, str | None]:
    """``(request, name of the forced tool carrying a JSON answer or None)`` of a Converse body.

    Raises:
        WireError: not JSON, or no ``messages`` list.
    """
    data = json_object(body)
    turns = data.get("messages")
    if not isinstance(turns, list) or not turns:
        raise WireError("messages: must be a non-empty list")
    system = [str(block.get("text", "")) for block in dicts(data.get("system"))]
    chars = sum(len(text) for text in system)
    last_user, tool_result = "", None
    images: list[str] = []
    for turn in dicts(turns):
        texts, results = [], []
        for block in dicts(turn.get("content")):
            if isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif isinstance(source := mapping(mapping(block.get("image")).get("source")).get("bytes"), str):
                images.append(source)
            elif isinstance(block.get("toolResult"), Mapping):
                content = dicts(block["toolResult"].get("content"))
                results.append(" ".join(str(part.get("text", part.get("json", ""))) for part in content))
            elif isinstance(block.get("toolUse"), Mapping):
                chars += len(json.dumps(block["toolUse"].get("input", {})))
        chars += sum(map(len, texts)) + sum(map(len, results))
        tool_result = "\n".join(results) if results else None
        if turn.get("role") == "user" and texts:
            last_user = "\n".join(texts)
    config = mapping(data.get("toolConfig"))
    specs = [mapping(tool.get("toolSpec")) for tool in dicts(config.get("tools"))]
    tools = tuple(
        SimTool(str(spec["name"]), dict(mapping(mapping(spec.get("inputSchema")).get("json"))))
        for spec in specs
        if spec.get("name")
    )
    choice = mapping(config.get("toolChoice"))
    forced = mapping(choice.get("tool")).get("name")
    max_tokens = mapping(data.get("inferenceConfig")).get("maxTokens")
    request = SimRequest(
        last_user_text=last_user,
        prompt_chars=chars,
        schema=instructed_schema(system),
        json_object=instructed_object(system),
        tools=tools,
        tool_choice="required" if "any" in choice else "auto" if "auto" in choice else None,
        tool_result=tool_result,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
        image_megapixels=largest_megapixels(map(base64_image_info, images)),
    )
    forced_tool = next((tool for tool in tools if tool.name == forced), None)
    if forced_tool is None:
        return request, None
    # A forced tool's input is the answer: simulate a JSON answer following its schema.
    return SimRequest(
        last_user_text=last_user,
        prompt_chars=chars,
        schema=forced_tool.parameters or {"type": "object"},
        max_tokens=request.max_tokens,
    ), forced_tool.name


def tool_use_of(answer: SimAnswer, forced_tool: str | None) -> tuple[str, str, dict[str, Any]] | None:
    """``(id, name, input)`` of the tool use an answer is sent as (Bedrock, Anthropic), or None for text.

    A JSON-object answer to a forced tool (``forced_tool``) is that tool's input; a tool call's
    arguments that are not an object are wrapped as ``{"value": …}``.
    """
    parsed = maybe_json(answer.text) if forced_tool is not None and answer.finish == "stop" else None
    if isinstance(parsed, dict) and forced_tool is not None:
        return f"tooluse_{_digest(forced_tool, answer)}", forced_tool, parsed
    if answer.tool_call is not None:
        call = answer.tool_call
        arguments = call.arguments if isinstance(call.arguments, dict) else {"value": call.arguments}
        return call.id, call.name, arguments
    return None


def bedrock_stop(answer: SimAnswer, forced_tool: str | None) -> str:
    """The Converse ``stopReason`` of ``answer`` (``tool_use`` for a forced tool's JSON answer)."""
    return "tool_use" if tool_use_of(answer, forced_tool) is not None else _BEDROCK_STOP[answer.finish]


def bedrock_output(answer: SimAnswer, forced_tool: str | None, latency_ms: int) -> dict[str, Any]:
    """The Converse response of ``answer`` (``forced_tool``: the tool carrying a JSON answer)."""
    use = tool_use_of(answer, forced_tool)
    content: list[dict[str, Any]] = [{"text": answer.text or ""}]
    if use is not None:
        content = [{"toolUse": {"toolUseId": use[0], "name": use[1], "input": use[2]}}]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": bedrock_stop(answer, forced_tool),
        "usage": {
            "inputTokens": answer.input_tokens,
            "outputTokens": answer.output_tokens,
            "totalTokens": answer.input_tokens + answer.output_tokens,
        },
        "metrics": {"latencyMs": latency_ms},
    }


def bedrock_failure(kind: FailureKind, message: str, *, retry_after_s: int | None = None) -> Reply:
    """A Bedrock (rest-json) error response (a throttle with ``retry-after`` when given)."""
    status, code = _ERRORS[kind][1]
    headers = {"content-type": _JSON, "x-amzn-ErrorType": f"{code}:{_BEDROCK_ERROR_NAMESPACE}"}
    if kind == "rate_limit" and retry_after_s is not None:
        headers["retry-after"] = str(retry_after_s)
    return status, headers, json.dumps({"message": message}).encode()


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
