"""Anthropic's Messages API."""

from __future__ import annotations

from modelrouter.providers.anthropic.client import AnthropicProvider
from modelrouter.providers.anthropic.errors import error_from_response
from modelrouter.providers.anthropic.mapping import (
    Endpoint,
    JsonTool,
    endpoint,
    forced_json_tool,
    parse_response,
    request_body,
)

__all__ = [
    "AnthropicProvider",
    "Endpoint",
    "JsonTool",
    "endpoint",
    "error_from_response",
    "forced_json_tool",
    "parse_response",
    "request_body",
]
