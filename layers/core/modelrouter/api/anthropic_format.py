"""Anthropic's Messages API on the router: its request in, as the router's OpenAI-shaped request (the
``Message`` out is :mod:`modelrouter.api.anthropic_message`).

A Messages request is validated strictly (:mod:`modelrouter.api.anthropic_request`), then translated
into the router's :class:`~modelrouter.request.ChatRequest` shape, so the same policy, budgets, checks
and provenance apply: ``system`` → a system message; ``tool_result`` blocks → tool messages (before the
rest of their user turn; their images join it); ``tool_use`` → tool calls; images → ``image_url`` parts
(base64 as a ``data:`` URI); ``stop_sequences`` → ``stop``; ``tool_choice`` ``any`` → ``required``;
``output_config.format`` → ``response_format``; ``output_config.effort`` or a ``thinking`` budget →
``reasoning_effort`` (which the providers turn back into a thinking budget for Claude);
``metadata.user_id`` → ``user`` and the other metadata keys (and the ``X-Router-Metadata`` header) →
routing ``metadata``. What has no equivalent is dropped and listed in ``router.ignored_fields``. Error
objects: :mod:`modelrouter.api.anthropic_errors`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from modelrouter.api.anthropic_content import (
    AssistantTurn,
    ImageBlock,
    SystemTurn,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserTurn,
)
from modelrouter.api.anthropic_request import (
    CountTokensRequest,
    MessagesRequest,
    OutputConfig,
    ServerTool,
    Thinking,
    ThinkingEnabled,
    Tool,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolChoiceTool,
    ignored_fields,
)
from modelrouter.errors import InvalidRequestError
from modelrouter.jsonlimits import load_request_object
from modelrouter.problems import Problem, problems_from_validation_error
from modelrouter.providers.thinking import THINKING_BUDGETS

__all__ = [
    "METADATA_HEADER",
    "Translation",
    "parse_request",
    "to_chat_request",
]

METADATA_HEADER = "X-Router-Metadata"
"""Request header with routing metadata: a JSON object of string values."""
# pydantic names the member of a tagged union in error locations; the client wrote no such key.
_TAGS_AFTER = {
    "]": "image|tool_use|tool_result|thinking|redacted_thinking|custom|server",
    "source": "base64|url",
    "tool_choice": "auto|any|tool|none",
    "thinking": "enabled|adaptive|disabled|between_tools",
}
_UNION_TAG = re.compile("|".join(rf"(?<={re.escape(a)})\.(?:{t})(?=[.\[]|$)" for a, t in _TAGS_AFTER.items()))

RequestT = TypeVar("RequestT", MessagesRequest, CountTokensRequest)


def parse_request(body: bytes | str, model: type[RequestT]) -> RequestT:
    """Validate an untrusted body as ``model`` (a Messages or count-tokens request).

    Raises:
        InvalidRequestError: not JSON, not an object, too deep, a lone surrogate, or invalid; each
            problem names its field as the client wrote it (``messages[0].content[1].source.url``).
    """
    document = load_request_object(body)
    try:
        return model.model_validate(document)
    except ValidationError as error:
        found = problems_from_validation_error(error, model=model)
        raise InvalidRequestError([Problem(_UNION_TAG.sub("", p.path), p.message) for p in found]) from None


@dataclass(frozen=True)
class Translation:
    """A Messages request as the router's chat request."""

    body: dict[str, Any]
    """The chat request (OpenAI shape), for :func:`~modelrouter.request.parse_chat_request`."""
    ignored: tuple[str, ...]
    """Fields given a value that the router does not honour, sorted."""


def to_chat_request(
    request: CountTokensRequest, header_metadata: Mapping[str, str] | None = None
) -> Translation:
    """The router's chat request for ``request``, with the routing metadata of the header merged in.

    Raises:
        InvalidRequestError: the header repeats a ``metadata`` key with another value (naming the header).
    """
    ignored = set(ignored_fields(request))
    body: dict[str, Any] = {"model": request.model, "messages": _system(request.system)}
    for turn in request.messages:
        body["messages"] += _turn(turn)
    tools = [tool for tool in request.tools or () if isinstance(tool, Tool)]
    ignored |= {f"tools[] (server tool {t.type})" for t in request.tools or () if isinstance(t, ServerTool)}
    if tools:
        body["tools"] = [_tool(tool) for tool in tools]
    if request.tool_choice is not None:
        body.update(_tool_choice(request.tool_choice))
    effort = _effort(request.thinking, request.output_config)
    if effort is not None:
        body["reasoning_effort"] = effort
    elif request.thinking is not None and request.thinking.type != "disabled":
        ignored.add("thinking")
    elif request.output_config is not None and request.output_config.effort is not None:
        ignored.add("output_config.effort")  # with thinking disabled
    if request.output_config is not None and request.output_config.format is not None:
        schema = request.output_config.format.schema_
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    if isinstance(request, MessagesRequest):
        body.update(_sampling(request))
        body.update(_metadata(request.metadata or {}, header_metadata or {}))
    return Translation(body, tuple(sorted(ignored)))


