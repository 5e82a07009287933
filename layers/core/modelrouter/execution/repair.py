"""The repair turn: show the model its invalid JSON answer and what was wrong, and ask again."""

from __future__ import annotations

from modelrouter.providers.types import ProviderResult
from modelrouter.request import AssistantMessage, ChatRequest, UserMessage

__all__ = ["REPAIR_INSTRUCTION", "with_repair_turn"]

REPAIR_INSTRUCTION = (
    "Your previous answer does not satisfy the required JSON schema:\n{problems}\n"
    "Answer again with only the corrected JSON, nothing else."
)
"""The user turn appended for a repair; ``{problems}`` lists the validation errors."""


def with_repair_turn(request: ChatRequest, answer: ProviderResult, problems: str) -> ChatRequest:
    """``request`` with the invalid answer and a correction request appended."""
    turns = [
        AssistantMessage(role="assistant", content=answer.content or ""),
        UserMessage(role="user", content=REPAIR_INSTRUCTION.format(problems=problems)),
    ]
    return request.model_copy(update={"messages": [*request.messages, *turns]})
