"""Anthropic's ``Message`` out: an answer's content blocks, stop reason and usage, and the ``router`` block.

The answer is the router's checked :class:`~modelrouter.execution.records.ExecutionResult`, whichever
provider gave it; :mod:`modelrouter.api.anthropic_stream` writes the same message as events.
"""

from __future__ import annotations

import json
from typing import Any

from modelrouter.api.openai_format import router_summary
from modelrouter.execution.records import ExecutionResult
from modelrouter.selection.decision import Decision

__all__ = ["STOP_REASONS", "message", "router_block", "stop_reason", "tool_input", "usage"]

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


def router_block(  # noqa: PLR0917
    decision: Decision,
    result: ExecutionResult,
    latency_ms: float,
    reserved_usd: float,
    overage_usd: float,
    ignored: tuple[str, ...],
    stream: dict[str, object] | None = None,
) -> dict[str, Any]:
    """The ``router`` block: the OpenAI responses' summary, plus the stream's figures, any overage, and
    the fields the translation dropped in ``ignored_fields`` (sorted, with any the summary lists)."""
    summary = router_summary(decision, result, latency_ms, reserved_usd)
    if stream is not None:
        summary["stream"] = stream
    if overage_usd > 0:
        summary["overage_usd"] = round(overage_usd, 9)
    summary["ignored_fields"] = sorted({*summary.get("ignored_fields", ()), *ignored})
    return summary