def _effort(thinking: Thinking | None, output: OutputConfig | None) -> str | None:
    """The ``reasoning_effort`` of Anthropic's ``output_config.effort`` (unless thinking is disabled), else
    of a thinking budget: the largest effort whose budget fits in it (the providers' table, which maps
    the effort back to a budget for Claude)."""
    disabled = thinking is not None and thinking.type == "disabled"
    if output is not None and output.effort is not None and not disabled:
        return output.effort
    if isinstance(thinking, ThinkingEnabled):
        return max(
            (effort for effort, budget in THINKING_BUDGETS.items() if budget <= thinking.budget_tokens),
            key=THINKING_BUDGETS.__getitem__,
        )
    return None


def _system(system: str | list[TextBlock] | None) -> list[dict[str, Any]]:
    if not system:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    return [{"role": "system", "content": [_text(block) for block in system]}]


def _text(block: TextBlock) -> dict[str, Any]:
    return {"type": "text", "text": block.text}


def _image(block: ImageBlock) -> dict[str, Any]:
    source = block.source
    url = source.url if source.type == "url" else f"data:{source.media_type};base64,{source.data}"
    return {"type": "image_url", "image_url": {"url": url}}


def _turn(turn: UserTurn | AssistantTurn | SystemTurn) -> list[dict[str, Any]]:
    """One Anthropic turn as router messages (a user turn with tool results becomes several)."""
    if isinstance(turn.content, str):
        return [{"role": turn.role, "content": turn.content}]
    if isinstance(turn, SystemTurn):
        return [{"role": "system", "content": [_text(block) for block in turn.content]}]
    if isinstance(turn, AssistantTurn):
        texts = [_text(block) for block in turn.content if isinstance(block, TextBlock)]
        calls = [_call(block) for block in turn.content if isinstance(block, ToolUseBlock)]
        message: dict[str, Any] = {"role": "assistant", "content": texts or (None if calls else "")}
        return [{**message, "tool_calls": calls} if calls else message]
    messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in turn.content:
        if isinstance(block, ToolResultBlock):
            messages.append(_tool_message(block))
            images = [] if isinstance(block.content, str) else block.content
            parts += [_image(item) for item in images if isinstance(item, ImageBlock)]
        else:
            parts.append(_text(block) if isinstance(block, TextBlock) else _image(block))
    return messages + ([{"role": "user", "content": parts}] if parts else [])


def _call(block: ToolUseBlock) -> dict[str, Any]:
    arguments = json.dumps(block.input, ensure_ascii=False)
    return {"id": block.id, "type": "function", "function": {"name": block.name, "arguments": arguments}}


def _tool_message(block: ToolResultBlock) -> dict[str, Any]:
    """A tool result as a tool message: its text (its images go to the user message that follows)."""
    content: str | list[dict[str, Any]] = block.content if isinstance(block.content, str) else ""
    if not isinstance(block.content, str):
        content = [_text(item) for item in block.content if isinstance(item, TextBlock)] or ""
    return {"role": "tool", "tool_call_id": block.tool_use_id, "content": content}


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _tool_choice(choice: ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone) -> dict[str, Any]:
    if isinstance(choice, ToolChoiceNone):
        return {"tool_choice": "none"}
    chosen: dict[str, Any] = {
        "tool_choice": {"type": "function", "function": {"name": choice.name}}
        if isinstance(choice, ToolChoiceTool)
        else ("required" if isinstance(choice, ToolChoiceAny) else "auto")
    }
    if choice.disable_parallel_tool_use:
        chosen["parallel_tool_calls"] = False
    return chosen


def _sampling(request: MessagesRequest) -> dict[str, Any]:
    fields = {"max_tokens": request.max_tokens, "stream": request.stream,
              "stop": request.stop_sequences or None, "temperature": request.temperature,
              "top_p": request.top_p}  # fmt: skip
    return {name: value for name, value in fields.items() if value is not None}


def _metadata(metadata: Mapping[str, str | None], header: Mapping[str, str]) -> dict[str, Any]:
    """``user`` from ``metadata.user_id``; routing metadata from the other keys and the header."""
    routing = {key: value for key, value in metadata.items() if key != "user_id" and value is not None}
    for key, value in header.items():
        if routing.get(key, value) != value:
            message = f"sets '{key}' to '{value}', but the body's metadata sets it to '{routing[key]}'"
            raise InvalidRequestError([Problem(METADATA_HEADER, message)])
        routing[key] = value
    fields: dict[str, Any] = {"metadata": routing} if routing else {}
    if metadata.get("user_id") is not None:
        fields["user"] = metadata["user_id"]
    return fields
