"""Bedrock failures mapped to the provider error tree, in one place.

:func:`error_from_client_error` is pure: it maps a service error code (``ClientError``'s
``Error.Code``), its message and HTTP status. :func:`error_from_exception` also handles botocore's
transport exceptions; it imports botocore only when it is called, that is, after a failure.

``ValidationException`` is how every Bedrock model family reports a prompt that does not fit, each
in its own words. The messages seen in the wild (public issue trackers, 2023-2026) are::

    Input is too long for requested model.                                    (Claude, Llama 4, Nova)
    The model returned the following errors: prompt is too long: 200049 tokens > 200000 maximum
    The model returned the following errors: input length and `max_tokens` exceed context limit:
        196395 + 64000 > 204698, decrease input length or `max_tokens` and try again       (Claude)
    This model's maximum context length is 1048576 tokens ...                 (Llama, gpt-oss)
    400 Bad Request: Too many input tokens. Max input tokens: 8192, request input token count: 9279
    Malformed input request: expected maxLength: 50000, actual: 52611, please reformat your input
    The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum
        tokens value that is lower than 4096.

The last one is an answer budget (``maxTokens``) above the model's limit: the prompt plus answer
does not fit, so it is a :class:`ContextTooLongError` as well (a larger model may take it).
"""

from __future__ import annotations

import re

from modelrouter.providers.errors import (
    AuthError,
    BadRequestError,
    ContextTooLongError,
    MalformedResponseError,
    ModelNotFoundError,
    OverloadedError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)

__all__ = ["PROVIDER", "error_from_client_error", "error_from_exception", "error_from_stream_exception"]

PROVIDER = "bedrock"
"""The provider kind named on every error raised here."""

_MAX_MESSAGE = 500

_BY_CODE: dict[str, type[ProviderError]] = {
    "ThrottlingException": RateLimitedError,
    "ServiceQuotaExceededException": RateLimitedError,
    "TooManyRequestsException": RateLimitedError,
    "ServiceUnavailableException": OverloadedError,
    "ModelNotReadyException": OverloadedError,
    "ModelTimeoutException": ProviderTimeoutError,
    "InternalServerException": ProviderServerError,
    "ModelErrorException": ProviderServerError,
    "ModelStreamErrorException": ProviderServerError,
    "AccessDeniedException": AuthError,
    "UnrecognizedClientException": AuthError,
    "InvalidSignatureException": AuthError,
    "ExpiredTokenException": AuthError,
    "MissingAuthenticationTokenException": AuthError,
    "ResourceNotFoundException": ModelNotFoundError,
}

_TOO_LONG = re.compile(
    r"input is too long"
    r"|prompt is too long"
    r"|too many (input )?tokens"
    r"|exceeds? (the )?context (limit|length|window)"
    r"|maximum context length"
    r"|expected maxLength"
    r"|prompt: length: 1\.\."
    r"|maximum tokens you requested exceeds",
    re.IGNORECASE,
)

_PARAMETER = re.compile(r"^[A-Za-z ]*?(?:for parameter|parameter in) ([A-Za-z][\w.\[\]]*)", re.MULTILINE)


def error_from_client_error(code: str, message: str, status: int | None) -> ProviderError:
    """The provider error for a Bedrock service error ``code`` with its ``message`` and HTTP ``status``.

    Throttling and quota errors are :class:`RateLimitedError`; unavailable or not-ready models are
    :class:`OverloadedError`; a ``ValidationException`` whose message says the prompt does not fit
    is :class:`ContextTooLongError`, any other one :class:`BadRequestError`. Unknown codes fall back
    on the status: 429 rate limited, 5xx server error, anything else a bad request. The exception
    events of a stream name their type in camel case (``throttlingException``): the same codes.
    """
    code = code[:1].upper() + code[1:]
    text = f"Bedrock {code or 'error'}: {message[:_MAX_MESSAGE]}".rstrip(": ")
    if code == "ValidationException":
        cls: type[ProviderError] = ContextTooLongError if _TOO_LONG.search(message) else BadRequestError
    elif code in _BY_CODE:
        cls = _BY_CODE[code]
    elif status == 429:
        cls = RateLimitedError
    elif status is not None and status >= 500:
        cls = ProviderServerError
    else:
        cls = BadRequestError
    return cls(text, provider=PROVIDER, status=status)


def error_from_exception(error: BaseException) -> ProviderError | None:
    """The provider error for an exception botocore raised, or None when it is not botocore's.

    ``ClientError`` goes through :func:`error_from_client_error`; read and connect timeouts are
    :class:`ProviderTimeoutError`; missing credentials :class:`AuthError`; a request botocore's own
    parameter validation refused :class:`BadRequestError` (retrying cannot help); an endpoint that
    cannot be reached or that closed the connection before answering (``EndpointConnectionError``,
    ``SSLError``, ``ConnectionClosedError`` …) :class:`ProviderConnectionError`; other botocore errors
    :class:`ProviderServerError`.
    """
    from botocore import exceptions as boto

    if isinstance(error, boto.ClientError):
        details = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_from_client_error(
            str(details.get("Code", "")),
            str(details.get("Message", "")),
            status if isinstance(status, int) else None,
        )
    if isinstance(error, boto.ReadTimeoutError | boto.ConnectTimeoutError):
        return ProviderTimeoutError(f"Bedrock call timed out: {error}", provider=PROVIDER)
    if isinstance(error, boto.NoCredentialsError | boto.PartialCredentialsError):
        return AuthError(f"Bedrock credentials: {error}", provider=PROVIDER)
    if isinstance(error, boto.ParamValidationError):
        # The report quotes parameter values, which may be prompt text: name the parameters only.
        where = sorted(set(_PARAMETER.findall(str(error)))) or ["request"]
        return BadRequestError(
            f"Bedrock request refused by botocore's parameter validation: {', '.join(where)}",
            provider=PROVIDER,
        )
    if isinstance(error, boto.ConnectionError | boto.ConnectionClosedError):  # after the connect timeout
        return ProviderConnectionError(f"Bedrock could not be reached: {error}", provider=PROVIDER)
    if isinstance(error, boto.BotoCoreError):
        return ProviderServerError(f"Bedrock transport error: {error}", provider=PROVIDER)
    return None


def error_from_stream_exception(error: BaseException) -> ProviderError | None:
    """The provider error for an exception raised while reading a ``converse_stream`` event stream.

    Exception events arrive as botocore's ``EventStreamError`` (a ``ClientError``, mapped by
    :func:`error_from_exception`); a read timeout of the raw stream is a
    :class:`ProviderTimeoutError`; a connection that breaks is a :class:`ProviderServerError`; bytes
    that are not a valid event-stream message are a :class:`MalformedResponseError`. None when the
    exception is none of these.
    """
    from botocore.eventstream import ParserError
    from urllib3 import exceptions as urllib3

    if isinstance(error, urllib3.ReadTimeoutError):
        return ProviderTimeoutError("Bedrock stream stalled: read timed out", provider=PROVIDER)
    if isinstance(error, urllib3.HTTPError | ConnectionError):
        return ProviderServerError(
            f"Bedrock stream broke after it started: {type(error).__name__}", provider=PROVIDER
        )
    if isinstance(error, ParserError):
        return MalformedResponseError(
            f"Bedrock stream is not readable: {type(error).__name__}", provider=PROVIDER
        )
    return error_from_exception(error)
