"""``reasoning_effort`` as a Claude extended-thinking budget: one rule for Anthropic's API and for
Claude on Bedrock; pure.

Claude says how much to think with ``thinking: {type: enabled, budget_tokens: N}``; OpenAI with a
named effort. Each effort gets a budget (:data:`THINKING_BUDGETS`), capped at three quarters of the
call's ``max_tokens`` (thinking counts against it, so a quarter is left for the answer). Thinking is
only turned on where Claude accepts it, otherwise ``reasoning_effort`` is dropped and reported:

* the model has the ``reasoning`` capability;
* the budget is at least :data:`MIN_THINKING_TOKENS` (Claude's minimum);
* no tool is forced (a JSON-schema answer tool, ``tool_choice: required`` or a named tool): thinking
  allows only ``auto`` and ``none``;
* the conversation is not in the middle of a tool loop (an assistant tool call after the last user
  message): Claude then wants the earlier turn's thinking blocks back, which an OpenAI-shaped
  conversation does not carry.

``reasoning_effort: none`` means no thinking, which is honoured by not turning it on. With thinking
on, ``temperature`` and ``top_p`` are not sent (Claude refuses them with thinking).
"""

from __future__ import annotations

from typing import Any, Final

from modelrouter.policy.catalog import ModelSpec
from modelrouter.policy.common import Capability
from modelrouter.request import AssistantMessage, ChatRequest, UserMessage

__all__ = ["MIN_THINKING_TOKENS", "THINKING_BUDGETS", "thinking_budget", "thinking_config"]

THINKING_BUDGETS: Final = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 65536,
}
"""The thinking budget (tokens) of each ``reasoning_effort`` above ``none``."""
MIN_THINKING_TOKENS: Final = 1024
"""Claude's smallest ``budget_tokens``."""
_BUDGET_SHARE = 0.75
"""At most this share of ``max_tokens`` goes to thinking."""


def thinking_budget(
    request: ChatRequest, model: ModelSpec, max_tokens: int, *, forced_tool: bool
) -> int | None:
    """The ``budget_tokens`` to send, or None when thinking stays off (see the module's rules).

    ``forced_tool``: the call forces a tool (an answer tool, or the request's own choice).
    """
    effort = request.reasoning_effort
    if effort is None or effort == "none" or Capability.REASONING not in model.capabilities:
        return None
    if forced_tool or _in_tool_loop(request):
        return None
    budget = min(THINKING_BUDGETS[effort], int(max_tokens * _BUDGET_SHARE))
    return budget if budget >= MIN_THINKING_TOKENS else None


def thinking_config(budget: int) -> dict[str, Any]:
    """Claude's ``thinking`` object for ``budget`` tokens."""
    return {"type": "enabled", "budget_tokens": budget}


def _in_tool_loop(request: ChatRequest) -> bool:
    """Whether an assistant tool call came after the last user message."""
    for message in reversed(request.messages):
        if isinstance(message, UserMessage):
            return False
        if isinstance(message, AssistantMessage) and message.tool_calls:
            return True
    return False
