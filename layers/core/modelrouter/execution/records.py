"""What execution leaves behind: one record per attempt, the final result, and typed failures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from modelrouter.errors import ModelRouterError
from modelrouter.providers.types import ProviderResult

__all__ = [
    "AllCandidatesFailedError",
    "AnswerRejectedError",
    "Attempt",
    "AttemptLog",
    "CheckRecord",
    "DeadlineExceededError",
    "ExecutionCrashedError",
    "ExecutionError",
    "ExecutionResult",
    "ProvidersUnreachableError",
]

AttemptOutcome = Literal["success", "check_failed", "error", "skipped", "cancelled"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckRecord(_Frozen):
    """One check on one answer."""

    name: str
    """Check name."""
    passed: bool
    """Whether the answer passed."""
    action: str
    """What followed: accept, redact, repair, retry, escalate, fail, reject."""
    detail: str
    """What was found (no answer text, no PII values); for a rule, its reason."""
    rule: str | None = None
    """``rules`` check: the rule that fired, or whose expression failed on the answer."""


class Attempt(_Frozen):
    """One call to a model, or a candidate skipped without a call."""

    number: int
    """Position among all attempts of the request, from 1."""
    model: str
    """Catalog model id."""
    provider: str
    """Provider kind."""
    provider_model_id: str
    """The model id sent to the provider."""
    reported_model: str | None = None
    """The model and version the provider reported."""
    started_ms: float
    """Start, in milliseconds after the request started."""
    duration_ms: float
    """How long the attempt took."""
    outcome: AttemptOutcome
    """success, check_failed, error, skipped (no call made), or cancelled (the client went away while
    the answer streamed: the call was stopped and charged for what was generated)."""
    error_code: str | None = None
    """Error class code (``rate_limited``, ``timeout`` …) or skip reason."""
    error_message: str | None = None
    """The error in words (never keys or prompt text)."""
    retryable: bool | None = None
    """Whether the error was retryable."""
    input_tokens: int = 0
    """Uncached prompt tokens."""
    output_tokens: int = 0
    """Answer tokens."""
    cache_read_tokens: int = 0
    """Prompt tokens read from cache."""
    cache_write_tokens: int = 0
    """Prompt tokens written to cache."""
    cost_usd: float = 0.0
    """Cost of this attempt: from reported usage, or from the router's own estimate."""
    usage_estimated: bool = False
    """The provider reported no usage (or the call crashed): tokens and cost are the router's estimate
    of what was sent and received, never zero for a call that may have reached the provider."""
    max_tokens_sent: int | None = None
    """``max_tokens`` sent with the call: the candidate's, clamped to what the reservation still covers."""
    timeout_ms: float | None = None
    """The time the call was given."""
    checks: tuple[CheckRecord, ...] = ()
    """Checks run on this attempt's answer."""
    first_token_ms: float | None = None
    """Streamed calls: when the first token arrived, in milliseconds after the request started."""
    ignored_fields: tuple[str, ...] = ()
    """Request fields this call left out, as the model's provider declares them, and metadata keys
    that look like routing keys without being one (:func:`~modelrouter.providers.fields.ignored_fields`)."""

    @property
    def called(self) -> bool:
        """Whether a provider call was made (skips are not calls)."""
        return self.outcome != "skipped"


class AttemptLog:
    """The attempts of one request, owned by whoever settles it.

    The service creates it and hands it to the executor, so every attempt recorded is still there to
    charge and record however execution ends: an answer, a typed failure, or an exception of any type.
    """

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        """Attempts in order (calls and skips)."""

    @property
    def calls(self) -> int:
        """How many provider calls were made."""
        return sum(1 for attempt in self.attempts if attempt.called)

    @property
    def cost_usd(self) -> float:
        """What the calls cost so far."""
        return sum(attempt.cost_usd for attempt in self.attempts)


class ExecutionResult(_Frozen):
    """The answer that passed its checks, with every attempt that led to it."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    answer: ProviderResult
    """The final answer (redacted where a check redacted it)."""
    model: str
    """The catalog model that answered."""
    attempts: tuple[Attempt, ...]
    """Every attempt, in order."""

    @property
    def cost_usd(self) -> float:
        """Total cost of all attempts."""
        return sum(attempt.cost_usd for attempt in self.attempts)

    @property
    def fallbacks(self) -> int:
        """How many other models were tried (or skipped) before the one that answered."""
        return len({a.model for a in self.attempts if a.model != self.model})


class ExecutionError(ModelRouterError):
    """Execution ended without an answer; ``attempts`` lists everything that was tried."""

    def __init__(self, message: str, attempts: Sequence[Attempt]) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)

    @property
    def cost_usd(self) -> float:
        """What the failed attempts cost (tokens used by answers that were rejected)."""
        return sum(attempt.cost_usd for attempt in self.attempts)


class AllCandidatesFailedError(ExecutionError):
    """Every candidate failed or was skipped."""

    code = "all_candidates_failed"
    http_status = 502
    error_type = "upstream_error"
    expose_message = True


class ProvidersUnreachableError(AllCandidatesFailedError):
    """Every candidate failed, the last because its provider could not be reached (connection refused,
    DNS, TLS, reset before answering): a 502 with its own code, so an outage of the network path is not
    read as a model failure."""

    code = "provider_connection_error"


class DeadlineExceededError(ExecutionError):
    """The request deadline passed before any answer passed its checks."""

    code = "deadline_exceeded"
    http_status = 504
    error_type = "timeout_error"
    expose_message = True


class AnswerRejectedError(ExecutionError):
    """A check rejected an answer and the route says to fail rather than escalate."""

    code = "answer_rejected"
    http_status = 502
    error_type = "upstream_error"
    expose_message = True


class ExecutionCrashedError(ExecutionError):
    """Something unexpected (a bug, not a provider failure) stopped execution; the attempts made so far
    are still charged and recorded. Answered as a generic 500."""

    code = "internal_error"
