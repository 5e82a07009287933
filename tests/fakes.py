"""Fakes for execution tests: a clock that only moves when told, and providers that follow a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from modelrouter.checks.types import GuardrailVerdict
from modelrouter.local.samples import sample_instance
from modelrouter.policy import BedrockGuardrailCheck, ProviderKind
from modelrouter.providers.errors import ProviderError, ProviderTimeoutError
from modelrouter.providers.types import (
    ProviderCall,
    ProviderResult,
    ResultToolCall,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)


class FakeClock:
    """Monotonic time that advances only on ``sleep`` and ``advance``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.time += seconds


def answer(content: str | None = "ok", **fields: Any) -> ProviderResult:
    """A provider result with sensible usage."""
    fields.setdefault("usage", Usage(input_tokens=100, output_tokens=20))
    fields.setdefault("reported_model", "fake-model-v1")
    return ProviderResult(content=content, **fields)


HANG = "hang"
"""Script step: use up the whole timeout, then time out (what a real adapter does on a silent server)."""


@dataclass(frozen=True)
class Streamed:
    """Script step of a streamed call: text pieces (and tool call fragments), then the ending.

    With ``error``, the stream raises it after ``fail_after`` pieces (0: before the first event);
    ``usage=None`` is a provider that reports no usage; ``terminal=False`` ends without ``StreamEnd``.
    """

    pieces: tuple[str, ...] = ("Hello", ", ", "world", ".")
    error: ProviderError | None = None
    fail_after: int = 0
    usage: Usage | None = field(default_factory=lambda: Usage(input_tokens=100, output_tokens=20))
    finish_reason: str = "stop"
    tool_calls: tuple[ToolCallDelta, ...] = ()
    terminal: bool = True


Step = ProviderResult | ProviderError | str | Streamed | Callable[[ProviderCall], ProviderResult]


@dataclass
class ScriptedProvider:
    """Answers each model's calls from that model's script, in order; the last step repeats."""

    kind: ProviderKind
    clock: FakeClock
    scripts: dict[str, list[Step]]
    latency_s: float = 0.05
    calls: list[ProviderCall] = field(default_factory=list)
    closed_streams: list[str] = field(default_factory=list)
    """Models whose stream was closed before it ended (the caller stopped reading)."""
    piece_latency_s: float = 0.01
    streams: list[Iterator[StreamEvent]] = field(default_factory=list)

    def _next_step(self, call: ProviderCall) -> Step:
        self.calls.append(call)
        script = self.scripts[call.model.id]
        return script.pop(0) if len(script) > 1 else script[0]

    def stream(self, call: ProviderCall) -> Iterator[StreamEvent]:
        """Stream a script step: a ``Streamed`` as scripted, an answer in pieces, an error at once.

        The generator is kept (``streams``), so only an explicit ``close()`` ends it early, never
        garbage collection."""
        events = self._stream(call)
        self.streams.append(events)
        return events

    def _stream(self, call: ProviderCall) -> Iterator[StreamEvent]:
        step = self._next_step(call)
        if step == HANG:
            self.clock.advance(call.first_byte_timeout_s or call.timeout_s)
            raise ProviderTimeoutError("no first byte", provider=self.kind.value)
        self.clock.advance(min(self.latency_s, call.timeout_s))
        if isinstance(step, ProviderError):
            raise step
        if isinstance(step, ProviderResult):
            text = step.content or ""
            step = Streamed(pieces=tuple(text[i : i + 8] for i in range(0, len(text), 8)), usage=step.usage)
        assert isinstance(step, Streamed)
        ended = False
        try:
            for number, piece in enumerate(step.pieces):
                if step.error is not None and number == step.fail_after:
                    raise step.error
                self.clock.advance(self.piece_latency_s)
                yield TextDelta(piece)
            if step.error is not None and step.fail_after >= len(step.pieces):
                raise step.error
            yield from step.tool_calls
            ended = True
            if step.terminal:
                yield StreamEnd(step.finish_reason, step.usage, reported_model="fake-model-v1")  # type: ignore[arg-type]
        finally:
            if not ended:
                self.closed_streams.append(call.model.id)

    def complete(self, call: ProviderCall) -> ProviderResult:
        step = self._next_step(call)
        if step == HANG:
            self.clock.advance(call.timeout_s)
            raise ProviderTimeoutError(f"no answer within {call.timeout_s:.2f} s", provider=self.kind.value)
        self.clock.advance(min(self.latency_s, call.timeout_s))
        if isinstance(step, ProviderError):
            raise step
        if isinstance(step, ProviderResult):
            return step
        assert not isinstance(step, Streamed)
        assert callable(step)
        return step(call)

    def calls_to(self, model_id: str) -> int:
        return sum(1 for call in self.calls if call.model.id == model_id)


@dataclass
class FakeGuardrail:
    """A guardrail service that intervenes when the text contains a trigger, or always fails."""

    trigger: str = "forbidden"
    error: ProviderError | None = None
    seen: list[str] = field(default_factory=list)

    def apply(self, check: BedrockGuardrailCheck, text: str, timeout_s: float) -> GuardrailVerdict:
        self.seen.append(text)
        if self.error is not None:
            raise self.error
        if self.trigger in text:
            return GuardrailVerdict(intervened=True, detail="content policy: VIOLENCE")
        return GuardrailVerdict(intervened=False, detail="")


@dataclass
class EchoProvider:
    """A thread-safe provider that answers what each request asks for: JSON for schema requests, a tool
    call when tools are offered, text otherwise. Models in ``failing`` raise that error."""

    kind: ProviderKind
    failing: dict[str, ProviderError] = field(default_factory=dict)
    calls: list[ProviderCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def complete(self, call: ProviderCall) -> ProviderResult:
        with self.lock:
            self.calls.append(call)
        if call.model.id in self.failing:
            raise self.failing[call.model.id]
        request = call.request
        usage = Usage(input_tokens=120, output_tokens=30)
        reported = f"{call.model.model_id}"
        if request.json_schema is not None:
            return answer(
                json.dumps(sample_instance(request.json_schema)), usage=usage, reported_model=reported
            )
        if request.tools:
            tool = request.tools[0].function
            arguments = json.dumps(sample_instance(tool.parameters or {"type": "object"}))
            tool_call = ResultToolCall(id=f"call_{len(self.calls)}", name=tool.name, arguments=arguments)
            return answer(
                None,
                tool_calls=(tool_call,),
                finish_reason="tool_calls",
                usage=usage,
                reported_model=reported,
            )
        return answer(f"Answer from {call.model.id}.", usage=usage, reported_model=reported)

    def stream(self, call: ProviderCall) -> Iterator[StreamEvent]:
        """The same answer as :meth:`complete`, streamed: text in pieces, each tool call in two."""
        result = self.complete(call)
        text = result.content or ""
        for start in range(0, len(text), 6):
            yield TextDelta(text[start : start + 6])
        for index, tool in enumerate(result.tool_calls):
            yield ToolCallDelta(index, tool.id, tool.name, "")
            yield ToolCallDelta(index, None, None, tool.arguments)
        yield StreamEnd(result.finish_reason, result.usage, reported_model=result.reported_model)

    def calls_to(self, model_id: str) -> int:
        with self.lock:
            return sum(1 for call in self.calls if call.model.id == model_id)


class ListEmitter:
    """Keeps the X-Ray segment documents a recorder would send to the daemon."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    def send(self, document: dict[str, Any]) -> None:
        """Keep ``document``."""
        self.documents.append(document)
