"""Anthropic's ``Message`` out: an answer's content blocks, stop reason and usage, and the ``router`` block.

The answer is the router's checked :class:`~modelrouter.execution.records.ExecutionResult`, whichever
provider gave it; :mod:`modelrouter.api.anthropic_stream` writes the same message as events.
"""

from __future__ import annotations

import json
from typing import Any

from modelrouter.execution.records import ExecutionResult

__all__ = ["STOP_REASONS", "message", "stop_reason", "tool_input", "usage"]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
"""The router's (OpenAI) finish reasons as Anthropic stop reasons."""


def stop_reason(finish_reason: str) -> str:
    """Anthropic's ``stop_reason`` for a router finish reason (a stop sequence reads as ``end_turn``:
    providers do not all say which one matched)."""
    return STOP_REASONS.get(finish_reason, "end_turn")


def usage(result: ExecutionResult) -> dict[str, int]:
    """Anthropic's ``usage`` of the answering attempt (input tokens exclude cache reads and writes)."""
    final = result.attempts[-1]
    return {
        "input_tokens": final.input_tokens,
        "output_tokens": final.output_tokens,
        "cache_read_input_tokens": final.cache_read_tokens,
        "cache_creation_input_tokens": final.cache_write_tokens,
    }


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's JSON arguments as Anthropic's ``input`` object (``{}`` if they are not an object)."""
    try:
        parsed = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def message(result: ExecutionResult, summary: dict[str, Any]) -> dict[str, Any]:
    """The ``Message`` object of an answer, with the router summary."""
    answer = result.answer
    content: list[dict[str, Any]] = [{"type": "text", "text": answer.content}] if answer.content else []
    content += [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(call.arguments)}
        for call in answer.tool_calls
    ]
    return {
        "id": f"msg_{summary['request_id']}",
        "type": "message",
        "role": "assistant",
        "model": result.model,
        "content": content,
        "stop_reason": stop_reason(answer.finish_reason),
        "stop_sequence": None,
        "usage": usage(result),
        "router": summary,
    }
