"""The Anthropic provider: resolves the key, sends the call, maps the answer or the failure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from modelrouter.policy.common import ProviderKind
from modelrouter.providers.anthropic.errors import error_from_response
from modelrouter.providers.anthropic.mapping import (
    PROVIDER,
    endpoint,
    forced_json_tool,
    parse_response,
    request_body,
)
from modelrouter.providers.anthropic.stream_mapping import MessageEventReader
from modelrouter.providers.errors import AuthError, ProviderError
from modelrouter.providers.http import decode_json, post_json
from modelrouter.providers.http_stream import read_sse, stream_post
from modelrouter.providers.secrets import KeyResolver
from modelrouter.providers.types import ProviderCall, ProviderResult, StreamEvent
from modelrouter.request_tools import custom_tool_names

if TYPE_CHECKING:
    import httpx

__all__ = ["AnthropicProvider"]


class AnthropicProvider:
    """Calls Anthropic's Messages API."""

    kind: ProviderKind = ProviderKind.ANTHROPIC
    """Always ``anthropic``."""

    def __init__(self, key_resolver: KeyResolver, client: httpx.Client | None = None) -> None:
        """``client`` replaces the container's shared HTTP client (tests)."""
        self._keys = key_resolver
        self._client = client

    def complete(self, call: ProviderCall) -> ProviderResult:
        """Call the model within ``call.timeout_s``; raise a typed provider error on failure."""
        key = self._key(call)
        target = endpoint(call.model, key)
        body = request_body(call)
        response = post_json(
            target.url,
            target.headers,
            body,
            call.timeout_s,
            provider=PROVIDER,
            client=self._client,
            first_byte_timeout_s=call.first_byte_timeout_s,
        )
        if not 200 <= response.status < 300:
            raise error_from_response(response.status, response.body, response.headers, secrets=(key,))
        json_tool = forced_json_tool(call.request)
        return parse_response(
            decode_json(response.body, PROVIDER),
            json_tool=json_tool.name if json_tool is not None else None,
            default_model=call.model.model_id,
            custom_tools=custom_tool_names(call.request.tools),
        )

    def stream(self, call: ProviderCall) -> Iterator[StreamEvent]:
        """Stream the answer (see :class:`~modelrouter.providers.types.StreamingProvider`).

        The request is the complete call's with ``stream: true``;
        :mod:`~modelrouter.providers.anthropic.stream_mapping` reads the events and
        :func:`~modelrouter.providers.http_stream.stream_post` bounds the waits.
        """
        key = self._key(call)
        target = endpoint(call.model, key)

        def failed(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
            return error_from_response(status, body, headers, secrets=(key,))

        chunks = stream_post(
            target.url,
            target.headers,
            {**request_body(call), "stream": True},
            call.timeout_s,
            error_from_response=failed,
            provider=PROVIDER,
            client=self._client,
            first_byte_timeout_s=call.first_byte_timeout_s,
        )
        json_tool = forced_json_tool(call.request)
        reader = MessageEventReader(
            json_tool=json_tool.name if json_tool is not None else None,
            default_model=call.model.model_id,
            secrets=(key,),
            custom_tools=custom_tool_names(call.request.tools),
        )
        yield from read_sse(chunks, reader)

    def _key(self, call: ProviderCall) -> str:
        if call.model.api_key is None:
            raise AuthError(f"model {call.model.id!r} has no api_key", provider=PROVIDER)
        return self._keys.api_key(call.model.api_key)
