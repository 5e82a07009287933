"""The contract to an Anthropic Messages API call and back; pure, no I/O.

* ``POST {base_url}/v1/messages`` (``base_url`` defaults to ``https://api.anthropic.com``) with
  ``x-api-key`` and ``anthropic-version: 2023-06-01``.
* JSON-schema answers: a request without tools of its own gets one forced tool named after the
  schema, whose ``input_schema`` is the schema; the tool's input is returned as the answer text
  (``finish_reason`` ``stop``). With tools of its own, or a schema that is not an object schema
  (``input_schema`` must be one), the schema goes into a system instruction instead.
* ``temperature`` is capped at 1.0 (Anthropic's maximum; OpenAI's is 2.0), and ``top_p`` is only
  sent without ``temperature`` (newer Claude models reject both together). Neither goes with
  thinking on: Claude refuses sampling parameters while it thinks (and accepts them otherwise).
* ``reasoning_effort`` becomes a ``thinking`` budget (:mod:`~modelrouter.providers.thinking`);
  ``safety_identifier``, or ``user`` hashed, becomes ``metadata.user_id``
  (:mod:`~modelrouter.providers.end_user`); ``service_tier`` ``default`` becomes ``standard_only``
  and ``priority`` / ``fast`` ``auto`` (priority capacity where the organisation has it).
* The fields this mapping sends or maps are :data:`HONOURED_FIELDS`; :func:`dropped_fields` says
  which of them a call drops all the same. Everything else is reported in ``router.ignored_fields``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import ProviderKind
from modelrouter.providers.answer_format import JSON_OBJECT_INSTRUCTION, json_schema_instruction
from modelrouter.providers.anthropic.messages import (
    DOCUMENT_MEDIA_TYPES,
    conversation,
    system_text,
    tool_choice,
    tools,
)
from modelrouter.providers.documents import unreadable_files
from modelrouter.providers.end_user import end_user_id
from modelrouter.providers.errors import BadRequestError, MalformedResponseError
from modelrouter.providers.thinking import thinking_budget, thinking_config
from modelrouter.providers.tool_blocks import custom_call
from modelrouter.providers.types import FinishReason, ProviderCall, ProviderResult, ResultToolCall, Usage
from modelrouter.request import ChatRequest, ResponseFormatJsonObject, ResponseFormatJsonSchema
from modelrouter.request_fields import COMMON_FIELDS

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_BASE_URL",
    "HONOURED_FIELDS",
    "MAX_TEMPERATURE",
    "PROVIDER",
    "SERVICE_TIERS",
    "Endpoint",
    "JsonTool",
    "dropped_fields",
    "endpoint",
    "finish_reason_of",
    "forced_json_tool",
    "parse_response",
    "request_body",
    "usage_of",
]

PROVIDER = ProviderKind.ANTHROPIC.value
"""The provider name put on errors."""
DEFAULT_BASE_URL = "https://api.anthropic.com"
"""Where the Messages API is when the model has no ``base_url``."""
ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header value."""
MAX_TEMPERATURE = 1.0
"""Anthropic's largest accepted ``temperature``."""
HONOURED_FIELDS = COMMON_FIELDS | {"parallel_tool_calls"}
"""The request fields (besides the router's own) this mapping sends or maps."""
SERVICE_TIERS = {"auto": "auto", "default": "standard_only", "priority": "auto", "fast": "auto"}
"""OpenAI's ``service_tier`` values as Anthropic's; the others (``flex``, ``scale``) have none."""

_FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and with which headers a model is called."""

    url: str
    """The Messages API URL."""
    headers: dict[str, str]
    """Authentication and version headers."""


@dataclass(frozen=True, slots=True)
class JsonTool:
    """The tool forced to obtain a JSON-schema answer."""

    name: str
    """Tool name: the schema's name."""
    schema: dict[str, Any]
    """The answer's JSON Schema, used as the tool's ``input_schema``."""
    description: str | None = None
    """The schema's description."""


