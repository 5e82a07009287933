"""Streamed answers of the simulated models: content blocks cut into pieces, paced like a real model.

Every profile has a time to first token (its ``latency_base_ms``) and a pace (``latency_per_token_ms``,
i.e. ``1000 / latency_per_token_ms`` tokens per second), both multiplied by the server's
``latency_scale`` (0: everything at once). A stream waits the time to first token, then sends pieces of
:data:`PIECE_TOKENS` tokens each, waiting each piece's tokens at the pace before it, so a streamed
answer takes as long as the same answer unstreamed, and its text is that answer's text. Deterministic:
the same request streams the same pieces with the same waits.

:func:`paced` drives a protocol's :class:`StreamEncoder` (OpenAI, Anthropic, Bedrock; see
:mod:`modelrouter.local.model_stream_wire`) and applies the stream faults: ``stream_cut`` ends the
connection after half the pieces without a terminal event (:class:`StreamCutError`), ``stream_error`` sends
the protocol's error event there instead of the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from modelrouter.local.models import CHARS_PER_TOKEN, ModelProfile, count_tokens

__all__ = [
    "PIECE_TOKENS",
    "Pace",
    "StreamBlock",
    "StreamCutError",
    "StreamEncoder",
    "StreamFault",
    "paced",
    "pieces",
]

PIECE_TOKENS = 3
"""Tokens per streamed piece (a few, as real models send)."""
StreamFault = Literal["stream_cut", "stream_error"]
"""A failure in the middle of a stream."""
Wait = Callable[[float], bool]
"""Wait some seconds; True when the stream must stop at once (the server is stopping)."""


class StreamCutError(Exception):
    """The connection is to be closed now, without the stream's terminal event (``stream_cut``)."""


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast a model streams, latency scale applied."""

    first_token_s: float
    """Seconds before the first piece."""
    token_s: float
    """Seconds per token after that."""

    @classmethod
    def of(cls, profile: ModelProfile, scale: float) -> Pace:
        """The pace of ``profile`` with its latencies multiplied by ``scale`` (≤ 0: no waiting)."""
        factor = max(0.0, scale) / 1000
        return cls(profile.latency_base_ms * factor, profile.latency_per_token_ms * factor)


@dataclass(frozen=True, slots=True)
class StreamBlock:
    """One content block of an answer: text, or a tool use whose input JSON text is streamed."""

    kind: Literal["text", "tool_use"]
    """What the block holds."""
    text: str
    """The text, or the tool input's JSON text."""
    tool_id: str = ""
    """Tool use id (tool use only)."""
    name: str = ""
    """Tool name (tool use only)."""


class StreamEncoder(Protocol):
    """One wire protocol's stream: the bytes of each step (empty bytes: nothing to send)."""

    def opening(self) -> bytes:
        """Before the first block (OpenAI's role chunk, ``message_start``, ``messageStart``)."""
        ...

    def block_start(self, index: int, block: StreamBlock) -> bytes:
        """A block begins."""
        ...

    def delta(self, index: int, block: StreamBlock, piece: str) -> bytes:
        """A piece of a block."""
        ...

    def block_stop(self, index: int, block: StreamBlock) -> bytes:
        """A block ends."""
        ...

    def closing(self) -> bytes:
        """After the last block: finish reason, usage, terminal event."""
        ...

    def error_event(self) -> bytes:
        """The protocol's error event in the middle of a stream."""
        ...


def pieces(text: str) -> list[str]:
    """``text`` cut into pieces of :data:`PIECE_TOKENS` tokens (none for empty text)."""
    size = PIECE_TOKENS * CHARS_PER_TOKEN
    return [text[start : start + size] for start in range(0, len(text), size)]


def paced(
    encoder: StreamEncoder,
    blocks: Sequence[StreamBlock],
    pace: Pace,
    wait: Wait,
    fault: StreamFault | None = None,
) -> Iterator[bytes]:
    """The stream's chunks, each yielded when it is due (empty ones are skipped).

    Raises:
        StreamCutError: with ``stream_cut``, after half the pieces.
    """
    total = sum(len(pieces(block.text)) for block in blocks)
    fail_at = total // 2 if fault is not None else -1
    if wait(pace.first_token_s):
        return
    sent = 0
    steps: list[bytes] = [encoder.opening()]
    for index, block in enumerate(blocks):
        steps.append(encoder.block_start(index, block))
        for piece in pieces(block.text):
            if sent == fail_at:
                yield from _failed(steps, encoder, fault)
                return
            if sent and wait(pace.token_s * count_tokens(len(piece))):
                return
            steps.append(encoder.delta(index, block, piece))
            yield from _flushed(steps)
            sent += 1
        steps.append(encoder.block_stop(index, block))
    if sent == fail_at:  # an answer without pieces fails where its first piece would be
        yield from _failed(steps, encoder, fault)
        return
    steps.append(encoder.closing())
    yield from _flushed(steps)


def _flushed(steps: list[bytes]) -> Iterator[bytes]:
    """The pending steps as one chunk (a piece goes out with the block start before it)."""
    chunk = b"".join(steps)
    steps.clear()
    if chunk:
        yield chunk


def _failed(steps: list[bytes], encoder: StreamEncoder, fault: StreamFault | None) -> Iterator[bytes]:
    yield from _flushed(steps)
    if fault == "stream_cut":
        raise StreamCutError
    yield encoder.error_event()
