"""Which fields a chat request uses, by name: what a provider may honour, drop, or not know.

A request's *used fields* are its top-level fields set to something other than ``null`` or OpenAI's
own default (``logprobs: false`` and ``store: false`` ask for nothing), plus a few parts of messages
and tools named as dotted paths (``messages.content.input_audio``, ``tools.custom.format`` …, see
:data:`PART_FIELDS`). :data:`ROUTER_FIELDS` are honoured by the router itself for every model (the
model, the conversation, streaming, answer formats and tools); each provider declares which of the
others it receives or maps (``HONOURED_FIELDS`` next to its mapping), and
:func:`modelrouter.providers.fields.ignored_fields` reports the rest in ``router.ignored_fields``.

:func:`metadata_near_misses` names ``metadata`` keys that look like a routing key the router reads
(``metadata.classification`` for ``data_classification``; the keys are ``selection.context``'s
``ROUTING_METADATA_KEYS``) without being one; other free keys are
fine and not reported.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from modelrouter.request import ChatRequest
from modelrouter.request_messages import AssistantMessage, DeveloperMessage, SystemMessage, UserMessage
from modelrouter.request_parts import FilePart, ImagePart, InputAudioPart, RefusalPart
from modelrouter.request_tools import CustomFormatGrammar, CustomTool
from modelrouter.selection.context import ROUTING_METADATA_KEYS

__all__ = [
    "COMMON_FIELDS",
    "PART_FIELDS",
    "ROUTER_FIELDS",
    "ROUTING_METADATA_KEYS",
    "metadata_near_misses",
    "used_fields",
]

ROUTER_FIELDS: Final = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "n",
        "metadata",
        "max_tokens",
        "max_completion_tokens",
        "response_format",
        "tools",
        "tool_choice",
        "functions",
        "function_call",
    }
)
"""Fields the router honours for every model: routing, streaming, answer formats (checked by the
router), tools (each provider maps them) and the deprecated function fields (turned into tools)."""

PART_FIELDS: Final = frozenset(
    {
        "messages.name",
        "messages.audio",
        "messages.refusal",
        "messages.content.input_audio",
        "messages.content.file",
        "messages.content.prompt_cache_breakpoint",
        "messages.content.image_url.detail",
        "tools.custom",
        "tools.custom.format",
        "stream_options.include_obfuscation",
    }
)
"""Parts of messages, tools and options that not every provider can take, named as dotted paths."""

COMMON_FIELDS: Final = frozenset(
    {
        "temperature",
        "top_p",
        "stop",
        "reasoning_effort",
        "service_tier",
        "user",
        "safety_identifier",
        "messages.content.file",
        "tools.custom",
    }
)
"""Fields every built-in provider receives or maps (a call may still drop one: each provider's
``dropped_fields`` says when)."""

_NEUTRAL: Final[Mapping[str, object]] = {
    "logprobs": False,
    "store": False,
    "modalities": ["text"],
    "service_tier": "auto",
    "parallel_tool_calls": True,
    "verbosity": "medium",
}
"""Values that ask for OpenAI's default behaviour: sent or not, nothing changes."""

_unset: Final = object()

_SIMILAR = 0.8
"""How close (difflib's ratio) a metadata key must be to a routing key to count as a near miss."""
_SEPARATORS = re.compile(r"[\s.\-]+")


def used_fields(request: ChatRequest) -> frozenset[str]:
    """The fields ``request`` uses: top-level fields set to a non-default value, and part fields."""
    top = {
        name
        for name in request.sent_fields
        if (value := getattr(request, name)) is not None and _NEUTRAL.get(name, _unset) != value
    }
    return frozenset(top | set(_part_fields(request)))


def _part_fields(request: ChatRequest) -> Iterator[str]:
    for message in request.messages:
        if (
            isinstance(message, SystemMessage | DeveloperMessage | UserMessage | AssistantMessage)
            and message.name
        ):
            yield "messages.name"
        if isinstance(message, AssistantMessage):
            if message.audio is not None:
                yield "messages.audio"
            if message.refusal or _has(message.content, RefusalPart):
                yield "messages.refusal"
        content: Any = getattr(message, "content", None)
        if not isinstance(content, list):
            continue
        for part in content:
            if getattr(part, "prompt_cache_breakpoint", None) is not None:
                yield "messages.content.prompt_cache_breakpoint"
            if isinstance(part, InputAudioPart):
                yield "messages.content.input_audio"
            elif isinstance(part, FilePart):
                yield "messages.content.file"
            elif isinstance(part, ImagePart) and part.image_url.detail != "auto":
                yield "messages.content.image_url.detail"
    for tool in request.tools or ():
        if isinstance(tool, CustomTool):
            yield "tools.custom"
            if isinstance(tool.custom.format, CustomFormatGrammar):
                yield "tools.custom.format"
    if request.stream_options is not None and request.stream_options.include_obfuscation:
        yield "stream_options.include_obfuscation"


def _has(content: object, kind: type) -> bool:
    return isinstance(content, list) and any(isinstance(part, kind) for part in content)


def metadata_near_misses(metadata: Mapping[str, str] | None) -> list[str]:
    """``metadata`` keys that look like a routing key but are not one, each as
    ``metadata.<key> (did you mean metadata.<routing key>?)``."""
    misses = []
    for key in sorted(metadata or {}):
        if key in ROUTING_METADATA_KEYS:
            continue
        meant = _meant(key)
        if meant is not None:
            misses.append(f"metadata.{key} (did you mean metadata.{meant}?)")
    return misses


def _meant(key: str) -> str | None:
    """The routing key ``key`` was probably meant to be: the same once case and separators are
    normalized, its last word (``classification``), or a close spelling."""
    normalized = _SEPARATORS.sub("_", key.strip().lower())
    for routing_key in ROUTING_METADATA_KEYS:
        if normalized in (routing_key, routing_key.replace("_", ""), routing_key.rsplit("_", 1)[-1]):
            return routing_key
    close = difflib.get_close_matches(normalized, ROUTING_METADATA_KEYS, n=1, cutoff=_SIMILAR)
    return close[0] if close else None
