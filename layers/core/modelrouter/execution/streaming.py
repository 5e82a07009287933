"""Streamed execution: forward an answer's tokens as they arrive, with the executor's rules up to the
first token and honest endings after it.

The rules of :mod:`modelrouter.execution.executor` (skips, breaker permits, per-attempt timeouts,
``max_tokens`` clamped to the hold, retries with backoff, fallback) apply until the first token is
sent to the client. From then on the answer is committed to one model:

- **Before the first token** a failure — an error before or during the stream, a stalled stream, a
  guardrail block while the text is still held back — is invisible to the client: the next try or
  candidate takes over, as without streaming.
- **After it**, a provider failure ends the stream with :class:`StreamFinish` ``end="provider_error"``
  (the API turns it into an error event and ``finish_reason: error``); a guardrail block ends it with
  ``end="content_filter"``. Either is recorded as a failed attempt, never as success.
- **The client going away** (``close()`` on the generator) stops the provider call at once; the
  attempt is recorded as ``cancelled`` and charged for the prompt and what was generated (the router's
  own token count when the provider's usage never arrived, flagged ``usage_estimated``).

A stream's first-byte timeout (the gap allowed before the first byte and between bytes) is the
attempt's timeout share, so a hung provider falls back as fast as without streaming; the stream as a
whole may run until the request's deadline. The call's concurrency slot, its ``max_concurrency`` lease
(if the model has one) and breaker permit are held until the stream ends, however it ends (the client
going away included).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from modelrouter.execution.breaker import Permit
from modelrouter.execution.executor import (
    GIVEAWAY_FIELDS,
    Executor,
    _CallCrashedError,
    _Plan,
    _Run,
    conclude_failed_call,
)
from modelrouter.execution.records import AnswerRejectedError, AttemptLog, CheckRecord
from modelrouter.execution.spending import estimated_usage
from modelrouter.providers.errors import MalformedResponseError, ProviderError
from modelrouter.providers.types import (
    ProviderCall,
    ProviderResult,
    ResultToolCall,
    StreamEnd,
    StreamingProvider,
    TextDelta,
    ToolCallDelta,
    ToolKind,
    Usage,
)

if TYPE_CHECKING:
    from modelrouter.execution.deadline import Deadline
    from modelrouter.policy.catalog import ModelSpec
    from modelrouter.request import ChatRequest
    from modelrouter.selection.decision import Candidate, Decision

__all__ = ["GuardStep", "StreamDelta", "StreamEndKind", "StreamFinish", "StreamItem", "TextGuard", "stream"]

StreamEndKind = Literal["complete", "content_filter", "provider_error"]
"""How a stream that sent tokens ended (a client going away ends it by ``close()`` instead)."""


class GuardStep(Protocol):
    """What an incremental guard lets through after a piece of text."""

    @property
    def text(self) -> str:
        """Text that may be sent now (redacted where the policy says so)."""
        ...

    @property
    def blocked(self) -> bool:
        """Whether the answer must be cut here."""
        ...

    @property
    def violations(self) -> tuple[str, ...]:
        """Why it was blocked (never quoting the answer)."""
        ...


class TextGuard(Protocol):
    """Text guardrails applied while an answer streams (one per attempt)."""

    def feed(self, text: str) -> GuardStep:
        """Take the next piece of the answer."""
        ...

    def finish(self) -> GuardStep:
        """The answer ended: release (and check) what is held back."""
        ...


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """A piece of the answer to send: text or a tool call fragment."""

    model: str
    """The catalog model answering."""
    text: str = ""
    """Answer text (already through the guardrails)."""
    tool_call: ToolCallDelta | None = None
    """A tool call fragment."""
    logprobs: tuple[Mapping[str, Any], ...] = ()
    """The text's token log probabilities, where asked for (never on a guarded stream: they would
    quote text the guard holds back or redacts)."""


@dataclass(frozen=True, slots=True)
class StreamFinish:
    """The last item of a stream that sent tokens."""

    model: str
    """The catalog model that answered."""
    end: StreamEndKind
    """How it ended."""
    finish_reason: str
    """OpenAI finish reason: the model's, ``content_filter`` on a guardrail cut, ``error`` on a failure."""
    answer: ProviderResult
    """What was sent, as one answer (text, tool calls, usage charged)."""
    error: ProviderError | None = None
    """The provider failure that ended it (``end == "provider_error"``)."""
    violations: tuple[str, ...] = ()
    """Why a guardrail cut it (``end == "content_filter"``)."""


StreamItem = StreamDelta | StreamFinish
"""What :func:`stream` yields: deltas, then exactly one :class:`StreamFinish`."""