def endpoint(model: ModelSpec, api_key: str) -> Endpoint:
    """The Messages API URL and headers for ``model``."""
    base = (model.base_url or DEFAULT_BASE_URL).rstrip("/")
    url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
    return Endpoint(url=url, headers={"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION})


def forced_json_tool(request: ChatRequest) -> JsonTool | None:
    """The tool to force for a JSON-schema answer, or None when the request cannot use one."""
    answer_format = request.response_format
    if not isinstance(answer_format, ResponseFormatJsonSchema) or request.tools:
        return None
    spec = answer_format.json_schema
    schema = spec.json_schema or {}
    if schema.get("type") != "object":
        return None
    return JsonTool(name=spec.name, schema=schema, description=spec.description)


def request_body(call: ProviderCall) -> dict[str, Any]:
    """The Messages API body for ``call``.

    Raises:
        BadRequestError: the request has no user or assistant content, or an unusable image.
    """
    request = call.request
    messages = conversation(request.messages)
    if not messages:
        raise BadRequestError("the request has no user or assistant content", provider=PROVIDER)
    json_tool = forced_json_tool(request)
    body: dict[str, Any] = {
        "model": call.model.model_id,
        "max_tokens": call.max_output_tokens,
        "messages": messages,
    }
    system = "\n\n".join(text for text in (system_text(request.messages), _instruction(request)) if text)
    if system:
        body["system"] = system
    if json_tool is not None:
        body["tools"] = [
            {
                "name": json_tool.name,
                "description": json_tool.description or "Give your answer as this tool's input.",
                "input_schema": json_tool.schema,
            }
        ]
        body["tool_choice"] = {"type": "tool", "name": json_tool.name}
    elif request.tool_use.tools:
        body["tools"] = tools(request)
        choice = tool_choice(request)
        if choice is not None:
            body["tool_choice"] = choice
    budget = _thinking_budget(request, call.model, call.max_output_tokens)
    if budget is not None:
        body["thinking"] = thinking_config(budget)
    elif request.temperature is not None:  # Claude refuses sampling parameters only while thinking
        body["temperature"] = min(request.temperature, MAX_TEMPERATURE)
    elif request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    if user_id := end_user_id(request):
        body["metadata"] = {"user_id": user_id}
    if request.service_tier in SERVICE_TIERS:
        body["service_tier"] = SERVICE_TIERS[request.service_tier]
    return body


def dropped_fields(request: ChatRequest, model: ModelSpec, max_tokens: int) -> frozenset[str]:
    """The fields of :data:`HONOURED_FIELDS` that a call of ``model`` with ``max_tokens`` drops: sampling
    with thinking on, ``top_p`` beside ``temperature``, an effort thinking cannot take, a tier without an
    equivalent, files Anthropic cannot read."""
    dropped: set[str] = set()
    thinking = _thinking_budget(request, model, max_tokens) is not None
    if thinking:
        dropped |= {"temperature", "top_p"}
    elif request.temperature is not None:
        dropped.add("top_p")
    if request.reasoning_effort not in (None, "none") and not thinking:
        dropped.add("reasoning_effort")
    if request.service_tier is not None and request.service_tier not in SERVICE_TIERS:
        dropped.add("service_tier")
    if unreadable_files(request, DOCUMENT_MEDIA_TYPES):
        dropped.add("messages.content.file")
    return frozenset(dropped)


def _thinking_budget(request: ChatRequest, model: ModelSpec, max_tokens: int) -> int | None:
    use = request.tool_use
    forced = forced_json_tool(request) is not None or use.mode == "required" or use.name is not None
    return thinking_budget(request, model, max_tokens, forced_tool=forced)


def _instruction(request: ChatRequest) -> str:
    """The system instruction asking for JSON, when the answer format needs one."""
    answer_format = request.response_format
    if isinstance(answer_format, ResponseFormatJsonSchema) and forced_json_tool(request) is None:
        spec = answer_format.json_schema
        return json_schema_instruction(spec.json_schema or {}, spec.name)
    if isinstance(answer_format, ResponseFormatJsonObject):
        return JSON_OBJECT_INSTRUCTION
    return ""


def parse_response(
    data: Mapping[str, Any],
    *,
    json_tool: str | None = None,
    default_model: str = "",
    custom_tools: frozenset[str] = frozenset(),
) -> ProviderResult:
    """A Messages API response as a :class:`ProviderResult`.

    ``json_tool`` names the forced JSON tool: its input becomes the answer text; calls of
    ``custom_tools`` become custom tool calls.

    Raises:
        MalformedResponseError: ``content`` is not a list, or a block is unreadable.
    """
    blocks = data.get("content")
    if not isinstance(blocks, list):
        raise MalformedResponseError("response has no content list", provider=PROVIDER)
    texts: list[str] = []
    calls: list[ResultToolCall] = []
    answer: Any = None
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise MalformedResponseError(f"content block {index} is not an object", provider=PROVIDER)
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            call = custom_call(_tool_call(index, block), custom_tools)
            if json_tool is not None and call.name == json_tool and answer is None:
                answer = block.get("input")
            else:
                calls.append(call)
    finish = finish_reason_of(data.get("stop_reason"), bool(calls))
    if answer is not None:
        content: str | None = json.dumps(answer, ensure_ascii=False)
        finish = "stop" if finish == "tool_calls" else finish
    else:
        content = "".join(texts) if texts or not calls else None
    return ProviderResult(
        content=content,
        tool_calls=tuple(calls),
        finish_reason=finish,
        usage=usage_of(data.get("usage")),
        reported_model=str(data.get("model") or default_model),
        response_id=str(data["id"]) if data.get("id") else None,
    )


def _tool_call(index: int, block: Mapping[str, Any]) -> ResultToolCall:
    call_id, name = block.get("id"), block.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise MalformedResponseError(f"tool_use block {index} has no id or name", provider=PROVIDER)
    arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
    return ResultToolCall(id=call_id, name=name, arguments=arguments)


def finish_reason_of(raw: Any, has_tool_calls: bool) -> FinishReason:
    """Map ``stop_reason``; unknown or missing ones become ``tool_calls`` with calls, else ``stop``."""
    mapped = _FINISH_REASONS.get(raw) if isinstance(raw, str) else None
    if has_tool_calls and mapped in (None, "stop"):
        return "tool_calls"
    return mapped or "stop"


def usage_of(raw: Any) -> Usage:
    """A ``usage`` object: input, output, cache-read and cache-write tokens (absent ones are 0)."""
    if not isinstance(raw, dict):
        return Usage()
    return Usage(
        input_tokens=_count(raw.get("input_tokens")),
        output_tokens=_count(raw.get("output_tokens")),
        cache_read_tokens=_count(raw.get("cache_read_input_tokens")),
        cache_write_tokens=_count(raw.get("cache_creation_input_tokens")),
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
