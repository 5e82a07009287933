"""Fakes for execution tests: a clock that only moves when told, and providers that follow a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelrouter.checks.types import GuardrailVerdict
from modelrouter.local.samples import sample_instance
from modelrouter.policy import BedrockGuardrailCheck, ProviderKind
from modelrouter.providers.errors import ProviderError, ProviderTimeoutError
from modelrouter.providers.types import ProviderCall, ProviderResult, ResultToolCall, Usage


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

Step = ProviderResult | ProviderError | str | Callable[[ProviderCall], ProviderResult]


@dataclass
class ScriptedProvider:
    """Answers each model's calls from that model's script, in order; the last step repeats."""

    kind: ProviderKind
    clock: FakeClock
    scripts: dict[str, list[Step]]
    latency_s: float = 0.05
    calls: list[ProviderCall] = field(default_factory=list)

    def complete(self, call: ProviderCall) -> ProviderResult:
        self.calls.append(call)
        script = self.scripts[call.model.id]
        step = script.pop(0) if len(script) > 1 else script[0]
        if step == HANG:
            self.clock.advance(call.timeout_s)
            raise ProviderTimeoutError(f"no answer within {call.timeout_s:.2f} s", provider=self.kind.value)
        self.clock.advance(min(self.latency_s, call.timeout_s))
        if isinstance(step, ProviderError):
            raise step
        if isinstance(step, ProviderResult):
            return step
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

    def calls_to(self, model_id: str) -> int:
        with self.lock:
            return sum(1 for call in self.calls if call.model.id == model_id)
