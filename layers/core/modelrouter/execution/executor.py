"""Execute a decision: call candidates in order, retry inside the deadline, check answers, record attempts.

Rules, in the order they apply to each candidate:
- a candidate whose breaker is open, whose window is no larger than one that already answered
  ``context_too_long``, or whose call would not fit what the reservation still covers, is skipped
  (recorded, no call);
- no attempt starts with less than ``min_attempt_ms`` left; each call gets its own timeout (the model's,
  the route's or the policy's ``attempt_timeout_ms``, else the time left shared among the candidates
  left, at most three shares), so a hung model falls back within the route's latency budget;
- ``max_tokens`` is clamped to what the reservation still covers, so spending never passes it;
- retryable errors are retried on the same model after a full-jitter backoff (``Retry-After`` is a
  floor); a longer wait than ``backoff_max_ms`` or one that would cross the deadline moves on instead;
  a timed-out model is not retried while other candidates are left;
- other errors move on at once; ``context_too_long`` moves on to a model with a larger window;
- a failed check repairs (same model, errors fed back), retries (same model, a rule asked for it),
  escalates (next candidate) or fails (a check that fails the request, a rule that rejects), as the
  route's checks say; an answer that failed a check is never returned;
- at most ``max_attempts_per_model`` calls per model and ``max_total_attempts`` per request.

Every call holds a breaker :class:`~modelrouter.execution.breaker.Permit` that is concluded however the
call ends, a slot of its endpoint in this container, and — for a model with ``max_concurrency`` — one of
its leases shared by every container (:class:`~modelrouter.execution.limiter.CallLeases`), given back
however the call ends; no lease free skips the call like no slot free. Every attempt goes into the
caller's :class:`AttemptLog` the moment it ends, so whoever settles the request sees every call, whatever
way execution stops; anything unexpected becomes an :class:`ExecutionCrashedError` carrying the attempts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelrouter.checks.evaluate import Verdict, evaluate_answer
from modelrouter.checks.json_answer import compile_schema
from modelrouter.checks.types import GuardrailService
from modelrouter.execution.backoff import backoff_delay
from modelrouter.execution.breaker import Breakers, CircuitBreakers, Permit
from modelrouter.execution.clock import Clock, SystemClock
from modelrouter.execution.deadline import Deadline
from modelrouter.execution.limiter import CallLeases, ConcurrencyLimiter, SlotUnavailableError
from modelrouter.execution.records import (
    AllCandidatesFailedError,
    AnswerRejectedError,
    Attempt,
    AttemptLog,
    CheckRecord,
    DeadlineExceededError,
    ExecutionCrashedError,
    ExecutionError,
    ExecutionResult,
    ProvidersUnreachableError,
)
from modelrouter.execution.repair import with_repair_turn
from modelrouter.execution.spending import (
    MIN_CLAMPED_OUTPUT_TOKENS,
    affordable_output_tokens,
    estimated_usage,
)
from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import ProviderKind
from modelrouter.policy.document import Policy
from modelrouter.pricing import usage_cost_usd
from modelrouter.providers.errors import (
    ContextTooLongError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
)
from modelrouter.providers.fields import ignored_fields
from modelrouter.providers.types import Provider, ProviderCall, ProviderResult, Usage
from modelrouter.request import ChatRequest
from modelrouter.request_fields import used_fields
from modelrouter.selection.decision import Candidate, Decision

__all__ = ["GIVEAWAY_FIELDS", "MAX_TIMEOUT_SHARES", "Executor", "conclude_failed_call"]

MAX_TIMEOUT_SHARES = 3
"""Without a configured timeout a call gets the time left divided by the candidates left, at most 3."""


GIVEAWAY_FIELDS = ("logprobs", "top_logprobs")
"""Request fields whose answer parts quote the answer's tokens: withheld where text may be redacted."""


class _CallCrashedError(ProviderError):
    """What the attempt records when an adapter raised something that is not a provider error."""

    code = "internal_error"


