"""The X-Ray trace header (``Root=1-…;Parent=…;Sampled=1``) Lambda gives each invocation."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TraceHeader"]

_MAX_HEADER_CHARS = 512
"""A longer value is not a trace header Lambda sent: ignored rather than parsed."""


@dataclass(frozen=True, slots=True)
class TraceHeader:
    """The parts of an invocation's trace header the router needs."""

    root: str
    """The trace id (``1-<8 hex time>-<24 hex>``)."""
    parent: str
    """The id of Lambda's function segment: the parent of the router's subsegments."""
    sampled: bool
    """Whether Lambda sampled the invocation (only sampled invocations are sent)."""

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader | None:
        """The header's parts, or None when it lacks a root or a parent (nothing to attach to)."""
        if not value or len(value) > _MAX_HEADER_CHARS:
            return None
        fields: dict[str, str] = {}
        for part in value.split(";"):
            key, _, item = part.strip().partition("=")
            fields[key.lower()] = item.strip()
        root, parent = fields.get("root", ""), fields.get("parent", "")
        if not root or not parent:
            return None
        return cls(root=root, parent=parent, sampled=fields.get("sampled") == "1")