@dataclass
class _Received:
    """What one streamed call produced so far."""

    raw: list[str] = field(default_factory=list)
    """Text as the provider sent it (what it bills)."""
    text: list[str] = field(default_factory=list)
    """Text as sent to the client (through the guardrails)."""
    tools: dict[int, list[str]] = field(default_factory=dict)
    tool_ids: dict[int, tuple[str, str]] = field(default_factory=dict)
    tool_kinds: dict[int, ToolKind] = field(default_factory=dict)
    emitted: bool = False
    first_token_ms: float | None = None

    def answer(self, finish: str, usage: Usage, end: StreamEnd | None) -> ProviderResult:
        calls = tuple(
            ResultToolCall(
                *self.tool_ids.get(i, ("", "")), "".join(parts), self.tool_kinds.get(i, "function")
            )
            for i, parts in sorted(self.tools.items())
        )
        return ProviderResult(
            content="".join(self.text) or None,
            tool_calls=calls,
            finish_reason=finish if finish in ("stop", "length", "tool_calls", "content_filter") else "stop",  # type: ignore[arg-type]
            usage=usage,
            reported_model=end.reported_model if end else "",
            response_id=end.response_id if end else None,
        )


class _BlockedError(Exception):
    """A guardrail blocked the answer while nothing had been sent yet."""

    def __init__(self, violations: tuple[str, ...]) -> None:
        super().__init__("blocked")
        self.violations = violations


def stream(
    executor: Executor,
    decision: Decision,
    request: ChatRequest,
    *,
    deadline: Deadline,
    spend_limit_usd: float | None,
    log: AttemptLog,
    guard_for: Callable[[], TextGuard | None],
) -> Iterator[StreamItem]:
    """Stream ``decision`` for ``request``: deltas as they pass the guardrails, then one finish.

    Raises, before the first delta only (nothing was sent): the executor's ``AllCandidatesFailedError``,
    ``DeadlineExceededError`` or ``AnswerRejectedError`` (a guardrail block on a route that fails).
    """
    run = _Run(decision, deadline, log, spend_limit_usd)
    for candidate, model in executor._candidates_to_try(run):
        finished = yield from _candidate(executor, run, candidate, model, request, guard_for)
        if finished:
            return
    raise executor._exhausted(run)


def _candidate(  # noqa: PLR0917
    executor: Executor,
    run: _Run,
    candidate: Candidate,
    model: ModelSpec,
    request: ChatRequest,
    guard_for: Callable[[], TextGuard | None],
) -> Generator[StreamItem, None, bool]:
    """Tries of one candidate; True once a stream was sent to its end."""
    limits = executor._policy.execution
    tries = 0
    while tries < limits.max_attempts_per_model and run.log.calls < limits.max_total_attempts:
        planned = executor._plan_call(run, candidate, model, request)
        if planned is None:
            return False
        plan, permit = planned
        tries += 1
        attempt = _StreamedCall(executor, run, plan)
        with permit:
            try:
                return (yield from attempt.stream(permit, guard_for()))
            except ProviderError as error:
                failure = error
            except _BlockedError as blocked:
                guardrails = run.decision.checks.guardrails
                if guardrails is not None and guardrails.on_failure == "fail":
                    raise AnswerRejectedError(
                        f"answer from '{model.id}' rejected by checks ({', '.join(blocked.violations)})",
                        run.log.attempts,
                    ) from None
                return False  # escalate: the next candidate
        if not executor._should_retry(run, model, failure, tries):
            return False
    return False


