"""OpenAI wire formats: ``chat.completion``, validated ``chat.completion.chunk`` streams, the model list.

A validated stream (a route in ``validated`` streaming mode, a ``response_format`` request, or an
``Idempotency-Key`` replay) is the complete checked answer replayed as server-sent events; live streams
(tokens as they arrive) are written by :mod:`modelrouter.api.openai_stream`.

Answers keep what the client asked for where the answering provider returned it: ``logprobs``, text
``annotations``, ``service_tier`` and ``moderation``; custom tool calls are ``type: custom``; a request
that used the deprecated ``functions`` gets ``message.function_call`` and ``finish_reason:
"function_call"``. The ``router`` block lists in ``ignored_fields`` the request fields the answering
model's provider did not take (:func:`modelrouter.providers.fields.ignored_fields`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.execution.records import Attempt, ExecutionResult
from modelrouter.policy.catalog import ModelSpec
from modelrouter.provenance import learned_fields
from modelrouter.providers.types import ResultToolCall, ToolKind
from modelrouter.request import ChatRequest
from modelrouter.selection.compliance import compliance_block
from modelrouter.selection.decision import Decision, ExclusionReason
from modelrouter.selection.naming import Named

if TYPE_CHECKING:
    from modelrouter.service import ChatOutcome

__all__ = [
    "DONE_EVENT",
    "MODEL_OWNER",
    "STREAM_PIECE_CHARS",
    "ChunkEvents",
    "attempt_summary",
    "chat_response",
    "completion",
    "model_list",
    "model_object",
    "router_summary",
    "sse_event",
    "stream_events",
    "tool_call_delta",
    "usage_of",
]

STREAM_PIECE_CHARS = 64
"""Content is replayed in pieces of about this many characters."""


def router_summary(
    decision: Decision,
    result: ExecutionResult,
    latency_ms: float,
    reserved_usd: float,
    *,
    overage_usd: float = 0.0,
    stream: dict[str, object] | None = None,
    ignored: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The ``router`` object added to responses: what was decided and tried, what it cost, and the
    ``compliance`` of the answer (:func:`~modelrouter.selection.compliance.compliance_block` for the model
    that answered); on learned routes also each candidate's predicted quality and the router's digest
    and objective, on threshold routes the difficulty the tier was picked by, on cascade routes the
    tiers skipped for a prediction below ``skip_below`` (``skipped``), on weighted and bandit routes the
    ``choice`` distribution the primary was drawn from and its ``propensity``, and on bandit routes the
    ``bandit`` block (segment, evidence, posterior means, costs, the state's age).

    ``overage_usd``: shown when above 0; ``stream``: a live stream's figures; ``ignored``: fields dropped
    before the call (the Anthropic request's translation), listed with the answering call's in
    ``ignored_fields`` (sorted)."""
    final = result.attempts[-1]
    summary: dict[str, Any] = {
        "request_id": decision.request_id,
        "policy": decision.policy,
        "policy_version": decision.policy_version,
        "route": decision.route,
        "strategy": decision.strategy.value,
        "tier": decision.tier,
        "variant": decision.variant,
        "model": result.model,
        "model_version": final.reported_model,
        "fallbacks": result.fallbacks,
        "attempts": [attempt_summary(a) for a in result.attempts],
        "checks": [
            {"name": c.name, "passed": c.passed, "action": c.action, **({"rule": c.rule} if c.rule else {})}
            for c in final.checks
        ],
        "cost_usd": round(result.cost_usd, 9),
        "reserved_usd": round(reserved_usd, 9),
        "latency_ms": round(latency_ms, 1),
        "ignored_fields": sorted({*final.ignored_fields, *ignored}),
        "compliance": compliance_block(decision, result.model),
    }
    predicted = {c.model: c.predicted_quality for c in decision.candidates if c.predicted_quality is not None}
    if predicted:
        summary["predicted_quality"] = predicted
    skipped = [e for e in decision.exclusions if e.reason is ExclusionReason.PREDICTED_BELOW_SKIP]
    if skipped:
        summary["skipped"] = [{"model": e.model, "detail": e.detail} for e in skipped]
    summary.update(learned_fields(decision))
    if decision.choice is not None:
        summary["choice"] = decision.choice.model_dump(mode="json")
        summary["propensity"] = decision.propensity
    if decision.bandit is not None:
        summary["bandit"] = decision.bandit.model_dump(mode="json")
    if stream is not None:
        summary["stream"] = stream
    if overage_usd > 0:
        summary["overage_usd"] = round(overage_usd, 9)
    return summary


