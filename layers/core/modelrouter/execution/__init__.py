"""Executing decisions: retries, deadlines, cooldowns, concurrency caps, checks and attempt records."""

from __future__ import annotations

from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.clock import Clock, SystemClock
from modelrouter.execution.deadline import Deadline, request_deadline
from modelrouter.execution.executor import Executor
from modelrouter.execution.records import (
    AllCandidatesFailedError,
    AnswerRejectedError,
    Attempt,
    CheckRecord,
    DeadlineExceededError,
    ExecutionError,
    ExecutionResult,
    ProvidersUnreachableError,
)

__all__ = [
    "AllCandidatesFailedError",
    "AnswerRejectedError",
    "Attempt",
    "CheckRecord",
    "CircuitBreakers",
    "Clock",
    "Deadline",
    "DeadlineExceededError",
    "ExecutionError",
    "ExecutionResult",
    "Executor",
    "ProvidersUnreachableError",
    "SystemClock",
    "request_deadline",
]
