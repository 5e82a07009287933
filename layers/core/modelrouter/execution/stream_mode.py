"""Which way a ``stream: true`` request is sent: token by token, or checked whole and then streamed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from modelrouter.execution.streaming import TextGuard
from modelrouter.policy.check_specs import GuardrailsCheck
from modelrouter.request import ChatRequest
from modelrouter.selection.decision import Decision

__all__ = ["StreamPlan", "plan_stream"]


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """How one streamed request is sent, and why."""

    mode: Literal["validated", "incremental"]
    """``incremental``: forwarded as it arrives; ``validated``: checked whole, then streamed."""
    reason: str
    """Why (recorded in provenance)."""
    guard_for: Callable[[], TextGuard | None]
    """A fresh incremental guard per attempt (None: nothing to check in flight)."""


def _no_guard() -> TextGuard | None:
    return None


def plan_stream(request: ChatRequest, decision: Decision) -> StreamPlan:
    """The streaming plan of a ``stream: true`` request on ``decision``'s route."""
    if request.response_format is not None and request.response_format.type != "text":
        return StreamPlan("validated", "response_format needs the whole answer checked", _no_guard)
    if decision.streaming == "validated":
        return StreamPlan("validated", "route streams validated answers", _no_guard)
    needs = decision.checks.whole_answer_only()
    if needs:
        return StreamPlan("validated", f"whole-answer checks: {', '.join(needs)}", _no_guard)
    guardrails = decision.checks.guardrails
    if guardrails is None:
        return StreamPlan("incremental", f"route streams {decision.streaming}; no text checks", _no_guard)
    return StreamPlan(
        "incremental", f"route streams {decision.streaming}; guardrails in flight", _guard_factory(guardrails)
    )


def _guard_factory(check: GuardrailsCheck) -> Callable[[], TextGuard | None]:
    from modelrouter.checks.incremental import IncrementalGuard

    def fresh() -> TextGuard | None:
        return IncrementalGuard(check)

    return fresh
