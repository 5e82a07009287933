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

from modelrouter.local.models import SimAnswer, SimRequest, SimTool
from modelrouter.providers.answer_format import JSON_OBJECT_INSTRUCTION
from modelrouter.request import ChatRequest, NamedToolChoice, ResponseFormatJsonObject, ToolMessage

__all__ = [
    "RETRY_AFTER_S",
    "FailureKind",
    "Reply",
    "WireError",
    "bedrock_failure",
    "bedrock_output",
    "bedrock_request",
    "openai_completion",
    "openai_failure",
    "openai_request",
]

Reply = tuple[int, dict[str, str], bytes]
"""An HTTP response: ``(status, headers, body)``."""
FailureKind = Literal["rate_limit", "server_error", "timeout", "not_found", "context", "bad_request"]
"""The failures the server sends, in protocol-neutral terms."""

RETRY_AFTER_S = 1
"""``retry-after`` seconds on simulated OpenAI rate limits."""
_JSON = "application/json"
_SCHEMA_MARKER = "It must validate against this JSON Schema"
_OPENAI_ERRORS: dict[str, tuple[int, str, str | None]] = {
    "rate_limit": (429, "requests", "rate_limit_exceeded"),
    "server_error": (500, "server_error", None),
    "timeout": (504, "server_error", "timeout"),
    "not_found": (404, "invalid_request_error", "model_not_found"),
    "context": (400, "invalid_request_error", "context_length_exceeded"),
    "bad_request": (400, "invalid_request_error", None),
}
_BEDROCK_ERRORS: dict[str, tuple[int, str]] = {
    "rate_limit": (429, "ThrottlingException"),
    "server_error": (500, "InternalServerException"),
    "timeout": (408, "ModelTimeoutException"),
    "not_found": (404, "ResourceNotFoundException"),
    "context": (400, "ValidationException"),
    "bad_request": (400, "ValidationException"),
}
_BEDROCK_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_BEDROCK_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


class WireError(Exception):
    """A request the server cannot read: answered with a ``bad_request`` failure."""


