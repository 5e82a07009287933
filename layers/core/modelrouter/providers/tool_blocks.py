"""The tool-use blocks of a streamed answer, for providers that stream content blocks; pure.

Anthropic and Bedrock stream an answer as numbered content blocks. Tool calls are numbered among the
tool-use blocks only (text and thinking blocks do not count), and the forced tool that carries a
JSON-schema answer is not a tool call at all: its input is the answer text.
"""

from __future__ import annotations

from modelrouter.providers.types import StreamEvent, TextDelta, ToolCallDelta

__all__ = ["EMPTY_INPUT", "ToolBlocks"]

EMPTY_INPUT = "{}"
"""The arguments of a tool call whose input never streamed (a complete answer's ``{}``)."""

_ANSWER = -1
"""Marks the answer tool's block among the tool call indexes."""


class ToolBlocks:
    """Maps content block numbers to tool call indexes, and the answer tool's input to text."""

    def __init__(self, answer_tool: str | None) -> None:
        """``answer_tool`` names the forced tool whose input is the answer (None: there is none)."""
        self._answer_tool = answer_tool
        self._slots: dict[int, int] = {}
        self._streamed: set[int] = set()
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
        return [ToolCallDelta(self._slots[block], call_id, name, "")]

    def fragment(self, block: int, text: str) -> list[StreamEvent]:
        """A fragment of a tool-use block's input: arguments, or answer text (nothing for other blocks)."""
        slot = self._slots.get(block)
        if slot is None or not text:
            return []
        self._streamed.add(block)
        return [TextDelta(text) if slot == _ANSWER else ToolCallDelta(slot, None, None, text)]

    def stop(self, block: int) -> list[StreamEvent]:
        """A block ends: a tool-use block whose input never streamed gets :data:`EMPTY_INPUT`."""
        if block in self._streamed:
            return []
        return self.fragment(block, EMPTY_INPUT)
