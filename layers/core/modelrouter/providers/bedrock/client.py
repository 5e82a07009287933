"""The Amazon Bedrock provider adapter: one ``converse`` call per :class:`ProviderCall`."""

from __future__ import annotations

from modelrouter.policy.common import ProviderKind
from modelrouter.providers.bedrock.error_mapping import PROVIDER, error_from_exception
from modelrouter.providers.bedrock.mapping import from_converse_response, to_converse_request
from modelrouter.providers.bedrock.runtime import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_READ_TIMEOUT_S,
    ClientCache,
    ClientFactory,
    call_with_deadline,
    default_client_factory,
)
from modelrouter.providers.errors import BadRequestError, ProviderError
from modelrouter.providers.types import ProviderCall, ProviderResult

__all__ = ["BedrockProvider"]


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
        region = call.model.region
        if region is None:
            raise BadRequestError(f"model '{call.model.id}' has no Bedrock region", provider=PROVIDER)
        kwargs = to_converse_request(call)

        def converse() -> dict[str, object]:
            response: dict[str, object] = self._clients.get(region).converse(**kwargs)
            return response

        try:
            response = call_with_deadline(converse, call.timeout_s, f"Bedrock call to {call.model.id}")
        except ProviderError:
            raise
        except Exception as error:
            mapped = error_from_exception(error)
            if mapped is None:
                raise
            raise mapped from error
        return from_converse_response(response, call)
