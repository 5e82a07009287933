"""Money before and after a call: what a request reserves, what one call may spend, what it cost.

The budget invariants live here as arithmetic:

* a request reserves ``budget_reserve_calls`` worst-case calls of its costliest candidate, where a
  second call's prompt includes a repair turn (the rejected answer plus the feedback) when the route
  repairs JSON answers, and images count at their token price;
* each call's ``max_tokens`` is clamped so that its worst case fits what the reservation still
  covers, so a provider that honours ``max_tokens`` can never make a request cost more than it held;
* an answer without usage is charged from the router's own estimate of what was sent and received.
"""

from __future__ import annotations

import math

from modelrouter.features.tokens import estimate_request_tokens, estimate_tokens
from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.document import Policy
from modelrouter.pricing import cost_usd
from modelrouter.providers.types import ProviderResult, Usage
from modelrouter.request import ChatRequest
from modelrouter.selection.decision import Candidate, Decision

__all__ = [
    "MIN_CLAMPED_OUTPUT_TOKENS",
    "REPAIR_TURN_TOKENS",
    "affordable_output_tokens",
    "estimated_usage",
    "max_tokens_that_fit",
    "reserve_amount",
]

REPAIR_TURN_TOKENS = 400
"""Prompt tokens a repair turn adds besides the rejected answer (instruction and validation errors)."""
MIN_CLAMPED_OUTPUT_TOKENS = 16
"""A call whose affordable ``max_tokens`` is below this (or the candidate's own) is skipped instead."""
_PER_MILLION = 1_000_000


def _repairs(decision: Decision, calls: int) -> int:
    check = decision.checks.json_schema
    if decision.features.response_format != "json_schema" or check.on_failure != "repair":
        return 0
    return min(check.max_repairs, calls - 1)


def _request_worst_case(
    policy: Policy, decision: Decision, candidate: Candidate, max_output_tokens: int
) -> float:
    model = policy.model_by_id[candidate.model]
    calls = policy.execution.budget_reserve_calls
    prompt = decision.features.prompt_tokens
    repairs = _repairs(decision, calls)
    repaired_prompt = prompt + max_output_tokens + REPAIR_TURN_TOKENS
    return (calls - repairs) * cost_usd(model, prompt, max_output_tokens) + repairs * cost_usd(
        model, repaired_prompt, max_output_tokens
    )


def reserve_amount(decision: Decision, policy: Policy) -> float:
    """What a request reserves: ``budget_reserve_calls`` worst-case calls of its costliest candidate,
    repair turns included where the route repairs JSON answers."""
    return max(
        _request_worst_case(policy, decision, candidate, candidate.max_output_tokens)
        for candidate in decision.candidates
    )


def max_tokens_that_fit(decision: Decision, policy: Policy, available_usd: float) -> int:
    """The largest ``max_tokens`` whose reservation fits ``available_usd`` (0 when none does).

    The reservation covers the costliest candidate, so the hint is what fits every candidate.
    """
    return min(_fitting_tokens(policy, decision, c, available_usd) for c in decision.candidates)


def _fitting_tokens(policy: Policy, decision: Decision, candidate: Candidate, available_usd: float) -> int:
    low, high = 0, candidate.max_output_tokens
    while low < high:  # the reservation grows with max_tokens: the largest that fits
        middle = (low + high + 1) // 2
        if _request_worst_case(policy, decision, candidate, middle) <= available_usd:
            low = middle
        else:
            high = middle - 1
    return low


def affordable_output_tokens(
    model: ModelSpec, conversation: ChatRequest, ceiling: int, left_usd: float | None
) -> tuple[int, int]:
    """``(max_tokens, prompt_tokens)`` for a call of ``conversation``: ``ceiling`` clamped so that the
    call's worst case fits ``left_usd`` (no clamp when it is None); ``max_tokens`` 0 when nothing fits."""
    prompt = estimate_request_tokens(conversation)
    if left_usd is None:
        return ceiling, prompt
    room = left_usd * _PER_MILLION - prompt * model.pricing.input_per_mtok
    if room < 0:
        return 0, prompt
    if model.pricing.output_per_mtok == 0:
        return ceiling, prompt
    # A hair below the exact quotient so float rounding can never put the worst case over the limit.
    return max(0, min(ceiling, math.floor(room / model.pricing.output_per_mtok * (1 - 1e-9)))), prompt


def estimated_usage(prompt_tokens: int, answer: ProviderResult | None) -> Usage:
    """Usage for a call the provider reported none for: the prompt sent and the answer received."""
    output = 0
    if answer is not None:
        output = estimate_tokens(answer.content or "")
        for call in answer.tool_calls:
            output += estimate_tokens(call.name) + estimate_tokens(call.arguments)
    return Usage(input_tokens=prompt_tokens, output_tokens=max(output, 1 if answer is not None else 0))
