"""An OpenAI-compatible Chat Completion, as the provider contract's answer; pure, no I/O.

Answers keep what the client asked for: ``logprobs``, text ``annotations`` (web search citations),
the ``service_tier`` and ``moderation`` results; a custom tool call stays custom. Usage is normalized
(cached prompt tokens apart), finish reasons mapped, and a structured-outputs refusal without text is
a ``content_filter`` finish.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelrouter.policy.common import ProviderKind
from modelrouter.providers.errors import MalformedResponseError
from modelrouter.providers.types import FinishReason, ProviderResult, ResultToolCall, Usage

__all__ = ["RESPONSE_FIELDS", "finish_reason_of", "parse_response", "usage_of"]

RESPONSE_FIELDS = ("service_tier", "moderation")
"""Top-level response fields returned to the client as the provider sent them."""

PROVIDER = ProviderKind.OPENAI.value
_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "end_turn": "stop",
    "length": "length",
    "model_length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def parse_response(
    data: Mapping[str, Any], headers: Mapping[str, str] | None = None, *, default_model: str = ""
) -> ProviderResult:
    """A Chat Completion object as a :class:`ProviderResult`.

    Raises:
        MalformedResponseError: ``choices`` is missing or empty, or a choice or tool call is unreadable.
    """
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise MalformedResponseError("response has no choices", provider=PROVIDER)
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise MalformedResponseError("first choice has no message", provider=PROVIDER)
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise MalformedResponseError("tool_calls is not a list", provider=PROVIDER)
    tool_calls = tuple(_tool_call(index, raw) for index, raw in enumerate(raw_calls))
    content = _content(message.get("content"))
    finish = finish_reason_of(choice.get("finish_reason"), bool(tool_calls))
    if message.get("refusal") and not content:
        finish = "content_filter"  # a structured-outputs refusal: no answer, the reason in `refusal`
    logprobs, annotations = choice.get("logprobs"), message.get("annotations")
    return ProviderResult(
        content=content,
        tool_calls=tool_calls,
        finish_reason=finish,
        usage=usage_of(data.get("usage")),
        reported_model=str(data.get("model") or default_model),
        response_id=str(data["id"]) if data.get("id") else None,
        provider_latency_ms=_processing_ms(headers or {}),
        logprobs=logprobs if isinstance(logprobs, dict) else None,
        annotations=tuple(a for a in annotations if isinstance(a, dict))
        if isinstance(annotations, list)
        else (),
        response_fields={name: data[name] for name in RESPONSE_FIELDS if data.get(name) is not None},
    )


def _content(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # a few servers answer with text parts
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        return "".join(text for text in texts if isinstance(text, str))
    return None


def _tool_call(index: int, raw: Any) -> ResultToolCall:
    call_id = raw.get("id") if isinstance(raw, dict) else None
    given_id = call_id if isinstance(call_id, str) and call_id else f"call_{index}"
    custom = raw.get("custom") if isinstance(raw, dict) and raw.get("type") == "custom" else None
    if isinstance(custom, dict) and isinstance(custom.get("name"), str):
        tool_input = custom.get("input")
        return ResultToolCall(
            given_id, custom["name"], tool_input if isinstance(tool_input, str) else "", "custom"
        )
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise MalformedResponseError(f"tool call {index} has no function name", provider=PROVIDER)
    arguments = function.get("arguments")
    if not isinstance(arguments, str):  # Ollama and some proxies send an object
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    return ResultToolCall(id=given_id, name=function["name"], arguments=arguments)


def finish_reason_of(raw: Any, has_tool_calls: bool) -> FinishReason:
    """Map a finish reason; unknown or missing ones become ``tool_calls`` with calls, else ``stop``."""
    mapped = _FINISH_REASONS.get(raw) if isinstance(raw, str) else None
    if has_tool_calls and mapped in (None, "stop"):
        return "tool_calls"  # some servers say "stop" although the answer is tool calls
    return mapped or "stop"


def usage_of(raw: Any) -> Usage:
    """A ``usage`` object, normalized: cached prompt tokens are split out of ``input_tokens``."""
    if not isinstance(raw, dict):
        return Usage()
    prompt = _count(raw.get("prompt_tokens"))
    details = raw.get("prompt_tokens_details")
    cached = min(_count(details.get("cached_tokens")), prompt) if isinstance(details, dict) else 0
    return Usage(
        input_tokens=prompt - cached,
        output_tokens=_count(raw.get("completion_tokens")),
        cache_read_tokens=cached,
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _processing_ms(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("openai-processing-ms")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
