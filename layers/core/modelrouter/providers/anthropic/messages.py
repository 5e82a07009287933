"""The OpenAI-shaped conversation as Anthropic Messages API turns, tools and tool choice; pure, no I/O.

* ``system`` and ``developer`` text becomes the top-level ``system`` string, joined by blank lines.
* Turns alternate ``user`` / ``assistant``: consecutive turns of the same role are merged, and tool
  messages become ``tool_result`` blocks of a user turn (placed before any text, as required).
* Assistant tool calls become ``tool_use`` blocks whose ``input`` is the parsed arguments object.
* Images: ``data:`` URIs become base64 sources, ``http(s)://`` URLs become URL sources.
* Files given inline as PDF or plain text become ``document`` blocks; other files, input audio and
  refusal parts are left out (reported by :func:`~.mapping.dropped_fields` where they are a field).
* Tools: custom tools are offered as functions of one string (their function view); an
  ``allowed_tools`` choice narrows the list (:attr:`~modelrouter.request.ChatRequest.tool_use`).
* Empty text is left out (the API rejects empty text blocks).
"""

from __future__ import annotations

import json
from typing import Any

from modelrouter.policy.common import ProviderKind
from modelrouter.providers.documents import inline_file
from modelrouter.providers.errors import BadRequestError
from modelrouter.request import (
    AssistantMessage,
    ChatRequest,
    DeveloperMessage,
    FilePart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
)

__all__ = [
    "DOCUMENT_MEDIA_TYPES",
    "IMAGE_MEDIA_TYPES",
    "conversation",
    "document_block",
    "image_block",
    "system_text",
    "tool_choice",
    "tools",
]

_PROVIDER = ProviderKind.ANTHROPIC.value
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
"""The image types the Messages API accepts as base64 data."""
DOCUMENT_MEDIA_TYPES = frozenset({"application/pdf", "text/plain"})
"""The file types the Messages API reads as ``document`` blocks."""


def system_text(messages: list[Message]) -> str:
    """The text of every system and developer message, joined by blank lines."""
    parts = [m.text() for m in messages if isinstance(m, SystemMessage | DeveloperMessage)]
    return "\n\n".join(part for part in parts if part)


def conversation(messages: list[Message]) -> list[dict[str, Any]]:
    """The non-system messages as alternating user / assistant turns of content blocks."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage | DeveloperMessage):
            continue
        role = "assistant" if isinstance(message, AssistantMessage) else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":  # tool results must come first in a user turn
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def _blocks(message: Message) -> list[dict[str, Any]]:
    if isinstance(message, ToolMessage):
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
        if message.text():  # content is optional; an empty text would be rejected
            result["content"] = message.text()
        return [result]
    blocks: list[dict[str, Any]] = []
    content = message.content
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif content is not None:
        for part in content:
            if isinstance(part, TextPart) and part.text:
                blocks.append({"type": "text", "text": part.text})
            elif isinstance(part, ImagePart):
                blocks.append(image_block(part.image_url.url))
            elif isinstance(part, FilePart) and (document := document_block(part)) is not None:
                blocks.append(document)
    if isinstance(message, AssistantMessage):
        for call in message.tool_calls or ():
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.function.name,
                    "input": _arguments(call.function.arguments),
                }
            )
    return blocks


def image_block(url: str) -> dict[str, Any]:
    """An image content block from a ``data:image/...;base64,`` URI or an ``http(s)://`` URL.

    Raises:
        BadRequestError: a data URI that is not base64 data of a supported image type, or another
            URL scheme.
    """
    if url.startswith("data:"):
        header, comma, data = url[len("data:") :].partition(",")
        media_type, *parameters = header.split(";")
        if not comma or not data or "base64" not in parameters:
            raise BadRequestError(
                "image data URI must be data:image/<type>;base64,<data>", provider=_PROVIDER
            )
        if media_type not in IMAGE_MEDIA_TYPES:
            raise BadRequestError(f"image type {media_type!r} is not supported", provider=_PROVIDER)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise BadRequestError("image URL must be https:// or a base64 data URI", provider=_PROVIDER)


def document_block(part: FilePart) -> dict[str, Any] | None:
    """A ``document`` block for an inline PDF or plain-text file, or None for any other file."""
    file = inline_file(part)
    if file is None or file.media_type not in DOCUMENT_MEDIA_TYPES:
        return None
    if file.media_type == "text/plain":
        text = file.content().decode("utf-8", errors="replace")
        source: dict[str, Any] = {"type": "text", "media_type": "text/plain", "data": text}
    else:
        source = {"type": "base64", "media_type": file.media_type, "data": file.data}
    block: dict[str, Any] = {"type": "document", "source": source}
    if file.filename:
        block["title"] = file.filename
    return block


def _arguments(arguments: str) -> dict[str, Any]:
    """Tool-call arguments as the object ``tool_use.input`` needs; anything else is kept, wrapped."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {"_raw_arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw_arguments": arguments}


def tools(request: ChatRequest) -> list[dict[str, Any]]:
    """The tools offered this turn as Anthropic tools (``name``, ``description``, ``input_schema``)."""
    result: list[dict[str, Any]] = []
    for tool in request.tool_use.tools:
        function = tool.function
        entry: dict[str, Any] = {"name": function.name}
        if function.description:
            entry["description"] = function.description
        entry["input_schema"] = function.parameters or {"type": "object", "properties": {}}
        result.append(entry)
    return result


def tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    """Anthropic's ``tool_choice`` (``auto``/``any``/``tool``/``none``), or None to leave the default.

    ``parallel_tool_calls: false`` becomes ``disable_parallel_tool_use: true``.
    """
    use = request.tool_use
    result: dict[str, Any] | None
    if use.name is not None:
        result = {"type": "tool", "name": use.name}
    elif use.mode == "required":
        result = {"type": "any"}
    elif use.mode == "auto":
        result = {"type": "auto"}
    elif use.mode == "none":
        return {"type": "none"}
    else:
        result = None
    if request.parallel_tool_calls is False:
        result = {**(result or {"type": "auto"}), "disable_parallel_tool_use": True}
    return result