def attempt_summary(attempt: Attempt) -> dict[str, Any]:
    """One attempt as the ``router`` block shows it (answers and errors alike): model, outcome, error
    code, duration, and for a failed check which check failed and which rule fired."""
    summary: dict[str, Any] = {
        "model": attempt.model,
        "outcome": attempt.outcome,
        "error_code": attempt.error_code,
        "duration_ms": attempt.duration_ms,
    }
    failed = next((check for check in attempt.checks if not check.passed), None)
    if failed is not None:
        summary["failed_check"] = failed.name
        if failed.rule:
            summary["rule"] = failed.rule
    return summary


def usage_of(result: ExecutionResult) -> dict[str, Any]:
    """The OpenAI ``usage`` object of the answering attempt."""
    final = result.attempts[-1]
    prompt = final.input_tokens + final.cache_read_tokens + final.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": final.output_tokens,
        "total_tokens": prompt + final.output_tokens,
        "prompt_tokens_details": {"cached_tokens": final.cache_read_tokens},
    }


def _message(result: ExecutionResult, legacy_functions: bool) -> dict[str, Any]:
    answer = result.answer
    message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
    if answer.annotations:
        message["annotations"] = list(answer.annotations)
    if answer.tool_calls and legacy_functions:
        first = answer.tool_calls[0]
        message["function_call"] = {"name": first.name, "arguments": first.arguments}
    elif answer.tool_calls:
        message["tool_calls"] = [_tool_call(call) for call in answer.tool_calls]
    return message


def _tool_call(call: ResultToolCall) -> dict[str, Any]:
    if call.kind == "custom":
        return {"id": call.id, "type": "custom", "custom": {"name": call.name, "input": call.arguments}}
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _finish_reason(finish: str, legacy_functions: bool) -> str:
    return "function_call" if legacy_functions and finish == "tool_calls" else finish


def completion(
    result: ExecutionResult, summary: dict[str, Any], created: int, *, legacy_functions: bool = False
) -> dict[str, Any]:
    """A ``chat.completion`` object with the router summary (``legacy_functions``: the request used
    ``functions``, so a call is a ``function_call``)."""
    answer = result.answer
    return {
        "id": f"chatcmpl-{summary['request_id']}",
        "object": "chat.completion",
        "created": created,
        "model": result.model,
        "system_fingerprint": summary["policy_version"][:32] or None,
        "choices": [
            {
                "index": 0,
                "message": _message(result, legacy_functions),
                "finish_reason": _finish_reason(answer.finish_reason, legacy_functions),
                "logprobs": dict(answer.logprobs) if answer.logprobs is not None else None,
            }
        ],
        "usage": usage_of(result),
        **answer.response_fields,
        "router": summary,
    }


def tool_call_delta(  # noqa: PLR0917
    index: int, call_id: str | None, name: str | None, arguments: str, kind: ToolKind, legacy_functions: bool
) -> dict[str, Any]:
    """The ``delta`` of a tool call fragment (the first one carries the id and name): a ``tool_calls``
    entry, or a ``function_call`` for requests that used ``functions``."""
    if legacy_functions:
        call = {"arguments": arguments} if name is None else {"name": name, "arguments": arguments}
        return {"function_call": call}
    fragment: dict[str, Any] = {"index": index}
    if call_id is not None:
        fragment["id"] = call_id
        fragment["type"] = kind
    body: dict[str, Any] = {"input" if kind == "custom" else "arguments": arguments}
    if name is not None:
        body["name"] = name
    fragment[kind] = body
    return {"tool_calls": [fragment]}


DONE_EVENT = "data: [DONE]\n\n"
"""The event that ends a chunk stream."""


def sse_event(document: dict[str, Any]) -> str:
    """One server-sent ``data:`` event of a JSON document (compact, non-ASCII kept)."""
    return f"data: {json.dumps(document, ensure_ascii=False, separators=(',', ':'))}\n\n"


@dataclass(frozen=True, slots=True)
class ChunkEvents:
    """The ``chat.completion.chunk`` events of one completion, validated or live."""

    request_id: str
    """The router's request id (the chunks' id is ``chatcmpl-<request id>``)."""
    created: int
    """Unix time of the request."""
    model: str
    """The catalog model answering."""

    def _base(self) -> dict[str, Any]:
        return {"id": f"chatcmpl-{self.request_id}", "object": "chat.completion.chunk",
                "created": self.created, "model": self.model}  # fmt: skip

    def chunk(
        self,
        delta: dict[str, Any],
        finish: str | None = None,
        logprobs: dict[str, Any] | None = None,
        **extra: Any,
    ) -> str:
        """A chunk with one choice carrying ``delta`` (and ``finish``, the delta's ``logprobs``), plus
        ``extra`` top-level keys."""
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs}
        return sse_event({**self._base(), "choices": [choice], **extra})

    def usage(self, usage: dict[str, Any]) -> str:
        """The usage chunk (no choices) sent when the request asked for ``include_usage``."""
        return sse_event({**self._base(), "choices": [], "usage": usage})


