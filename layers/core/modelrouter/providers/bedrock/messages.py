"""OpenAI-shaped messages to Converse's ``system`` and ``messages``: pure functions, no I/O.

Converse differs from Chat Completions in ways that shape this module:

* System and developer messages go to the separate ``system`` list.
* ``messages`` holds only ``user`` and ``assistant`` turns, which must alternate: consecutive turns
  of one role are merged. Tool results are ``toolResult`` blocks in a user turn.
* A user turn may not mix ``toolResult`` blocks with text or images ("Conversation blocks and tool
  result blocks cannot be provided in the same turn"). When a user message follows tool results
  directly, a short assistant turn (:data:`BRIDGE_TEXT`) is put between them so that both rules hold.
* Blank text blocks are rejected, so empty texts (an assistant's ``""`` beside its tool calls) are
  dropped.
* ``toolUse``/``toolResult`` blocks are rejected unless the request has a ``toolConfig``. When none is
  sent (no tools, or ``tool_choice: none``), earlier tool calls and results are rendered as text.
* Images must be inline bytes: only ``data:image/(png|jpeg|gif|webp);base64,`` URIs are accepted.
* Files given inline in a format Converse reads (:data:`DOCUMENT_FORMATS`) become ``document``
  blocks; other files, input audio and refusal parts are left out (reported as ignored fields).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from modelrouter.providers.bedrock.error_mapping import PROVIDER
from modelrouter.providers.documents import document_name, inline_file
from modelrouter.providers.errors import BadRequestError
from modelrouter.request import (
    AssistantMessage,
    DeveloperMessage,
    FilePart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)

__all__ = [
    "BRIDGE_TEXT",
    "DOCUMENT_FORMATS",
    "converse_messages",
    "document_block",
    "image_block",
    "tool_use_id",
]

BRIDGE_TEXT = "(tool results received)"
"""Text of the assistant turn inserted between tool results and a user message that follows them."""
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
"""The file types Converse reads as documents, by media type, with their ``format``."""

Block = dict[str, Any]
Turn = dict[str, Any]

_DATA_URI = re.compile(r"^data:image/(?P<format>[a-zA-Z0-9.+-]+);base64,(?P<data>.*)$", re.DOTALL)
_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_.:-]{1,64}$")


def converse_messages(messages: Sequence[Message], *, tool_blocks: bool) -> tuple[list[Block], list[Turn]]:
    """Split ``messages`` into Converse ``system`` blocks and alternating ``messages`` turns.

    Args:
        messages: The request's messages, in order.
        tool_blocks: Whether the request sends a ``toolConfig``; without one, tool calls and tool
            results are rendered as text, since Converse rejects tool blocks then.

    Raises:
        BadRequestError: an image that is not an inline data URI of a supported format, tool-call
            arguments that are not a JSON object, or no user or assistant message at all.
    """
    system: list[Block] = []
    turns: list[Turn] = []
    for message in messages:
        if isinstance(message, SystemMessage | DeveloperMessage):
            text = message.text()
            if text.strip():
                system.append({"text": text})
            continue
        if isinstance(message, UserMessage):
            _append(turns, "user", _user_blocks(message))
        elif isinstance(message, AssistantMessage):
            _append(turns, "assistant", _assistant_blocks(message, tool_blocks=tool_blocks))
        elif isinstance(message, ToolMessage):
            _append(turns, "user", [_tool_result_block(message, tool_blocks=tool_blocks)])
    if not turns:
        raise BadRequestError("Bedrock needs at least one user or assistant message", provider=PROVIDER)
    return system, turns


def image_block(url: str) -> Block:
    """The Converse ``image`` block for an ``image_url``: only base64 data URIs are supported.

    Raises:
        BadRequestError: an ``http(s)`` URL (Bedrock takes inline images only), another scheme, a
            format Bedrock does not read, or data that is not valid base64.
    """
    if url.startswith(("http://", "https://")):
        raise BadRequestError(
            "Bedrock needs inline images: send a data:image/...;base64 URI instead of an http(s) URL",
            provider=PROVIDER,
        )
    match = _DATA_URI.match(url)
    if match is None:
        raise BadRequestError("image_url must be a data:image/...;base64 URI for Bedrock", provider=PROVIDER)
    image_format = _FORMATS.get(match["format"].lower())
    if image_format is None:
        raise BadRequestError(
            f"Bedrock does not read image/{match['format']} images (png, jpeg, gif and webp only)",
            provider=PROVIDER,
        )
    try:
        data = base64.b64decode(re.sub(r"\s+", "", match["data"]), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError("image data URI is not valid base64", provider=PROVIDER) from None
    if not data:
        raise BadRequestError("image data URI is empty", provider=PROVIDER)
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def tool_use_id(call_id: str) -> str:
    """``call_id`` as a Converse ``toolUseId`` (``[a-zA-Z0-9_.:-]{1,64}``).

    Ids that already fit are kept, so ids Bedrock issued round-trip unchanged; others are replaced
    by a stable digest, the same for a tool call and its result.
    """
    if _TOOL_USE_ID.match(call_id):
        return call_id
    return "tu_" + hashlib.sha256(call_id.encode()).hexdigest()[:32]


def _user_blocks(message: UserMessage) -> list[Block]:
    if isinstance(message.content, str):
        return _text_blocks(message.content)
    blocks: list[Block] = []
    for part in message.content:
        if isinstance(part, TextPart):
            blocks.extend(_text_blocks(part.text))
        elif isinstance(part, ImagePart):
            blocks.append(image_block(part.image_url.url))
        elif isinstance(part, FilePart) and (document := document_block(part)) is not None:
            blocks.append(document)
    return blocks


def document_block(part: FilePart) -> Block | None:
    """The Converse ``document`` block of an inline file of a readable format, else None."""
    file = inline_file(part)
    if file is None or file.media_type not in DOCUMENT_FORMATS:
        return None
    content = file.content()
    if not content:
        return None
    return {
        "document": {
            "format": DOCUMENT_FORMATS[file.media_type],
            "name": document_name(file),
            "source": {"bytes": content},
        }
    }


def _assistant_blocks(message: AssistantMessage, *, tool_blocks: bool) -> list[Block]:
    blocks = _text_blocks(message.text())
    for call in message.tool_calls or ():
        if tool_blocks:
            blocks.append(
                {
                    "toolUse": {
                        "toolUseId": tool_use_id(call.id),
                        "name": call.function.name,
                        "input": _arguments(call.id, call.function.arguments),
                    }
                }
            )
        else:
            blocks.append({"text": f"[tool call {call.id}: {call.function.name}({call.function.arguments})]"})
    return blocks


def _tool_result_block(message: ToolMessage, *, tool_blocks: bool) -> Block:
    text = message.text()
    if not tool_blocks:
        return {"text": f"[tool result {message.tool_call_id}]: {text}"}
    return {
        "toolResult": {
            "toolUseId": tool_use_id(message.tool_call_id),
            "content": [{"text": text}],
            "status": "success",
        }
    }


def _arguments(call_id: str, arguments: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise BadRequestError(
            f"tool call {call_id}: arguments must be a JSON object for Bedrock", provider=PROVIDER
        )
    return parsed


def _text_blocks(text: str) -> list[Block]:
    return [{"text": text}] if text.strip() else []


def _is_tool_result(block: Block) -> bool:
    return "toolResult" in block


def _append(turns: list[Turn], role: str, blocks: list[Block]) -> None:
    """Append ``blocks`` as a ``role`` turn, merging into the previous turn of the same role."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        previous: list[Block] = turns[-1]["content"]
        if role == "assistant" or _is_tool_result(previous[-1]) == _is_tool_result(blocks[0]):
            previous.extend(blocks)
            return
        turns.append({"role": "assistant", "content": [{"text": BRIDGE_TEXT}]})
    turns.append({"role": role, "content": list(blocks)})
