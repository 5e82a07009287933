"""The tool-use blocks of an answer, for providers that answer in content blocks; pure.

Anthropic and Bedrock stream an answer as numbered content blocks. Tool calls are numbered among the
tool-use blocks only (text and thinking blocks do not count), and the forced tool that carries a
JSON-schema answer is not a tool call at all: its input is the answer text.

Neither has custom tools: they are offered as functions of one string, ``input``
(:attr:`~modelrouter.request_tools.CustomTool.function`). A call of one is turned back into a custom
call whose input is that string: :func:`custom_call` for a whole answer; in a stream, the call's
input is held back until its block ends and then sent whole.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import replace

from modelrouter.providers.types import ResultToolCall, StreamEvent, TextDelta, ToolCallDelta
from modelrouter.request_tools import CUSTOM_INPUT_KEY

__all__ = ["EMPTY_INPUT", "ToolBlocks", "custom_call", "custom_input"]

EMPTY_INPUT = "{}"
"""The arguments of a tool call whose input never streamed (a complete answer's ``{}``)."""

_ANSWER = -1
"""Marks the answer tool's block among the tool call indexes."""


class ToolBlocks:
    """Maps content block numbers to tool call indexes, and the answer tool's input to text."""

    def __init__(self, answer_tool: str | None, custom_tools: Collection[str] = ()) -> None:
        """``answer_tool`` names the forced tool whose input is the answer (None: there is none);
        ``custom_tools`` names the request's custom tools."""
        self._answer_tool = answer_tool
        self._custom_tools = frozenset(custom_tools)
        self._slots: dict[int, int] = {}
        self._streamed: set[int] = set()
        self._held: dict[int, list[str]] = {}
        self.calls = 0
        """Tool calls started so far (the answer tool not counted)."""

    @property
    def answered(self) -> bool:
        """Whether the answer tool was used."""
        return _ANSWER in self._slots.values()

    def start(self, block: int, call_id: str, name: str) -> list[StreamEvent]:
        """A tool-use block starts: the call's first :class:`ToolCallDelta` (none for the answer tool)."""
        if name == self._answer_tool and not self.answered:
            self._slots[block] = _ANSWER
            return []
        self._slots[block] = self.calls
        self.calls += 1
        if name in self._custom_tools:
            self._held[block] = []
            return [ToolCallDelta(self._slots[block], call_id, name, "", kind="custom")]
        return [ToolCallDelta(self._slots[block], call_id, name, "")]

    def fragment(self, block: int, text: str) -> list[StreamEvent]:
        """A fragment of a tool-use block's input: arguments, or answer text (nothing for other blocks)."""
        slot = self._slots.get(block)
        if slot is None or not text:
            return []
        self._streamed.add(block)
        if block in self._held:
            self._held[block].append(text)
            return []
        return [TextDelta(text) if slot == _ANSWER else ToolCallDelta(slot, None, None, text)]

    def stop(self, block: int) -> list[StreamEvent]:
        """A block ends: a tool-use block whose input never streamed gets :data:`EMPTY_INPUT`; a custom
        tool's call gets its input, whole."""
        if block in self._held:
            held = "".join(self._held.pop(block)) or EMPTY_INPUT
            return [ToolCallDelta(self._slots[block], None, None, custom_input(held), kind="custom")]
        if block in self._streamed:
            return []
        return self.fragment(block, EMPTY_INPUT)


def custom_input(arguments: str) -> str:
    """A custom tool's input from the JSON arguments of its function form (``{"input": "…"}``); the
    arguments themselves when they are not that."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    value = parsed.get(CUSTOM_INPUT_KEY) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else arguments


def custom_call(call: ResultToolCall, custom_tools: Collection[str]) -> ResultToolCall:
    """``call`` as a custom tool's call when it calls one of ``custom_tools``; else unchanged."""
    if call.name not in custom_tools:
        return call
    return replace(call, arguments=custom_input(call.arguments), kind="custom")
