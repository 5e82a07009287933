"""How decisions are executed: retries, backoff, deadlines, cooldowns and concurrency caps."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from modelrouter import timeouts
from modelrouter.policy.common import StrictModel

__all__ = ["Cooldown", "Execution"]


class Cooldown(StrictModel):
    """Per-model circuit breaker: open after ``failures`` in ``window_s``, probe again after ``pause_s``."""

    failures: int = Field(default=3, ge=1, le=100)
    """Retryable failures within the window that open the breaker."""
    window_s: float = Field(default=60.0, gt=0)
    """The window failures are counted in, in seconds."""
    pause_s: float = Field(default=30.0, gt=0)
    """How long an open breaker skips the model before one probe request may try it."""


class Execution(StrictModel):
    """Retry and deadline settings for every route."""

    max_attempts_per_model: int = Field(default=2, ge=1, le=5)
    """Calls to one model per request, retries and JSON repairs included."""
    max_total_attempts: int = Field(default=6, ge=1, le=20)
    """Calls per request across all candidates."""
    backoff_base_ms: int = Field(default=timeouts.BACKOFF_BASE_MS, ge=0)
    """First retry waits up to this long (full jitter); each further retry doubles it."""
    backoff_max_ms: int = Field(default=timeouts.BACKOFF_MAX_MS, ge=0)
    """No single backoff waits longer (a longer ``Retry-After`` moves on to the next candidate)."""
    min_attempt_ms: int = Field(default=timeouts.MIN_ATTEMPT_MS, ge=1)
    """No attempt starts with less time left than this before the deadline."""
    default_deadline_ms: int = Field(default=timeouts.DEFAULT_DEADLINE_MS, ge=100)
    """Deadline of routes without ``limits.latency_budget_ms``."""
    attempt_timeout_ms: int | None = Field(default=None, ge=100)
    """Longest one model call may take (routes and models may override it); unset: the time left
    shared among the candidates left, at most three shares."""
    first_byte_timeout_ms: int | None = Field(default=None, ge=100)
    """Longest wait for a provider's first byte (and between bytes) before a call counts as hung."""
    default_max_tokens: int | None = Field(default=None, ge=1)
    """``max_tokens`` for requests that set none, on routes without their own ``default_max_tokens``."""
    lambda_safety_margin_ms: int = Field(default=1_000, ge=0)
    """Time kept back from the Lambda's remaining time to answer and record provenance."""
    max_concurrency_per_provider: int = Field(default=32, ge=1)
    """Calls in flight at once to one provider endpoint, per container."""
    cooldown: Cooldown = Field(default_factory=Cooldown)
    """Per-model circuit breaker."""
    budget_reserve_calls: int = Field(default=2, ge=1, le=10)
    """A request reserves this many worst-case calls of its costliest candidate; execution never spends
    more than it reserved, so settling can never push a tenant past its limit."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_total_attempts < self.max_attempts_per_model:
            raise ValueError("max_total_attempts must be at least max_attempts_per_model")
        if self.backoff_max_ms < self.backoff_base_ms:
            raise ValueError("backoff_max_ms must be at least backoff_base_ms")
        return self
