"""Execute a decision: call candidates in order, retry inside the deadline, check answers, record attempts.

Rules, in the order they apply to each candidate:
- a candidate whose breaker is open, or whose window is no larger than one that already answered
  ``context_too_long``, is skipped (recorded, no call);
- no attempt starts with less than ``min_attempt_ms`` left, and each call gets the time that is left;
- retryable errors are retried on the same model after a full-jitter backoff (``Retry-After`` is a
  floor); a longer wait than ``backoff_max_ms`` or one that would cross the deadline moves on instead;
- other errors move on at once; ``context_too_long`` moves on to a model with a larger window;
- a failed check repairs (same model, errors fed back), escalates (next candidate) or fails, as the
  route's checks say; an answer that failed a check is never returned;
- at most ``max_attempts_per_model`` calls per model and ``max_total_attempts`` per request.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from modelrouter.checks.evaluate import Verdict, evaluate_answer
from modelrouter.checks.json_answer import compile_schema
from modelrouter.checks.types import GuardrailService
from modelrouter.execution.backoff import backoff_delay
from modelrouter.execution.breaker import CircuitBreakers
from modelrouter.execution.clock import Clock, SystemClock
from modelrouter.execution.deadline import Deadline
from modelrouter.execution.limiter import ConcurrencyLimiter
from modelrouter.execution.records import (
    AllCandidatesFailedError,
    AnswerRejectedError,
    Attempt,
    CheckRecord,
    DeadlineExceededError,
    ExecutionResult,
)
from modelrouter.execution.repair import with_repair_turn
from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import ProviderKind
from modelrouter.policy.document import Policy
from modelrouter.pricing import usage_cost_usd
from modelrouter.providers.errors import ContextTooLongError, ProviderError, ProviderTimeoutError
from modelrouter.providers.types import Provider, ProviderCall, ProviderResult
from modelrouter.request import ChatRequest
from modelrouter.selection.decision import Candidate, Decision

__all__ = ["Executor"]


@dataclass
class _Run:
    """Mutable bookkeeping of one request's execution."""

    deadline: Deadline
    spend_limit_usd: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    smallest_too_long_window: int | None = None

    @property
    def calls(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.called)

    @property
    def spent_usd(self) -> float:
        return sum(attempt.cost_usd for attempt in self.attempts)

    def affordable(self, candidate: Candidate) -> bool:
        limit = self.spend_limit_usd
        return limit is None or self.spent_usd + candidate.max_cost_usd <= limit + 1e-12


