"""The deprecated function-calling fields of a chat request, as tools.

OpenAI's ``functions`` / ``function_call`` pair and the ``function`` role predate tools; the ``openai``
package still sends them. The router turns them into their tool equivalents once, when the request is
validated, so everything downstream (features, routing, every provider) sees tools only:

* ``functions`` become function ``tools`` (after the request's own tools, if it has both);
  ``function_call`` becomes ``tool_choice`` (``none``, ``auto``, or the named function) unless the
  request has a ``tool_choice`` of its own, which wins (``function_call`` is then reported ignored);
  one call per turn (``parallel_tool_calls: false``), as before tools.
* An assistant's ``function_call`` becomes a tool call with the id ``call_<message index>``, and the
  ``function`` message answering it a ``tool`` message with that id.

The request keeps ``functions`` and ``function_call`` as sent. A request with ``functions`` and no
tools of its own gets its answer in the old form (``message.function_call``, ``finish_reason:
"function_call"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelrouter.request_messages import AssistantMessage, FunctionMessage, Message, ToolMessage
from modelrouter.request_tool_choice import NamedToolChoice, NamedToolChoiceFunction
from modelrouter.request_tools import FunctionCallOption, FunctionDefinition, ToolCall, ToolDefinition

if TYPE_CHECKING:
    from modelrouter.request import ChatRequest

__all__ = ["LEGACY_CALL_PREFIX", "legacy_problem", "modernized"]

LEGACY_CALL_PREFIX = "call_"
"""Tool call ids given to legacy function calls: this prefix and the message's index."""


def legacy_problem(request: ChatRequest) -> tuple[str, str] | None:
    """``(field, message)`` when ``function_call`` does not fit ``functions``, else None."""
    if request.function_call is not None:
        if request.functions is None:
            return "function_call", "function_call needs functions"
        if isinstance(request.function_call, FunctionCallOption):
            names = {function.name for function in request.functions}
            if request.function_call.name not in names:
                return (
                    "function_call",
                    f"function_call names '{request.function_call.name}', not in functions",
                )
    return None


def modernized(request: ChatRequest) -> ChatRequest:
    """``request`` with its legacy function fields and messages as tools (itself when it has none)."""
    legacy_messages = any(_is_legacy(message) for message in request.messages)
    if request.functions is None and not legacy_messages:
        return request
    update: dict[str, Any] = {}
    if legacy_messages:
        update["messages"] = _messages(request.messages)
    if request.functions is not None:
        converted = [
            ToolDefinition(
                type="function", function=FunctionDefinition(**function.model_dump(exclude_unset=True))
            )
            for function in request.functions
        ]
        update["tools"] = [*(request.tools or ()), *converted] or None
        choice = request.function_call
        if isinstance(choice, FunctionCallOption) and request.tool_choice is None:
            update["tool_choice"] = NamedToolChoice(
                type="function", function=NamedToolChoiceFunction(name=choice.name)
            )
        elif choice is not None and request.tool_choice is None:
            update["tool_choice"] = choice
        if request.parallel_tool_calls is None:
            update["parallel_tool_calls"] = False
    modern = request.model_copy(update=update)
    modern._sent = frozenset(request.model_fields_set)
    modern._legacy_answer = request.functions is not None and request.tools is None
    if request.function_call is not None and request.tool_choice is not None:
        modern._overridden = frozenset({"function_call"})
    return modern


def _is_legacy(message: Message) -> bool:
    return isinstance(message, FunctionMessage) or (
        isinstance(message, AssistantMessage) and message.function_call is not None
    )


def _messages(messages: list[Message]) -> list[Message]:
    """The messages with function calls as tool calls and function results as tool messages."""
    converted: list[Message] = []
    open_calls: dict[str, str] = {}  # function name -> id of its latest unanswered call
    for index, message in enumerate(messages):
        if isinstance(message, AssistantMessage) and message.function_call is not None:
            call_id = f"{LEGACY_CALL_PREFIX}{index}"
            open_calls[message.function_call.name] = call_id
            calls = [*(message.tool_calls or ()), ToolCall(id=call_id, function=message.function_call)]
            converted.append(message.model_copy(update={"function_call": None, "tool_calls": calls}))
        elif isinstance(message, FunctionMessage):
            call_id = open_calls.pop(message.name, f"{LEGACY_CALL_PREFIX}{index}")
            converted.append(
                ToolMessage(
                    role="tool", content=message.content or "", tool_call_id=call_id, name=message.name
                )
            )
        else:
            converted.append(message)
    return converted