@dataclass(frozen=True, slots=True)
class _Plan:
    """One call about to be made: to whom, with what, and what it may spend."""

    candidate: Candidate
    model: ModelSpec
    conversation: ChatRequest
    max_tokens: int
    prompt_tokens: int

    def ignored(self, *withheld: str) -> tuple[str, ...]:
        """The request fields this call leaves out, and those of ``withheld`` (fields whose answer
        parts the router held back) that the request uses."""
        ignored = ignored_fields(self.conversation, self.model, self.max_tokens)
        used = used_fields(self.conversation) & set(withheld)
        return tuple(sorted({*ignored, *used})) if used else ignored


class _Run:
    """Bookkeeping of one request's execution; its attempts live in the caller's log."""

    def __init__(self, decision: Decision, deadline: Deadline, log: AttemptLog, limit: float | None) -> None:
        self.decision = decision
        self.deadline = deadline
        self.log = log
        self.spend_limit_usd = limit
        self.smallest_too_long_window: int | None = None
        self.candidate_index = 0

    @property
    def left_usd(self) -> float | None:
        if self.spend_limit_usd is None:
            return None
        return self.spend_limit_usd - self.log.cost_usd

    @property
    def candidates_left(self) -> int:
        return len(self.decision.candidates) - self.candidate_index


def _counts_against_model(error: ProviderError) -> bool:
    """Whether a failed call says the model is unwell (and may be retried): a retryable error from a
    call that was made. A refusal (bad request, auth), or a call never made for want of a slot, does not."""
    return error.retryable and not isinstance(error, SlotUnavailableError)


def conclude_failed_call(permit: Permit, error: ProviderError) -> None:
    """Conclude a call's breaker permit after ``error``: a failure if it counts against the model,
    else released without a verdict."""
    if _counts_against_model(error):
        permit.failed()
    else:
        permit.release()


def _checks_led_to(run: _Run, model: ModelSpec, action: str) -> int:
    """How many of ``model``'s answers so far were followed by ``action`` (``repair``, ``retry``)."""
    return sum(
        1
        for attempt in run.log.attempts
        if attempt.model == model.id and any(check.action == action for check in attempt.checks)
    )


