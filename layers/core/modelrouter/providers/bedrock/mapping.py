"""The provider contract to Bedrock's Converse API and back: pure functions, no boto3.

:func:`to_converse_request` builds the keyword arguments of ``bedrock-runtime``'s ``converse``;
:func:`from_converse_response` reads its answer; :func:`error_from_client_error` (re-exported from
:mod:`~modelrouter.providers.bedrock.error_mapping`) maps its errors.

JSON-schema answers. Converse has no response format of its own that every model supports, so a
``json_schema`` request without tools of its own is sent with one forced tool, named after the
schema, whose input schema is the answer's schema; the tool's input is the answer. A request that
also offers tools cannot force one, so the schema goes into a system instruction instead and the
executor validates the answer. ``json_object`` requests get an instruction only. Instructions are
the shared ones of :mod:`~modelrouter.providers.answer_format`.

Tools: custom tools are offered as functions of one string (their function view) and their calls
turned back into custom calls; an ``allowed_tools`` choice narrows the list. The other OpenAI fields
(thinking budgets, service tiers, the end user) are mapped in :mod:`~modelrouter.providers.bedrock.fields`,
which also declares which fields Bedrock honours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelrouter.providers.answer_format import JSON_OBJECT_INSTRUCTION, json_schema_instruction
from modelrouter.providers.bedrock.error_mapping import PROVIDER, error_from_client_error
from modelrouter.providers.bedrock.fields import (
    END_USER_KEY,
    REQUEST_ID_KEY,
    additional_fields,
    forced_schema_tool,
    forces_tool,
    offered_tools,
    request_metadata_value,
    service_tier,
    thinking_budget_of,
)
from modelrouter.providers.bedrock.messages import converse_messages
from modelrouter.providers.end_user import end_user_id
from modelrouter.providers.errors import MalformedResponseError
from modelrouter.providers.tool_blocks import custom_call
from modelrouter.providers.types import FinishReason, ProviderCall, ProviderResult, ResultToolCall, Usage
from modelrouter.request import (
    ChatRequest,
    FunctionDefinition,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
)
from modelrouter.request_tools import custom_tool_names

__all__ = [
    "REQUEST_ID_KEY",
    "error_from_client_error",
    "finish_reason_of",
    "forced_schema_tool",
    "from_converse_response",
    "request_metadata_value",
    "to_converse_request",
    "usage_of",
]

_MAX_TEMPERATURE = 1.0
"""Converse's ``temperature`` range is 0-1 (OpenAI's is 0-2); larger values are clamped."""

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
}
_MALFORMED = frozenset({"malformed_model_output", "malformed_tool_use"})


def to_converse_request(call: ProviderCall) -> dict[str, Any]:
    """The keyword arguments of ``converse`` for ``call``.

    Raises:
        BadRequestError: the request cannot be expressed for Bedrock (an image URL instead of inline
            data, tool-call arguments that are not a JSON object, no conversation turn).
    """
    request = call.request
    tool_config, instructions = _tool_config(request)
    system, messages = converse_messages(request.messages, tool_blocks=tool_config is not None)
    system.extend({"text": text} for text in instructions)
    thinking = thinking_budget_of(
        request, call.model, call.max_output_tokens, forced_tool=forces_tool(request)
    )
    metadata = {REQUEST_ID_KEY: request_metadata_value(call.request_id)}
    if user_id := end_user_id(request):
        metadata[END_USER_KEY] = request_metadata_value(user_id)
    kwargs: dict[str, Any] = {
        "modelId": call.model.model_id,
        "messages": messages,
        "inferenceConfig": _inference_config(request, call.max_output_tokens, sampling=thinking is None),
        "requestMetadata": metadata,
    }
    if system:
        kwargs["system"] = system
    if tool_config is not None:
        kwargs["toolConfig"] = tool_config
    if additional := additional_fields(thinking):
        kwargs["additionalModelRequestFields"] = additional
    if tier := service_tier(request):
        kwargs["serviceTier"] = {"type": tier}
    return kwargs


def from_converse_response(response: Mapping[str, Any], call: ProviderCall) -> ProviderResult:
    """The normalized answer of a ``converse`` response.

    Usage: Converse reports ``inputTokens`` as the prompt tokens *not* read from or written to the
    prompt cache (total prompt = ``inputTokens + cacheReadInputTokens + cacheWriteInputTokens``,
    per the Bedrock prompt-caching guide), which is already :class:`Usage`'s meaning, so it is
    passed through unchanged.

    Raises:
        MalformedResponseError: no ``output.message``, or a stop reason saying the model's output or
            tool call could not be read (``malformed_model_output``, ``malformed_tool_use``).
    """
    output = response.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    blocks = message.get("content") if isinstance(message, Mapping) else None
    if not isinstance(blocks, list):
        raise MalformedResponseError("Bedrock response has no output.message", provider=PROVIDER)
    readable = [block for block in blocks if isinstance(block, Mapping)]
    texts = [block["text"] for block in readable if isinstance(block.get("text"), str)]
    uses = [block["toolUse"] for block in readable if isinstance(block.get("toolUse"), Mapping)]
    content: str | None = "".join(texts)
    custom_tools = custom_tool_names(call.request.tools)
    tool_calls = tuple(
        custom_call(
            ResultToolCall(
                id=str(use.get("toolUseId", "")),
                name=str(use.get("name", "")),
                arguments=json.dumps(use.get("input", {}), ensure_ascii=False),
            ),
            custom_tools,
        )
        for use in uses
    )
    schema_tool = forced_schema_tool(call.request)
    answer = next((use for use in uses if use.get("name") == schema_tool), None)
    if answer is not None:
        content = json.dumps(answer.get("input", {}), ensure_ascii=False)
        tool_calls = ()
    elif tool_calls:
        content = content or None
    stop_reason = str(response.get("stopReason", ""))
    finish = finish_reason_of(stop_reason, tool_calls=bool(tool_calls), answered=answer is not None)
    metrics = response.get("metrics")
    latency = metrics.get("latencyMs") if isinstance(metrics, Mapping) else None
    metadata = response.get("ResponseMetadata")
    return ProviderResult(
        content=content,
        tool_calls=tool_calls,
        finish_reason=finish,
        usage=usage_of(response.get("usage")),
        reported_model=call.model.model_id,
        response_id=metadata.get("RequestId") if isinstance(metadata, Mapping) else None,
        provider_latency_ms=float(latency) if isinstance(latency, int | float) else None,
    )


def finish_reason_of(stop_reason: str, *, tool_calls: bool, answered: bool) -> FinishReason:
    """The finish reason of a Converse ``stopReason``.

    ``answered``: the forced schema tool carried the answer (its ``tool_use`` stop is ``stop``);
    ``tool_calls``: the answer has tool calls (an ``end_turn`` stop is ``tool_calls``).

    Raises:
        MalformedResponseError: the stop reason says the model's output or tool call could not be
            read (``malformed_model_output``, ``malformed_tool_use``).
    """
    if stop_reason in _MALFORMED:
        raise MalformedResponseError(f"Bedrock stopped with {stop_reason}", provider=PROVIDER)
    finish = _FINISH.get(stop_reason, "stop")
    if answered:
        return "stop" if finish == "tool_calls" else finish
    if tool_calls:
        return "tool_calls" if finish == "stop" else finish
    return finish


def _tool_config(request: ChatRequest) -> tuple[dict[str, Any] | None, list[str]]:
    """The ``toolConfig`` to send (None for none) and system instructions to append."""
    schema_tool = forced_schema_tool(request)
    if schema_tool is not None and isinstance(request.response_format, ResponseFormatJsonSchema):
        spec = request.response_format.json_schema
        tool = {
            "name": schema_tool,
            "description": spec.description or "Give the answer as this tool's input.",
            "inputSchema": {"json": request.json_schema or {}},
        }
        return {"tools": [{"toolSpec": tool}], "toolChoice": {"tool": {"name": schema_tool}}}, []
    instructions: list[str] = []
    if isinstance(request.response_format, ResponseFormatJsonSchema):
        instructions.append(
            json_schema_instruction(request.json_schema or {}, request.response_format.json_schema.name)
        )
    elif isinstance(request.response_format, ResponseFormatJsonObject):
        instructions.append(JSON_OBJECT_INSTRUCTION)
    if not offered_tools(request):
        return None, instructions
    use = request.tool_use
    config: dict[str, Any] = {"tools": [_tool_spec(tool.function) for tool in use.tools]}
    if use.name is not None:
        config["toolChoice"] = {"tool": {"name": use.name}}
    elif use.mode == "auto":
        config["toolChoice"] = {"auto": {}}
    elif use.mode == "required":
        config["toolChoice"] = {"any": {}}
    return config, instructions


def _tool_spec(function: FunctionDefinition) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": function.name,
        "inputSchema": {"json": function.parameters or {"type": "object"}},
    }
    if function.description:
        spec["description"] = function.description
    return {"toolSpec": spec}


def _inference_config(request: ChatRequest, max_tokens: int, *, sampling: bool) -> dict[str, Any]:
    """``maxTokens``, stop sequences and, with ``sampling`` (no thinking), temperature and ``topP``."""
    config: dict[str, Any] = {"maxTokens": max_tokens}
    if sampling and request.temperature is not None:
        config["temperature"] = min(request.temperature, _MAX_TEMPERATURE)
    if sampling and request.top_p is not None:
        config["topP"] = request.top_p
    stops = [request.stop] if isinstance(request.stop, str) else request.stop or []
    if stops := [stop for stop in stops if stop]:
        config["stopSequences"] = stops
    return config


def usage_of(raw: Any) -> Usage:
    """A Converse ``usage`` object (``inputTokens`` already excludes cached prompt tokens)."""
    if not isinstance(raw, Mapping):
        return Usage()

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) and value >= 0 else 0

    return Usage(
        input_tokens=count("inputTokens"),
        output_tokens=count("outputTokens"),
        cache_read_tokens=count("cacheReadInputTokens"),
        cache_write_tokens=count("cacheWriteInputTokens"),
    )