def stream_events(
    result: ExecutionResult, summary: dict[str, Any], created: int, request: ChatRequest
) -> str:
    """The checked answer as a ``text/event-stream`` body of ``chat.completion.chunk`` events."""
    events_of = ChunkEvents(summary["request_id"], created, result.model)
    chunk = events_of.chunk
    answer = result.answer
    legacy = request.legacy_functions
    events = [chunk({"role": "assistant", "content": ""})]
    content = answer.content or ""
    pieces = [
        content[start : start + STREAM_PIECE_CHARS] for start in range(0, len(content), STREAM_PIECE_CHARS)
    ]
    for number, piece in enumerate(pieces):
        first_logprobs = answer.logprobs if number == 0 and answer.logprobs is not None else None
        events.append(chunk({"content": piece}, logprobs=dict(first_logprobs) if first_logprobs else None))
    calls = answer.tool_calls[:1] if legacy else answer.tool_calls
    events += [
        chunk(tool_call_delta(index, call.id, call.name, call.arguments, call.kind, legacy))
        for index, call in enumerate(calls)
    ]
    events.append(chunk({}, _finish_reason(answer.finish_reason, legacy), router=summary))
    if request.stream_options is not None and request.stream_options.include_usage:
        events.append(events_of.usage(usage_of(result)))
    events.append(DONE_EVENT)
    return "".join(events)


MODEL_OWNER = "modelrouter"
"""``owned_by`` of ``auto`` and of routes (a model's is its provider)."""


def _range(values: list[float]) -> dict[str, float] | None:
    return {"min": min(values), "max": max(values)} if values else None


def _model_extension(model: ModelSpec) -> dict[str, Any]:
    pricing = model.pricing.model_dump(exclude_none=True)
    return {
        "kind": "model",
        "provider": model.provider.value,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "capabilities": sorted(model.capabilities),
        "residency": model.residency,
        "max_classification": model.max_classification.value,
        "pricing": pricing,
    }


def _choice_extension(named: Named) -> dict[str, Any]:
    models = named.models
    extension: dict[str, Any] = {"kind": named.kind}
    if named.route is not None:
        extension["strategy"] = named.route.strategy.value
    extension.update(
        models=[model.id for model in models],
        providers=sorted({model.provider.value for model in models}),
        context_window=max((model.context_window for model in models), default=None),
        capabilities=sorted(set().union(*(model.capabilities for model in models))),
        pricing_range={
            "input_per_mtok": _range([model.pricing.input_per_mtok for model in models]),
            "output_per_mtok": _range([model.pricing.output_per_mtok for model in models]),
        },
    )
    return extension


def model_object(named: Named) -> dict[str, Any]:
    """OpenAI's ``model`` object for a name the tenant may use, with a ``router`` extension.

    The extension says what the name is (``kind``: ``auto``, ``route`` or ``model``). A model adds its
    provider, context window, output limit, capabilities, residency, clearance and list prices per
    million tokens; ``auto`` and routes add the models that may answer (for this tenant), their
    providers, the largest context window, every capability one of them has and the range of their
    prices. Never an endpoint, a provider model id or a key reference.
    """
    if named.kind == "model":
        model = named.models[0]
        owner, extension = model.provider.value, _model_extension(model)
    else:
        owner, extension = MODEL_OWNER, _choice_extension(named)
    return {"id": named.id, "object": "model", "created": 0, "owned_by": owner, "router": extension}


def model_list(names: list[Named]) -> dict[str, Any]:
    """``GET /v1/models``: OpenAI's list of :func:`model_object` for every name the tenant may use."""
    return {"object": "list", "data": [model_object(named) for named in names]}


def chat_response(outcome: ChatOutcome) -> tuple[str, str]:
    """The response to a chat request: ``(body, content type)``, a JSON completion or an event stream."""
    summary = router_summary(
        outcome.decision,
        outcome.result,
        outcome.latency_ms,
        outcome.reserved_usd,
        overage_usd=outcome.closed.overage_usd,
    )
    created = int(outcome.started.timestamp())
    if outcome.request.stream:
        return stream_events(outcome.result, summary, created, outcome.request), "text/event-stream"
    body = completion(outcome.result, summary, created, legacy_functions=outcome.request.legacy_functions)
    return json.dumps(body, ensure_ascii=False), "application/json"