class Executor:
    """Runs decisions against providers. Create one per container; it keeps breakers and slots."""

    def __init__(
        self,
        providers: dict[ProviderKind, Provider],
        policy: Policy,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        guardrail: GuardrailService | None = None,
    ) -> None:
        self._providers = providers
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._guardrail = guardrail
        self.breakers = CircuitBreakers(policy.execution.cooldown, self._clock)
        """Per-model circuit breakers; pass ``breakers.open_models()`` to the decision's context."""
        self._limiter = ConcurrencyLimiter(policy.execution.max_concurrency_per_provider)
        self._policy = policy

    def use_policy(self, policy: Policy) -> None:
        """Switch to a new policy version (breaker state is kept)."""
        self._policy = policy

    def execute(
        self,
        decision: Decision,
        request: ChatRequest,
        deadline: Deadline,
        spend_limit_usd: float | None = None,
    ) -> ExecutionResult:
        """Run ``decision`` for ``request`` until an answer passes its checks.

        With ``spend_limit_usd`` (what the budget reserved), no call starts whose worst case would take
        the request's spending past the limit.

        Raises:
            InvalidRequestError: the request's JSON Schema is itself invalid (before any call is made).
            AnswerRejectedError: a check failed and the route says ``fail``.
            DeadlineExceededError: the deadline passed first.
            AllCandidatesFailedError: every candidate failed or was skipped.
        """
        if request.json_schema is not None:
            compile_schema(request.json_schema)
        run = _Run(deadline, spend_limit_usd=spend_limit_usd)
        limits = self._policy.execution
        for candidate in decision.candidates:
            if run.calls >= limits.max_total_attempts:
                break
            model = self._policy.model_by_id[candidate.model]
            if self._skip(run, candidate, model):
                continue
            result = self._try_candidate(run, decision, candidate, model, request)
            if result is not None:
                return result
        if run.deadline.remaining() * 1000 < limits.min_attempt_ms:
            raise DeadlineExceededError(
                f"deadline of {run.deadline.budget_s * 1000:.0f} ms passed after {run.calls} attempts",
                run.attempts,
            )
        raise AllCandidatesFailedError(f"all candidates failed after {run.calls} attempts", run.attempts)

    def _skip(self, run: _Run, candidate: Candidate, model: ModelSpec) -> bool:
        reason = None
        if not run.affordable(candidate):
            reason = (
                "over_reservation",
                f"worst case ${candidate.max_cost_usd:.6f} exceeds what is left reserved",
            )
        elif (
            run.smallest_too_long_window is not None and model.context_window <= run.smallest_too_long_window
        ):
            reason = ("context_too_small", f"window {model.context_window} ≤ one that was already too small")
        elif not self.breakers.allow(model.id):
            reason = ("cooling_down", "circuit breaker open")
        if reason is None:
            return False
        run.attempts.append(
            self._record(run, candidate, model, run.deadline.elapsed(), 0.0, outcome="skipped", skip=reason)
        )
        return True

    def _try_candidate(
        self, run: _Run, decision: Decision, candidate: Candidate, model: ModelSpec, request: ChatRequest
    ) -> ExecutionResult | None:
        limits = self._policy.execution
        conversation = request
        tries = repairs = 0
        while tries < limits.max_attempts_per_model and run.calls < limits.max_total_attempts:
            if run.deadline.remaining() * 1000 < limits.min_attempt_ms or not run.affordable(candidate):
                return None
            tries += 1
            started = run.deadline.elapsed()
            try:
                answer = self._call(model, candidate, conversation, run.deadline, decision.request_id)
            except ProviderError as error:
                duration = run.deadline.elapsed() - started
                run.attempts.append(
                    self._record(run, candidate, model, started, duration, outcome="error", error=error)
                )
                if not self._should_retry(run, model, error, tries):
                    return None
                continue
            self.breakers.record_success(model.id)
            duration = run.deadline.elapsed() - started
            verdict = evaluate_answer(
                decision.checks,
                request,
                answer,
                repairs_done=repairs,
                guardrail=self._guardrail,
                guardrail_timeout_s=max(0.1, run.deadline.remaining()),
            )
            outcome = "success" if verdict.action in ("accept", "redact") else "check_failed"
            run.attempts.append(
                self._record(
                    run, candidate, model, started, duration, outcome=outcome, answer=answer, verdict=verdict
                )
            )
            if verdict.action in ("accept", "redact"):
                return ExecutionResult(answer=verdict.answer, model=model.id, attempts=tuple(run.attempts))
            if verdict.action == "fail":
                raise AnswerRejectedError(f"answer from '{model.id}' rejected by checks", run.attempts)
            if verdict.action != "repair":
                return None
            repairs += 1
            conversation = with_repair_turn(conversation, answer, verdict.feedback or "")
        return None

    def _call(
        self,
        model: ModelSpec,
        candidate: Candidate,
        request: ChatRequest,
        deadline: Deadline,
        request_id: str,
    ) -> ProviderResult:
        provider = self._providers.get(model.provider)
        if provider is None:
            raise ProviderError(
                f"no adapter configured for provider '{model.provider}'", provider=model.provider
            )
        with self._limiter.slot(f"{model.provider}:{model.endpoint}", deadline.remaining()):
            # Waiting for a slot used part of the budget: the call gets only what is left.
            left = deadline.remaining()
            if left * 1000 < self._policy.execution.min_attempt_ms:
                raise ProviderTimeoutError(
                    "no time left after waiting for a call slot", provider=model.provider
                )
            return provider.complete(
                ProviderCall(model, request, candidate.max_output_tokens, left, request_id)
            )

    def _should_retry(self, run: _Run, model: ModelSpec, error: ProviderError, tries: int) -> bool:
        limits = self._policy.execution
        if isinstance(error, ContextTooLongError):
            window = model.context_window
            run.smallest_too_long_window = max(window, run.smallest_too_long_window or 0)
            return False
        if not error.retryable:
            return False
        self.breakers.record_failure(model.id)
        if tries >= limits.max_attempts_per_model or run.calls >= limits.max_total_attempts:
            return False
        delay = backoff_delay(tries, limits, self._rng, error.retry_after_s)
        if delay is None or (delay + limits.min_attempt_ms / 1000) > run.deadline.remaining():
            return False
        if not self.breakers.allow(model.id):
            return False
        self._clock.sleep(delay)
        return True

    def _record(
        self,
        run: _Run,
        candidate: Candidate,
        model: ModelSpec,
        started: float,
        duration: float,
        *,
        outcome: str,
        skip: tuple[str, str] | None = None,
        error: ProviderError | None = None,
        answer: ProviderResult | None = None,
        verdict: Verdict | None = None,
    ) -> Attempt:
        usage = answer.usage if answer is not None else None
        return Attempt.model_validate(
            {
                "number": len(run.attempts) + 1,
                "model": model.id,
                "provider": model.provider.value,
                "provider_model_id": candidate.provider_model_id,
                "reported_model": answer.reported_model if answer is not None else None,
                "started_ms": round(started * 1000, 3),
                "duration_ms": round(duration * 1000, 3),
                "outcome": outcome,
                "error_code": error.code if error is not None else (skip[0] if skip else None),
                "error_message": error.message[:300] if error is not None else (skip[1] if skip else None),
                "retryable": error.retryable if error is not None else None,
                "input_tokens": usage.input_tokens if usage else 0,
                "output_tokens": usage.output_tokens if usage else 0,
                "cache_read_tokens": usage.cache_read_tokens if usage else 0,
                "cache_write_tokens": usage.cache_write_tokens if usage else 0,
                "cost_usd": usage_cost_usd(model, usage) if usage else 0.0,
                "checks": [
                    CheckRecord(name=r.name, passed=r.passed, action=r.action, detail=r.detail)
                    for r in (verdict.results if verdict else ())
                ],
            }
        )
