"""Provider adapters behind one contract (:mod:`modelrouter.providers.types`).

Each adapter is a sub-package: ``mapping`` is pure request/response translation, ``stream_mapping`` the
pure translation of its stream, the client module does the I/O. Every built-in adapter is also a
:class:`StreamingProvider`. Nothing heavy (boto3, httpx) is imported until an adapter is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrouter.policy.common import ProviderKind
from modelrouter.providers.types import (
    Provider,
    ProviderCall,
    ProviderResult,
    ResultToolCall,
    StreamEnd,
    StreamEvent,
    StreamingProvider,
    TextDelta,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    import httpx

    from modelrouter.providers.secrets import KeyResolver

__all__ = [
    "Provider",
    "ProviderCall",
    "ProviderResult",
    "ResultToolCall",
    "StreamEnd",
    "StreamEvent",
    "StreamingProvider",
    "TextDelta",
    "ToolCallDelta",
    "Usage",
    "build_providers",
]


def build_providers(
    key_resolver: KeyResolver,
    *,
    http_client: httpx.Client | None = None,
    bedrock_endpoint_url: str | None = None,
) -> dict[ProviderKind, Provider]:
    """One adapter per provider kind, to be created once per container.

    ``bedrock_endpoint_url`` points Bedrock at another endpoint (local mode); ``http_client`` replaces
    the shared HTTP client (tests).
    """
    from modelrouter.providers.anthropic import AnthropicProvider
    from modelrouter.providers.bedrock import BedrockProvider
    from modelrouter.providers.openai import OpenAIProvider

    return {
        ProviderKind.BEDROCK: BedrockProvider(endpoint_url=bedrock_endpoint_url),
        ProviderKind.OPENAI: OpenAIProvider(key_resolver, http_client),
        ProviderKind.ANTHROPIC: AnthropicProvider(key_resolver, http_client),
    }