def openai_request(body: bytes) -> tuple[str, SimRequest]:
    """``(model id, request)`` of a Chat Completions body.

    Unknown top-level fields are ignored (other clients send some); everything else is validated as
    the router validates its own requests.

    Raises:
        WireError: not JSON, not a valid chat request, or a streamed one.
    """
    data = _json_object(body)
    fields = {key: value for key, value in data.items() if key in ChatRequest.model_fields}
    try:
        request = ChatRequest.model_validate(fields)
    except ValueError as error:  # pydantic's ValidationError
        raise WireError(f"invalid chat request: {error}") from None
    if request.stream:
        raise WireError("the local model server does not stream; send stream: false")
    system = [m.text() for m in request.messages if m.role in ("system", "developer")]
    instructed = _instructed_schema(system)
    choice = request.tool_choice
    last = request.messages[-1]
    return str(data.get("model") or ""), SimRequest(
        last_user_text=request.last_user_text(),
        prompt_chars=sum(len(text) for _, text in request.iter_texts()),
        schema=request.json_schema if request.json_schema is not None else instructed,
        json_object=isinstance(request.response_format, ResponseFormatJsonObject)
        or _instructed_object(system),
        tools=tuple(SimTool(t.function.name, t.function.parameters or {}) for t in request.tools or ()),
        tool_choice=choice.function.name if isinstance(choice, NamedToolChoice) else choice,
        tool_result=last.text() if isinstance(last, ToolMessage) else None,
        max_tokens=request.answer_token_limit,
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
    status, error_type, code = _OPENAI_ERRORS[kind]
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
    data = _json_object(body)
    turns = data.get("messages")
    if not isinstance(turns, list) or not turns:
        raise WireError("messages: must be a non-empty list")
    system = [str(block.get("text", "")) for block in _dicts(data.get("system"))]
    chars = sum(len(text) for text in system)
    last_user, tool_result = "", None
    for turn in _dicts(turns):
        texts, results = [], []
        for block in _dicts(turn.get("content")):
            if isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif isinstance(block.get("toolResult"), Mapping):
                content = _dicts(block["toolResult"].get("content"))
                results.append(" ".join(str(part.get("text", part.get("json", ""))) for part in content))
            elif isinstance(block.get("toolUse"), Mapping):
                chars += len(json.dumps(block["toolUse"].get("input", {})))
        chars += sum(map(len, texts)) + sum(map(len, results))
        tool_result = "\n".join(results) if results else None
        if turn.get("role") == "user" and texts:
            last_user = "\n".join(texts)
    config = _mapping(data.get("toolConfig"))
    specs = [_mapping(tool.get("toolSpec")) for tool in _dicts(config.get("tools"))]
    tools = tuple(
        SimTool(str(spec["name"]), dict(_mapping(_mapping(spec.get("inputSchema")).get("json"))))
        for spec in specs
        if spec.get("name")
    )
    choice = _mapping(config.get("toolChoice"))
    forced = _mapping(choice.get("tool")).get("name")
    max_tokens = _mapping(data.get("inferenceConfig")).get("maxTokens")
    request = SimRequest(
        last_user_text=last_user,
        prompt_chars=chars,
        schema=_instructed_schema(system),
        json_object=_instructed_object(system),
        tools=tools,
        tool_choice="required" if "any" in choice else "auto" if "auto" in choice else None,
        tool_result=tool_result,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
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


def bedrock_output(answer: SimAnswer, forced_tool: str | None, latency_ms: int) -> dict[str, Any]:
    """The Converse response of ``answer`` (``forced_tool``: the tool carrying a JSON answer)."""
    stop = _BEDROCK_STOP[answer.finish]
    content: list[dict[str, Any]] = []
    parsed = _maybe_json(answer.text) if forced_tool is not None and answer.finish == "stop" else None
    if isinstance(parsed, dict) and forced_tool is not None:
        use_id = f"tooluse_{_digest(forced_tool, answer)}"
        content.append({"toolUse": {"toolUseId": use_id, "name": forced_tool, "input": parsed}})
        stop = "tool_use"
    elif answer.tool_call is not None:
        call = answer.tool_call
        arguments = call.arguments if isinstance(call.arguments, dict) else {"value": call.arguments}
        content.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": arguments}})
    else:
        content.append({"text": answer.text or ""})
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {
            "inputTokens": answer.input_tokens,
            "outputTokens": answer.output_tokens,
            "totalTokens": answer.input_tokens + answer.output_tokens,
        },
        "metrics": {"latencyMs": latency_ms},
    }


def bedrock_failure(kind: FailureKind, message: str, *, retry_after_s: int | None = None) -> Reply:
    """A Bedrock (rest-json) error response (a throttle with ``retry-after`` when given)."""
    status, code = _BEDROCK_ERRORS[kind]
    headers = {"content-type": _JSON, "x-amzn-ErrorType": f"{code}:{_BEDROCK_ERROR_NAMESPACE}"}
    if kind == "rate_limit" and retry_after_s is not None:
        headers["retry-after"] = str(retry_after_s)
    return status, headers, json.dumps({"message": message}).encode()


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (UnicodeDecodeError, ValueError):
        raise WireError("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise WireError("request body must be a JSON object")
    return data


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _instructed_schema(system_texts: list[str]) -> dict[str, Any] | None:
    """The schema of an adapter's JSON-schema instruction (its last line), if a system text has one."""
    for text in system_texts:
        at = text.find(_SCHEMA_MARKER)
        if at >= 0:
            parsed = _maybe_json(text[at:].partition("\n")[2].strip())
            if isinstance(parsed, dict):
                return parsed
    return None


def _instructed_object(system_texts: list[str]) -> bool:
    return any(JSON_OBJECT_INSTRUCTION in text for text in system_texts)


def _maybe_json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
