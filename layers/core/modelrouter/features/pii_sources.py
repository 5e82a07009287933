"""Every string of a request that reaches a model, besides the messages' scanned text, with its place.

A model reads more than the messages: the tools offered (names, descriptions and every string of their
parameter schemas, keys included), the answer's JSON Schema (its name, description and every string in
it: ``const``, ``enum``, ``description``, ``default``, ``examples`` …), the ``stop`` sequences, and in the
messages the participant ``name``, a refusal, tool call ids and names, and image URLs. Whole numbers in
a schema (``"const": 4111111111111111``) are read too, as their digits. ``metadata`` and ``user`` are
not sent to a model and are left out.

Schemas are walked with an explicit stack, so a document nested 10,000 deep costs time in proportion
to its size and never a ``RecursionError``. A place is kept as a chain of ``(parent, segment)`` pairs
and only spelled out for a finding, so a deep schema does not build a long path for every string.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

from modelrouter.request import (
    AssistantMessage,
    ChatRequest,
    ImagePart,
    NamedToolChoice,
    ResponseFormatJsonSchema,
    ToolMessage,
)

__all__ = ["Piece", "Place", "place_name", "request_pieces"]

Place: TypeAlias = str | tuple["Place", str]
"""Where a string is: a root path, or a place and one more segment (``.description``, ``[2]``)."""

# JSON Schema keywords are spelled out in a place; every other key (a property name) shows as "*".
_KEYWORDS = frozenset(
    str.split(
        "$anchor $comment $defs $dynamicRef $id $ref $schema additionalItems additionalProperties allOf "
        "anyOf const contains contentEncoding contentMediaType default definitions dependentRequired "
        "dependentSchemas deprecated description else enum examples exclusiveMaximum exclusiveMinimum format "
        "if items maxItems maxLength maxProperties maximum minItems minLength minProperties minimum "
        "multipleOf not oneOf pattern patternProperties prefixItems properties propertyNames readOnly "
        "required then title type unevaluatedItems unevaluatedProperties uniqueItems writeOnly"
    )
)
_MAX_SEGMENTS = 12
_MAX_NUMBER_BITS = 80
"""Whole numbers longer than this (about 24 digits) are no card, phone or account number."""


@dataclass(frozen=True, slots=True)
class Piece:
    """One string a model reads, and where it is."""

    message_index: int | None
    """The message it belongs to, or None outside the messages."""
    place: Place
    """Where it is; :func:`place_name` spells it out."""
    text: str
    """The string."""


def place_name(place: Place) -> str:
    """The place as a path (``tools[0].function.parameters.properties.*.description``); very deep places
    keep their first and last segments around an ellipsis."""
    segments: list[str] = []
    while isinstance(place, tuple):
        place, segment = place
        segments.append(segment)
    segments.append(place)
    segments.reverse()
    if len(segments) > _MAX_SEGMENTS:
        tail = segments[-(_MAX_SEGMENTS // 2) :]
        while len(tail) > 1 and tail[0].startswith("["):  # resume at a key: ".…".anyOf[0], not ".…"[0]
            tail.pop(0)
        segments = [*segments[: _MAX_SEGMENTS // 2], ".…", *tail]
    return "".join(segments)


def request_pieces(request: ChatRequest) -> Iterator[Piece]:
    """Every string of ``request`` a model reads, except each message's scanned text, in request order."""
    for index, message in enumerate(request.messages):
        yield from _message_pieces(index, message)
    for number, tool in enumerate(request.tools or ()):
        root = f"tools[{number}].function"
        yield Piece(None, f"{root}.name", tool.function.name)
        if tool.function.description is not None:
            yield Piece(None, f"{root}.description", tool.function.description)
        if tool.function.parameters is not None:
            yield from _json_pieces(tool.function.parameters, f"{root}.parameters")
    if isinstance(request.tool_choice, NamedToolChoice):
        yield Piece(None, "tool_choice.function.name", request.tool_choice.function.name)
    if isinstance(request.response_format, ResponseFormatJsonSchema):
        spec = request.response_format.json_schema
        yield Piece(None, "response_format.json_schema.name", spec.name)
        if spec.description is not None:
            yield Piece(None, "response_format.json_schema.description", spec.description)
        if spec.json_schema is not None:
            yield from _json_pieces(spec.json_schema, "response_format.json_schema.schema")
    if isinstance(request.stop, str):
        yield Piece(None, "stop", request.stop)
    elif request.stop:
        for number, stop in enumerate(request.stop):
            yield Piece(None, f"stop[{number}]", stop)


def _message_pieces(index: int, message: Any) -> Iterator[Piece]:
    root = f"messages[{index}]"
    if message.name is not None:
        yield Piece(index, f"{root}.name", message.name)
    if isinstance(message, AssistantMessage):
        if message.refusal is not None:
            yield Piece(index, f"{root}.refusal", message.refusal)
        for number, call in enumerate(message.tool_calls or ()):
            yield Piece(index, f"{root}.tool_calls[{number}].id", call.id)
            yield Piece(index, f"{root}.tool_calls[{number}].function.name", call.function.name)
    elif isinstance(message, ToolMessage):
        yield Piece(index, f"{root}.tool_call_id", message.tool_call_id)
    content = getattr(message, "content", None)
    if isinstance(content, list):
        for number, part in enumerate(content):
            if isinstance(part, ImagePart) and not part.image_url.url.startswith("data:"):
                yield Piece(index, f"{root}.content[{number}].image_url.url", part.image_url.url)


def _json_pieces(document: Any, root: str) -> Iterator[Piece]:
    """Every string (keys included) and whole number in a JSON document, in document order."""
    stack: list[tuple[Any, Place]] = [(document, root)]
    while stack:
        value, place = stack.pop()
        if isinstance(value, str):
            yield Piece(None, place, value)
        elif isinstance(value, dict):
            children: list[tuple[Any, Place]] = []
            for key, item in value.items():
                name = str(key)
                children.append((name, (place, ".<key>")))  # a key is read just before its value
                children.append((item, (place, f".{name}" if name in _KEYWORDS else ".*")))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend((value[number], (place, f"[{number}]")) for number in reversed(range(len(value))))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and value.bit_length() <= _MAX_NUMBER_BITS:
            yield Piece(None, place, str(value))
        elif isinstance(value, float) and value.is_integer() and abs(value) < 2.0**_MAX_NUMBER_BITS:
            yield Piece(None, place, str(int(value)))
