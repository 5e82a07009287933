"""The request deadline: the smaller of the route's latency budget and the Lambda's remaining time."""

from __future__ import annotations

from dataclasses import dataclass

from modelrouter.execution.clock import Clock
from modelrouter.policy.execution import Execution

__all__ = ["Deadline", "request_deadline"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in time on a clock, after which no attempt may run."""

    clock: Clock
    """The clock the deadline is measured on."""
    started_at: float
    """When the request started."""
    expires_at: float
    """When the deadline passes."""

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.expires_at - self.clock.now())

    def elapsed(self) -> float:
        """Seconds since the request started."""
        return self.clock.now() - self.started_at

    @property
    def budget_s(self) -> float:
        """The whole budget in seconds."""
        return self.expires_at - self.started_at


def request_deadline(
    clock: Clock, route_budget_ms: int | None, execution: Execution, lambda_remaining_ms: int | None = None
) -> Deadline:
    """The deadline of a request starting now.

    The budget is the route's ``latency_budget_ms`` (or ``execution.default_deadline_ms``), capped by the
    Lambda's remaining time minus ``execution.lambda_safety_margin_ms`` so there is always time left to
    answer and record provenance.
    """
    budget_ms = float(route_budget_ms if route_budget_ms is not None else execution.default_deadline_ms)
    if lambda_remaining_ms is not None:
        budget_ms = min(budget_ms, lambda_remaining_ms - execution.lambda_safety_margin_ms)
    now = clock.now()
    return Deadline(clock=clock, started_at=now, expires_at=now + max(0.0, budget_ms) / 1000)