class _StreamedCall:
    """One streamed call: the permit is concluded and the attempt logged however it ends."""

    def __init__(self, executor: Executor, run: _Run, plan: _Plan) -> None:
        self.executor, self.run_state, self.plan = executor, run, plan
        self.started = run.deadline.elapsed()
        share_s = executor._timeout_s(run, plan.model)
        configured = run.decision.first_byte_timeout_ms
        self.share_s = share_s
        self.first_byte_s = min(share_s, configured / 1000) if configured else share_s
        self.received = _Received()
        self.end: StreamEnd | None = None
        self.guarded = False

    def stream(self, permit: Permit, guard: TextGuard | None) -> Generator[StreamItem, None, bool]:
        """Stream the call. Raises ProviderError or _BlockedError while nothing was sent (the caller
        moves on); once something was sent, every ending is a :class:`StreamFinish`."""
        model = self.plan.model
        events: Iterator[object] | None = None
        self.guarded = guard is not None
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(
                    self.executor._limiter.slot(f"{model.provider}:{model.endpoint}", self.share_s)
                )
                # The stream may run until the request's deadline: its lease (if capped) lasts as long.
                held.enter_context(self.executor.capped(model, self.run_state.deadline.remaining()))
                events = self._provider().stream(self._call())
                for event in events:
                    if isinstance(event, StreamEnd):
                        self.end = event
                        break
                    yield from _deliver(event, self.received, guard, model.id, self.run_state)
                if self.end is None:  # an adapter that stopped without its terminal event
                    raise MalformedResponseError(
                        "stream ended without its final event", provider=model.provider
                    )
                if guard is not None:
                    yield from _deliver(None, self.received, guard, model.id, self.run_state)
            except _BlockedError as blocked:
                finish = self._blocked(permit, blocked)
                if finish is None:
                    raise
                yield finish
                return True
            except ProviderError as error:
                finish = self._failed(permit, error)
                if finish is None:
                    raise
                yield finish
                return True
            except GeneratorExit:
                permit.release()
                reported = self.end.usage if self.end is not None else None
                self._log("cancelled", usage=reported or self._generated(), estimated=reported is None)
                raise
            except Exception:
                permit.release()
                crash = _CallCrashedError("the call failed unexpectedly", provider=model.provider.value)
                self._log("error", usage=self._generated(), estimated=True, error=crash)
                raise
            finally:
                closer = getattr(events, "close", None)
                if callable(closer):
                    with contextlib.suppress(Exception):
                        closer()
        permit.healthy()
        end = self.end
        usage, estimated = (end.usage, False) if end.usage else (self._generated(), True)
        answer = self.received.answer(end.finish_reason, usage, end)
        self._log("success", usage=usage, estimated=estimated, answer=answer)
        yield StreamFinish(model.id, "complete", end.finish_reason, answer)
        return True

    def _provider(self) -> StreamingProvider:
        model = self.plan.model
        provider = self.executor._providers.get(model.provider)
        if provider is None or not callable(getattr(provider, "stream", None)):
            raise ProviderError(
                f"no streaming adapter for provider '{model.provider}'", provider=model.provider
            )
        return provider  # type: ignore[return-value]

    def _call(self) -> ProviderCall:
        plan, run = self.plan, self.run_state
        return ProviderCall(plan.model, plan.conversation, plan.max_tokens, run.deadline.remaining(),
                            run.decision.request_id, first_byte_timeout_s=self.first_byte_s)  # fmt: skip

    def _blocked(self, permit: Permit, blocked: _BlockedError) -> StreamFinish | None:
        permit.healthy()  # the model answered; its answer is what failed
        emitted = self.received.emitted
        record = CheckRecord(name="guardrails", passed=False, action="cut" if emitted else "escalate",
                             detail=", ".join(blocked.violations))  # fmt: skip
        self._log("check_failed", usage=self._generated(), estimated=True, check_records=(record,))
        if not emitted:
            return None
        answer = self.received.answer("content_filter", self._generated(), self.end)
        return StreamFinish(self.plan.model.id, "content_filter", "content_filter", answer,
                            violations=blocked.violations)  # fmt: skip

    def _failed(self, permit: Permit, error: ProviderError) -> StreamFinish | None:
        conclude_failed_call(permit, error)
        usage = self._generated() if (self.received.raw or self.received.tools) else None
        self._log("error", usage=usage, estimated=usage is not None, error=error)
        if not self.received.emitted:
            return None
        answer = self.received.answer("error", usage or Usage(), self.end)
        return StreamFinish(self.plan.model.id, "provider_error", "error", answer, error=error)

    def _generated(self) -> Usage:
        """The router's estimate of what the call consumed: the prompt and what was generated."""
        received = self.received
        if not (received.raw or received.tools):
            return estimated_usage(self.plan.prompt_tokens, None)
        calls = received.answer("stop", Usage(), None).tool_calls
        billed = ProviderResult(content="".join(received.raw) or None, tool_calls=calls)
        return estimated_usage(self.plan.prompt_tokens, billed)

    def _log(self, outcome: str, **details: Any) -> None:
        run, plan = self.run_state, self.plan
        withheld = GIVEAWAY_FIELDS if self.guarded else ()
        self.executor._append(
            run, plan.candidate, plan.model, self.started, run.deadline.elapsed() - self.started,
            outcome=outcome, max_tokens_sent=plan.max_tokens, timeout_ms=round(self.first_byte_s * 1000, 3),
            first_token_ms=self.received.first_token_ms, ignored=plan.ignored(*withheld), **details,
        )  # fmt: skip


def _deliver(
    event: TextDelta | ToolCallDelta | None,
    received: _Received,
    guard: TextGuard | None,
    model: str,
    run: _Run,
) -> Iterator[StreamDelta]:
    """The deltas one provider event lets through (``None``: the answer ended, flush the guard)."""
    if event is not None and received.first_token_ms is None:
        received.first_token_ms = round(run.deadline.elapsed() * 1000, 3)
    if isinstance(event, ToolCallDelta):
        received.tools.setdefault(event.index, []).append(event.arguments)
        received.tool_kinds[event.index] = event.kind
        if event.id is not None or event.name is not None:
            received.tool_ids[event.index] = (event.id or "", event.name or "")
        yield from _emit(received, StreamDelta(model, tool_call=event))
        return
    if event is not None:
        received.raw.append(event.text)
    if guard is None:
        if event is not None and event.text:
            yield from _emit(received, StreamDelta(model, text=event.text, logprobs=event.logprobs))
        return
    step = guard.feed(event.text) if event is not None else guard.finish()
    if step.text:
        yield from _emit(received, StreamDelta(model, text=step.text))
    if step.blocked:
        raise _BlockedError(step.violations)


def _emit(received: _Received, delta: StreamDelta) -> Iterator[StreamDelta]:
    received.emitted = True
    if delta.text:
        received.text.append(delta.text)
    yield delta
