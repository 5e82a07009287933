"""Which OpenAI fields Bedrock's Converse API honours, and how the ones without a Converse field of
their own are mapped; pure.

* ``reasoning_effort`` → ``additionalModelRequestFields.thinking`` for Claude models on Bedrock (the
  same budgets and rules as Anthropic's own API, :mod:`~modelrouter.providers.thinking`); other
  model families have no common equivalent, so it is dropped for them.
* ``service_tier`` → ``serviceTier.type``: ``default``, ``flex``, ``priority`` (also for ``fast``)
  and ``reserved`` for OpenAI's ``scale`` (reserved capacity in both); ``auto`` sends nothing.
* ``safety_identifier``, or ``user`` hashed (:mod:`~modelrouter.providers.end_user`), →
  ``requestMetadata`` :data:`END_USER_KEY`, beside the router's request id: Bedrock's invocation
  logs can then be filtered by end user.

:data:`HONOURED_FIELDS` lists every field Bedrock receives or has mapped; :func:`dropped_fields` says
which of them a call drops all the same.
"""

from __future__ import annotations

import re
from typing import Any, Final

from modelrouter.policy.catalog import ModelSpec
from modelrouter.providers.bedrock.messages import DOCUMENT_FORMATS
from modelrouter.providers.documents import unreadable_files
from modelrouter.providers.thinking import thinking_budget, thinking_config
from modelrouter.request import ChatRequest, ResponseFormatJsonSchema
from modelrouter.request_fields import COMMON_FIELDS

__all__ = [
    "END_USER_KEY",
    "HONOURED_FIELDS",
    "REQUEST_ID_KEY",
    "SERVICE_TIERS",
    "additional_fields",
    "dropped_fields",
    "forced_schema_tool",
    "forces_tool",
    "offered_tools",
    "request_metadata_value",
    "service_tier",
    "thinking_budget_of",
]

HONOURED_FIELDS: Final = COMMON_FIELDS
"""The request fields (besides the router's own) Bedrock receives or has mapped."""
SERVICE_TIERS: Final = {"default": "default", "flex": "flex", "priority": "priority", "fast": "priority",
                        "scale": "reserved"}  # fmt: skip
"""OpenAI's ``service_tier`` values as Converse's ``serviceTier.type`` (``auto`` sends none)."""
REQUEST_ID_KEY: Final = "modelrouter_request_id"
"""``requestMetadata`` key carrying the router's request id (shown in Bedrock invocation logs)."""
END_USER_KEY: Final = "modelrouter_end_user"
"""``requestMetadata`` key carrying the end user's id (``safety_identifier``, or ``user`` hashed)."""

_METADATA_INVALID: Final = re.compile(r"[^a-zA-Z0-9\s:_@$#=/+,.\-]")
"""Characters outside the service model's ``RequestMetadata`` value pattern."""
_CLAUDE: Final = re.compile(r"(^|[.:/])anthropic\.claude", re.IGNORECASE)
"""Claude model ids, inference profiles (``us.anthropic.claude-…``) and ARNs naming one."""


def thinking_budget_of(
    request: ChatRequest, model: ModelSpec, max_tokens: int, *, forced_tool: bool
) -> int | None:
    """The thinking budget to send a Claude model, or None (other families, or thinking not possible)."""
    if not _CLAUDE.search(model.model_id):
        return None
    return thinking_budget(request, model, max_tokens, forced_tool=forced_tool)


def additional_fields(thinking: int | None) -> dict[str, Any]:
    """``additionalModelRequestFields`` for a thinking budget (empty without one)."""
    return {"thinking": thinking_config(thinking)} if thinking is not None else {}


def service_tier(request: ChatRequest) -> str | None:
    """The ``serviceTier.type`` to send, or None."""
    return SERVICE_TIERS.get(request.service_tier) if request.service_tier is not None else None


def request_metadata_value(value: str) -> str:
    """``value`` fitted to the ``RequestMetadata`` value pattern (``[a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}``)."""
    return _METADATA_INVALID.sub("_", value)[:256]


def dropped_fields(request: ChatRequest, model: ModelSpec, max_tokens: int) -> frozenset[str]:
    """The fields of :data:`HONOURED_FIELDS` a call of ``model`` with ``max_tokens`` drops: an effort
    that cannot become thinking, sampling while thinking, files Converse cannot read."""
    dropped: set[str] = set()
    thinking = thinking_budget_of(request, model, max_tokens, forced_tool=forces_tool(request))
    if thinking is not None:
        dropped |= {"temperature", "top_p"}
    elif request.reasoning_effort not in (None, "none"):
        dropped.add("reasoning_effort")
    if unreadable_files(request, DOCUMENT_FORMATS):
        dropped.add("messages.content.file")
    return frozenset(dropped)


def forced_schema_tool(request: ChatRequest) -> str | None:
    """Name of the tool forced to carry a JSON-schema answer, or None when the request uses none.

    A tool is forced when the request asks for ``json_schema``, offers no tools of its own (or
    disables them with ``tool_choice: none``), and the schema describes an object: tool inputs are
    JSON objects, so other schemas go into an instruction instead.
    """
    if not isinstance(request.response_format, ResponseFormatJsonSchema) or offered_tools(request):
        return None
    schema = request.json_schema or {}
    if schema.get("type") != "object" and "properties" not in schema:
        return None
    return request.response_format.json_schema.name


def offered_tools(request: ChatRequest) -> bool:
    """Whether the call offers the request's own tools (some, and ``tool_choice`` is not ``none``)."""
    use = request.tool_use
    return bool(use.tools) and use.mode != "none"


def forces_tool(request: ChatRequest) -> bool:
    """Whether the call forces a tool: the JSON-schema answer tool, ``required`` or a named tool."""
    use = request.tool_use
    if offered_tools(request):
        return use.mode == "required" or use.name is not None
    return forced_schema_tool(request) is not None
