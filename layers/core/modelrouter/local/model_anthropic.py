"""The simulated models' Anthropic Messages API: requests, message objects and errors; pure, no I/O.

``POST /v1/messages`` as Anthropic serves it: ``x-api-key`` and ``anthropic-version`` are accepted
(not checked), the body is a Messages request (``system`` text or blocks, turns of text, ``tool_use``
and ``tool_result`` blocks, ``tools`` with ``input_schema``, ``tool_choice``), the answer a
``message`` object. A forced tool (``tool_choice: {"type": "tool"}``) carries a JSON answer: its
``input_schema`` is the answer's schema, and the answer goes back as that tool's input, as the router's
Anthropic adapter expects. Errors are ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from modelrouter.features.media import base64_image_info
from modelrouter.local import model_body as wire
from modelrouter.local.model_images import largest_megapixels
from modelrouter.local.model_wire import ANTHROPIC_ERRORS, FailureKind, Reply, tool_use_of
from modelrouter.local.models import SimAnswer, SimRequest, SimTool

__all__ = [
    "ANTHROPIC_STOP",
    "STREAM_ERROR",
    "anthropic_error",
    "anthropic_failure",
    "anthropic_message",
    "anthropic_request",
    "anthropic_stop",
    "message_id",
]

ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
"""Anthropic's ``stop_reason`` of each finish."""
STREAM_ERROR = ("overloaded_error", "Overloaded")
"""The error event a ``stream_error`` fault sends: type and message."""
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def anthropic_request(body: bytes) -> tuple[str, SimRequest, str | None]:
    """``(model id, request, name of the forced tool carrying a JSON answer or None)`` of a body.

    Raises:
        WireError: not JSON, no ``messages`` list, or no ``max_tokens``.
    """
    data = wire.json_object(body)
    turns = wire.dicts(data.get("messages"))
    if not turns:
        raise wire.WireError("messages: Field required (a non-empty list)")
    max_tokens = data.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise wire.WireError("max_tokens: Field required (a positive integer)")
    system = data.get("system")
    blocks = wire.dicts(system)
    system_texts = [system] if isinstance(system, str) else [str(b.get("text", "")) for b in blocks]
    chars = sum(map(len, system_texts))
    last_user, tool_result = "", None
    for turn in turns:
        texts, results = _texts_and_results(turn.get("content"))
        chars += sum(map(len, texts)) + sum(map(len, results))
        tool_result = "\n".join(results) if results else None
        if turn.get("role") == "user" and texts:
            last_user = "\n".join(texts)
    tools = tuple(
        SimTool(str(tool["name"]), dict(wire.mapping(tool.get("input_schema"))))
        for tool in wire.dicts(data.get("tools"))
        if tool.get("name")
    )
    choice = wire.mapping(data.get("tool_choice"))
    forced = next((t for t in tools if choice.get("type") == "tool" and t.name == choice.get("name")), None)
    request = SimRequest(
        last_user_text=last_user,
        prompt_chars=chars,
        schema=(forced.parameters or {"type": "object"}) if forced else wire.instructed_schema(system_texts),
        json_object=forced is None and wire.instructed_object(system_texts),
        tools=() if forced else tools,
        tool_choice=_CHOICES.get(str(choice.get("type"))),
        tool_result=tool_result,
        max_tokens=max_tokens,
        stream=data.get("stream") is True,
        image_megapixels=largest_megapixels(map(base64_image_info, _inline_images(turns))),
    )
    return str(data.get("model") or ""), request, forced.name if forced else None


def _texts_and_results(content: Any) -> tuple[list[str], list[str]]:
    """A turn's text and its tool results' text (tool use inputs count as text for the prompt size)."""
    if isinstance(content, str):
        return [content], []
    texts, results = [], []
    for block in wire.dicts(content):
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            texts.append(json.dumps(block.get("input", {})))
        elif kind == "tool_result":
            inner = block.get("content")
            parts = [inner] if isinstance(inner, str) else [str(p.get("text", "")) for p in wire.dicts(inner)]
            results.append(" ".join(parts))
    return texts, results


def _inline_images(turns: list[Mapping[str, Any]]) -> list[str]:
    """The base64 data of every ``image`` block given inline."""
    return [
        str(source["data"])
        for turn in turns
        for block in wire.dicts(turn.get("content"))
        if block.get("type") == "image"
        and (source := wire.mapping(block.get("source"))).get("type") == "base64"
        and isinstance(source.get("data"), str)
    ]


def anthropic_stop(answer: SimAnswer, forced_tool: str | None) -> str:
    """The ``stop_reason`` of ``answer`` (``tool_use`` for a forced tool's JSON answer)."""
    return "tool_use" if tool_use_of(answer, forced_tool) is not None else ANTHROPIC_STOP[answer.finish]


def message_id(model_id: str, answer: SimAnswer) -> str:
    """The deterministic ``msg_…`` id of an answer."""
    return "msg_" + hashlib.sha256(repr((model_id, answer)).encode()).hexdigest()[:24]


def anthropic_message(model_id: str, answer: SimAnswer, forced_tool: str | None) -> dict[str, Any]:
    """The ``message`` object of ``answer``."""
    use = tool_use_of(answer, forced_tool)
    content: list[dict[str, Any]] = [{"type": "text", "text": answer.text or ""}]
    if use is not None:
        content = [{"type": "tool_use", "id": use[0], "name": use[1], "input": use[2]}]
    return {
        "id": message_id(model_id, answer),
        "type": "message",
        "role": "assistant",
        "model": model_id,
        "content": content,
        "stop_reason": anthropic_stop(answer, forced_tool),
        "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
    }


def anthropic_error(error_type: str, message: str) -> dict[str, Any]:
    """Anthropic's error object."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def anthropic_failure(kind: FailureKind, message: str, *, retry_after_s: int | None = None) -> Reply:
    """An Anthropic error response (a rate limit with ``retry-after`` when given)."""
    status, error_type = ANTHROPIC_ERRORS[kind]
    headers = {"content-type": "application/json"}
    if kind == "rate_limit" and retry_after_s is not None:
        headers["retry-after"] = str(retry_after_s)
    if kind == "context":
        message = f"prompt is too long: {message}"
    return status, headers, json.dumps(anthropic_error(error_type, message)).encode()
