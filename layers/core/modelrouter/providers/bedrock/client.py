"""The Amazon Bedrock provider adapter: one ``converse`` call per :class:`ProviderCall`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from modelrouter.policy.common import ProviderKind
from modelrouter.providers.bedrock.error_mapping import PROVIDER, error_from_stream_exception
from modelrouter.providers.bedrock.mapping import from_converse_response, to_converse_request
from modelrouter.providers.bedrock.runtime import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_READ_TIMEOUT_S,
    ClientCache,
    ClientFactory,
    call_with_deadline,
    default_client_factory,
)
from modelrouter.providers.bedrock.stream_mapping import ConverseStreamReader
from modelrouter.providers.errors import BadRequestError, ProviderError, ProviderTimeoutError
from modelrouter.providers.stream_reader import translate
from modelrouter.providers.types import ProviderCall, ProviderResult, StreamEvent

__all__ = ["BedrockProvider"]

_T = TypeVar("_T")


class BedrockProvider:
    """Calls Bedrock models through the Converse API, with IAM credentials from the environment.

    Construct one per container and reuse it: it keeps one client per region. Every call is a
    single attempt bounded by ``call.timeout_s``; the executor decides about retries.
    """

    kind: ProviderKind = ProviderKind.BEDROCK
    """Always ``bedrock``."""

    def __init__(
        self,
        *,
        client_factory: ClientFactory | None = None,
        endpoint_url: str | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        """Create the adapter; no client is created until the first call.

        Args:
            client_factory: Creates the client of a region; tests pass one returning a stubbed
                client. The default creates real single-attempt boto3 clients.
            endpoint_url: Endpoint for the default factory instead of AWS's (local mode).
            connect_timeout_s: Connect timeout of the default factory's clients.
            read_timeout_s: Read-timeout ceiling of the default factory's clients.
        """
        factory = client_factory or default_client_factory(
            endpoint_url=endpoint_url, connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s
        )
        self._clients = ClientCache(factory)

    def complete(self, call: ProviderCall) -> ProviderResult:
        """Call the model; raise a :class:`~modelrouter.providers.errors.ProviderError` on failure.

        Raises:
            BadRequestError: the request cannot be expressed for Bedrock, or Bedrock refused it.
            ProviderTimeoutError: no answer within ``call.timeout_s``.
            ProviderError: any other failure, mapped by
                :func:`~modelrouter.providers.bedrock.error_mapping.error_from_exception`.
        """
        region = _region(call)
        kwargs = to_converse_request(call)

        def converse() -> dict[str, object]:
            response: dict[str, object] = self._clients.get(region).converse(**kwargs)
            return response

        what = f"Bedrock call to {call.model.id}"
        response = _mapped(lambda: call_with_deadline(converse, call.timeout_s, what))
        return from_converse_response(response, call)

    def stream(self, call: ProviderCall) -> Iterator[StreamEvent]:
        """Stream the answer with ``converse_stream`` (see
        :class:`~modelrouter.providers.types.StreamingProvider`).

        Deadlines: the response headers are awaited at most the first-byte timeout (the call's
        timeout when None), bounded by :func:`~.runtime.call_with_deadline`. After that, boto3 has
        only the client-level read timeout: the call's total deadline is enforced between events
        (checked as each one arrives), so a stream that stalls inside one read is bounded by the
        client's ``read_timeout`` only, not by ``first_byte_timeout_s``.

        Raises:
            ProviderError: as :meth:`complete`; exception events in the stream mapped the same way;
                a stream that ends without ``messageStop`` is a ``MalformedResponseError``.
        """
        region = _region(call)
        kwargs = to_converse_request(call)
        deadline = time.monotonic() + call.timeout_s
        first_wait = min(call.first_byte_timeout_s or call.timeout_s, call.timeout_s)

        def open_stream() -> dict[str, Any]:
            response: dict[str, Any] = self._clients.get(region).converse_stream(**kwargs)
            return response

        what = f"Bedrock stream from {call.model.id}"
        response = _mapped(lambda: call_with_deadline(open_stream, first_wait, what, on_abandoned=_close))
        events = response["stream"]
        metadata = response.get("ResponseMetadata")
        request_id = metadata.get("RequestId") if isinstance(metadata, dict) else None
        reader = ConverseStreamReader(call, response_id=request_id)
        yield from translate(_events(events, deadline, what, call.timeout_s), reader, events.close)


def _events(events: Any, deadline: float, what: str, timeout_s: float) -> Iterator[dict[str, Any]]:
    """The parsed events of a botocore ``EventStream``, failures mapped, none read past ``deadline``."""
    iterator = iter(events)
    while (event := _mapped(lambda: next(iterator, None))) is not None:
        if time.monotonic() > deadline:
            raise ProviderTimeoutError(f"{what} not finished within {timeout_s:g} s", provider=PROVIDER)
        yield event


def _region(call: ProviderCall) -> str:
    if call.model.region is None:
        raise BadRequestError(f"model '{call.model.id}' has no Bedrock region", provider=PROVIDER)
    return call.model.region


def _mapped(function: Callable[[], _T]) -> _T:
    """``function()``, its botocore and stream failures raised as provider errors."""
    try:
        return function()
    except ProviderError:
        raise
    except Exception as error:
        mapped = error_from_stream_exception(error)
        if mapped is None:
            raise
        raise mapped from error


def _close(response: dict[str, Any]) -> None:
    """Close the event stream of a ``converse_stream`` response nobody waited for."""
    response["stream"].close()
