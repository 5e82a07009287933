"""The OpenAI-compatible provider: resolves the key, sends the call, maps the answer or the failure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from modelrouter.policy.common import ProviderKind
from modelrouter.providers.errors import ProviderError
from modelrouter.providers.http import decode_json, post_json
from modelrouter.providers.http_stream import read_sse, stream_post
from modelrouter.providers.openai.errors import error_from_response
from modelrouter.providers.openai.mapping import PROVIDER, endpoint, parse_response, request_body
from modelrouter.providers.openai.stream_mapping import ChunkReader, stream_request_body
from modelrouter.providers.secrets import KeyResolver
from modelrouter.providers.types import ProviderCall, ProviderResult, StreamEvent

if TYPE_CHECKING:
    import httpx

__all__ = ["OpenAIProvider"]


class OpenAIProvider:
    """Calls any OpenAI-compatible Chat Completions endpoint (OpenAI, Azure, Mistral, vLLM, Ollama …)."""

    kind: ProviderKind = ProviderKind.OPENAI
    """Always ``openai``."""

    def __init__(self, key_resolver: KeyResolver, client: httpx.Client | None = None) -> None:
        """``client`` replaces the container's shared HTTP client (tests)."""
        self._keys = key_resolver
        self._client = client

    def complete(self, call: ProviderCall) -> ProviderResult:
        """Call the model within ``call.timeout_s``; raise a typed provider error on failure."""
        key = self._key(call)
        target = endpoint(call.model, key, call.request_id)
        response = post_json(
            target.url,
            target.headers,
            request_body(call),
            call.timeout_s,
            provider=PROVIDER,
            client=self._client,
            first_byte_timeout_s=call.first_byte_timeout_s,
        )
        if not 200 <= response.status < 300:
            secrets = (key,) if key else ()
            raise error_from_response(response.status, response.body, response.headers, secrets=secrets)
        data = decode_json(response.body, PROVIDER)
        return parse_response(data, response.headers, default_model=call.model.model_id)

    def stream(self, call: ProviderCall) -> Iterator[StreamEvent]:
        """Stream the answer (see :class:`~modelrouter.providers.types.StreamingProvider`).

        The request is the complete call's with ``stream: true`` and usage asked for at the end;
        :mod:`~modelrouter.providers.openai.stream_mapping` reads the chunks and
        :func:`~modelrouter.providers.http_stream.stream_post` bounds the waits.
        """
        key = self._key(call)
        secrets = (key,) if key else ()
        target = endpoint(call.model, key, call.request_id)

        def failed(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
            return error_from_response(status, body, headers, secrets=secrets)

        chunks = stream_post(
            target.url,
            target.headers,
            stream_request_body(call),
            call.timeout_s,
            error_from_response=failed,
            provider=PROVIDER,
            client=self._client,
            first_byte_timeout_s=call.first_byte_timeout_s,
        )
        yield from read_sse(chunks, ChunkReader(default_model=call.model.model_id, secrets=secrets))

    def _key(self, call: ProviderCall) -> str | None:
        return self._keys.api_key(call.model.api_key) if call.model.api_key is not None else None