def _rejection(model: ModelSpec, verdict: Verdict) -> str:
    """The message of the error a failed or rejected answer ends the request with."""
    last = verdict.results[-1] if verdict.results else None
    if verdict.action != "reject" or last is None:
        return f"answer from '{model.id}' rejected by checks"
    by = f"rule '{last.rule}'" if last.rule is not None else "the rules check"
    return f"answer from '{model.id}' rejected by {by}: {last.detail}"


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
        breakers: Breakers | None = None,
        leases: CallLeases | None = None,
    ) -> None:
        """``breakers``: the container's (shared with the service); ``leases``: where models with
        ``max_concurrency`` take their leases (None: the cap is not enforced, as without a table)."""
        self._providers = providers
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._guardrail = guardrail
        self.breakers: Breakers = breakers or CircuitBreakers(policy.execution.cooldown, self._clock)
        """Per-model circuit breakers (shared with the service, which passes the open ones to decisions)."""
        self.breakers.use_cooldown(policy.execution.cooldown)
        self._limiter = ConcurrencyLimiter(policy.execution.max_concurrency_per_provider)
        self._leases = leases
        self._policy = policy

    def use_policy(self, policy: Policy) -> None:
        """Switch to a new policy version (breaker state is kept)."""
        self._policy = policy
        self.breakers.use_cooldown(policy.execution.cooldown)

    def execute(
        self,
        decision: Decision,
        request: ChatRequest,
        deadline: Deadline,
        spend_limit_usd: float | None = None,
        log: AttemptLog | None = None,
    ) -> ExecutionResult:
        """Run ``decision`` for ``request`` until an answer passes its checks.

        With ``spend_limit_usd`` (what the budget reserved), each call's ``max_tokens`` is clamped so
        its worst case fits what is left, and no call starts that could not get a useful answer.
        Attempts are appended to ``log`` as they end.

        Raises:
            InvalidRequestError: the request's JSON Schema is unusable (before any call).
            AnswerRejectedError: a check failed and the route says ``fail``.
            DeadlineExceededError: the deadline passed first.
            AllCandidatesFailedError: every candidate failed or was skipped.
            ExecutionCrashedError: anything unexpected (the attempts so far are on it and in ``log``).
        """
        if request.json_schema is not None:
            compile_schema(request.json_schema)  # cached; an unusable schema never reaches a model
        run = _Run(decision, deadline, log if log is not None else AttemptLog(), spend_limit_usd)
        try:
            return self._execute(run, request)
        except ExecutionError:
            raise
        except Exception as error:
            raise ExecutionCrashedError(
                f"execution stopped by an unexpected {type(error).__name__}", run.log.attempts
            ) from error

    def _execute(self, run: _Run, request: ChatRequest) -> ExecutionResult:
        for candidate, model in self._candidates_to_try(run):
            result = self._try_candidate(run, candidate, model, request)
            if result is not None:
                return result
        raise self._exhausted(run)

    def _candidates_to_try(self, run: _Run) -> Iterator[tuple[Candidate, ModelSpec]]:
        """The decision's candidates in order, minus those skipped (each skip recorded), while
        attempts are left; ``run.candidate_index`` follows the one being tried."""
        limits = self._policy.execution
        for index, candidate in enumerate(run.decision.candidates):
            run.candidate_index = index
            if run.log.calls >= limits.max_total_attempts:
                return
            model = self._policy.model_by_id[candidate.model]
            if not self._skip(run, candidate, model):
                yield candidate, model

    def _exhausted(self, run: _Run) -> ExecutionError:
        """Why no candidate answered: the deadline passed, or every candidate failed or was skipped."""
        if run.deadline.remaining() * 1000 < self._policy.execution.min_attempt_ms:
            return DeadlineExceededError(
                f"deadline of {run.deadline.budget_s * 1000:.0f} ms passed after {run.log.calls} attempts",
                run.log.attempts,
            )
        called = [attempt for attempt in run.log.attempts if attempt.called]
        if called and called[-1].error_code == ProviderConnectionError.code:
            return ProvidersUnreachableError(
                f"all candidates failed after {run.log.calls} attempts; the last could not connect to its "
                f"provider ({called[-1].provider})",
                run.log.attempts,
            )
        return AllCandidatesFailedError(
            f"all candidates failed after {run.log.calls} attempts", run.log.attempts
        )

    def _skip(self, run: _Run, candidate: Candidate, model: ModelSpec) -> bool:
        reason = None
        if run.smallest_too_long_window is not None and model.context_window <= run.smallest_too_long_window:
            reason = ("context_too_small", f"window {model.context_window} ≤ one that was already too small")
        elif not self.breakers.allow(model.id):
            reason = ("cooling_down", "circuit breaker open")
        if reason is None:
            return False
        self._append(run, candidate, model, run.deadline.elapsed(), 0.0, outcome="skipped", skip=reason)
        return True

    def _try_candidate(
        self, run: _Run, candidate: Candidate, model: ModelSpec, request: ChatRequest
    ) -> ExecutionResult | None:
        limits = self._policy.execution
        conversation = request
        tries = 0
        while tries < limits.max_attempts_per_model and run.log.calls < limits.max_total_attempts:
            planned = self._plan_call(run, candidate, model, conversation)
            if planned is None:
                return None
            plan, permit = planned
            tries += 1
            with permit:
                step = self._attempt(run, plan, permit)
            if isinstance(step, ExecutionResult):
                return step
            if isinstance(step, ProviderError):
                if not self._should_retry(run, model, step, tries):
                    return None
                continue
            verdict, answer = step
            if verdict.action in ("fail", "reject"):
                raise AnswerRejectedError(_rejection(model, verdict), run.log.attempts)
            if verdict.action == "retry":
                continue  # the same model and conversation again: a rule asked for another answer
            if verdict.action != "repair":
                return None
            conversation = with_repair_turn(conversation, answer, verdict.feedback or "")
        return None

    def _plan_call(
        self, run: _Run, candidate: Candidate, model: ModelSpec, conversation: ChatRequest
    ) -> tuple[_Plan, Permit] | None:
        """The next call to ``model`` and its breaker permit, or None (recorded as a skip where it is
        one) when no call may start: too little time, too little reservation left, breaker open."""
        if run.deadline.remaining() * 1000 < self._policy.execution.min_attempt_ms:
            return None
        max_tokens, prompt_tokens = affordable_output_tokens(
            model, conversation, candidate.max_output_tokens, run.left_usd
        )
        if max_tokens < min(MIN_CLAMPED_OUTPUT_TOKENS, candidate.max_output_tokens):
            detail = f"an answer of {candidate.max_output_tokens} tokens no longer fits what is reserved"
            self._append(run, candidate, model, run.deadline.elapsed(), 0.0, outcome="skipped",
                         skip=("over_reservation", detail))  # fmt: skip
            return None
        permit = self.breakers.permit(model.id, run.deadline.remaining())
        if permit is None:
            self._append(run, candidate, model, run.deadline.elapsed(), 0.0, outcome="skipped",
                         skip=("cooling_down", "circuit breaker open"))  # fmt: skip
            return None
        return _Plan(candidate, model, conversation, max_tokens, prompt_tokens), permit

    def _attempt(
        self, run: _Run, plan: _Plan, permit: Permit
    ) -> ExecutionResult | ProviderError | tuple[Verdict, ProviderResult]:
        """One call and its checks; the permit is concluded and the attempt logged whatever happens."""
        candidate, model = plan.candidate, plan.model
        started = run.deadline.elapsed()
        timeout_s = self._timeout_s(run, model)

        def log(outcome: str, *, withheld: tuple[str, ...] = (), **details: Any) -> None:
            duration = run.deadline.elapsed() - started
            self._append(run, candidate, model, started, duration, outcome=outcome,
                         max_tokens_sent=plan.max_tokens, timeout_ms=round(timeout_s * 1000, 3),
                         ignored=plan.ignored(*withheld), **details)  # fmt: skip

        try:
            answer = self._call(run, plan, timeout_s)
        except ProviderError as error:
            conclude_failed_call(permit, error)
            log("error", error=error)
            return error
        except Exception:
            # A bug, not a provider failure: the request may have been sent, so it is charged from the
            # router's own estimate of the prompt; then execution stops (see ExecutionCrashedError).
            permit.release()
            crash = _CallCrashedError("the call failed unexpectedly", provider=model.provider.value)
            log("error", error=crash, usage=estimated_usage(plan.prompt_tokens, None), estimated=True)
            raise
        permit.healthy()
        usage, estimated = answer.usage, False
        if usage == Usage():
            usage, estimated = estimated_usage(plan.prompt_tokens, answer), True
        try:
            verdict = evaluate_answer(
                run.decision.checks,
                plan.conversation,
                answer,
                repairs_done=_checks_led_to(run, model, "repair"),
                guardrail=self._guardrail,
                guardrail_timeout_s=max(0.1, run.deadline.remaining()),
                model=model.id,
                retries_done=_checks_led_to(run, model, "retry"),
            )
        except Exception:
            log("check_failed", answer=answer, usage=usage, estimated=estimated)
            raise
        outcome = "success" if verdict.action in ("accept", "redact") else "check_failed"
        delivered, withheld = _without_giveaways(answer, verdict.answer)
        log(outcome, answer=answer, verdict=verdict, usage=usage, estimated=estimated, withheld=withheld)
        if outcome == "success":
            return ExecutionResult(answer=delivered, model=model.id, attempts=tuple(run.log.attempts))
        return verdict, answer

    def _timeout_s(self, run: _Run, model: ModelSpec) -> float:
        remaining = run.deadline.remaining()
        configured = model.timeout_ms or run.decision.attempt_timeout_ms
        if configured is not None:
            return min(remaining, configured / 1000)
        shares = max(1, min(run.candidates_left, MAX_TIMEOUT_SHARES))
        floor = self._policy.execution.min_attempt_ms / 1000
        return min(remaining, max(floor, remaining / shares))

    def _call(self, run: _Run, plan: _Plan, timeout_s: float) -> ProviderResult:
        model = plan.model
        provider = self._providers.get(model.provider)
        if provider is None:
            raise ProviderError(
                f"no adapter configured for provider '{model.provider}'", provider=model.provider
            )
        waited_from = run.deadline.remaining()
        with (
            self._limiter.slot(f"{model.provider}:{model.endpoint}", timeout_s),
            self.capped(model, timeout_s),
        ):
            # Waiting for a slot (or a lease) used part of the budget: the call gets only what is left of it.
            left = min(run.deadline.remaining(), timeout_s - (waited_from - run.deadline.remaining()))
            if left * 1000 < self._policy.execution.min_attempt_ms:
                raise SlotUnavailableError("no time left after a call slot freed", provider=model.provider)
            first_byte = run.decision.first_byte_timeout_ms
            call = ProviderCall(
                model,
                plan.conversation,
                plan.max_tokens,
                left,
                run.decision.request_id,
                first_byte_timeout_s=first_byte / 1000 if first_byte else None,
            )
            return provider.complete(call)

    def capped(self, model: ModelSpec, hold_s: float) -> contextlib.AbstractContextManager[None]:
        """One of ``model``'s ``max_concurrency`` leases for the block (at most ``hold_s`` plus a margin);
        nothing for a model without one. Raises SlotUnavailableError when every lease is held."""
        if model.max_concurrency is None or self._leases is None:
            return contextlib.nullcontext()
        return self._leases.hold(model.id, model.max_concurrency, hold_s)

    def _should_retry(self, run: _Run, model: ModelSpec, error: ProviderError, tries: int) -> bool:
        limits = self._policy.execution
        if isinstance(error, ContextTooLongError):
            window = model.context_window
            run.smallest_too_long_window = max(window, run.smallest_too_long_window or 0)
            return False
        if not _counts_against_model(error):
            return False
        if isinstance(error, ProviderTimeoutError) and run.candidates_left > 1:
            return False  # a hung model: the next candidate is a better use of the time left
        if tries >= limits.max_attempts_per_model or run.log.calls >= limits.max_total_attempts:
            return False
        delay = backoff_delay(tries, limits, self._rng, error.retry_after_s)
        if delay is None or (delay + limits.min_attempt_ms / 1000) > run.deadline.remaining():
            return False
        if not self.breakers.allow(model.id):
            return False
        self._clock.sleep(delay)
        return True

    def _append(
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
        usage: Usage | None = None,
        estimated: bool = False,
        max_tokens_sent: int | None = None,
        timeout_ms: float | None = None,
        first_token_ms: float | None = None,
        check_records: tuple[CheckRecord, ...] = (),
        ignored: tuple[str, ...] = (),
    ) -> None:
        run.log.attempts.append(
            Attempt.model_validate(
                {
                    "number": len(run.log.attempts) + 1,
                    "model": model.id,
                    "provider": model.provider.value,
                    "provider_model_id": candidate.provider_model_id,
                    "reported_model": answer.reported_model if answer is not None else None,
                    "started_ms": round(started * 1000, 3),
                    "duration_ms": round(duration * 1000, 3),
                    "outcome": outcome,
                    "error_code": error.code if error is not None else (skip[0] if skip else None),
                    "error_message": error.message[:300] if error else (skip[1] if skip else None),
                    "retryable": error.retryable if error is not None else None,
                    "input_tokens": usage.input_tokens if usage else 0,
                    "output_tokens": usage.output_tokens if usage else 0,
                    "cache_read_tokens": usage.cache_read_tokens if usage else 0,
                    "cache_write_tokens": usage.cache_write_tokens if usage else 0,
                    "cost_usd": usage_cost_usd(model, usage) if usage else 0.0,
                    "usage_estimated": estimated,
                    "max_tokens_sent": max_tokens_sent,
                    "timeout_ms": timeout_ms,
                    "checks": [
                        *(
                            CheckRecord(
                                name=r.name, passed=r.passed, action=r.action, detail=r.detail, rule=r.rule
                            )
                            for r in (verdict.results if verdict else ())
                        ),
                        *check_records,
                    ],
                    "first_token_ms": first_token_ms,
                    "ignored_fields": ignored,
                }
            )
        )


def _without_giveaways(
    answer: ProviderResult, checked: ProviderResult
) -> tuple[ProviderResult, tuple[str, ...]]:
    """The checked answer, and the fields withheld from it: a redacted answer loses the provider's
    token log probabilities and text annotations, which would give the redacted text away."""
    if checked.content == answer.content or (checked.logprobs is None and not checked.annotations):
        return checked, ()
    return dataclasses.replace(checked, logprobs=None, annotations=()), GIVEAWAY_FIELDS
