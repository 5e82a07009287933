"""Fakes for execution tests: a clock that only moves when told, and providers that follow a script."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelrouter.checks.types import GuardrailVerdict
from modelrouter.policy import BedrockGuardrailCheck, ProviderKind
from modelrouter.providers.errors import ProviderError, ProviderTimeoutError
from modelrouter.providers.types import ProviderCall, ProviderResult, Usage


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
