"""The ``Authorization: Bearer <token>`` header of an HTTP API request: pure parsing, no I/O."""

from __future__ import annotations

from collections.abc import Mapping

from modelrouter.keys.errors import MalformedKeyError

__all__ = ["MAX_HEADER_LENGTH", "bearer_token"]

MAX_HEADER_LENGTH = 256
"""Longer ``authorization`` values are refused before they are looked at (a token has 59 characters)."""


def bearer_token(headers: Mapping[str, object] | None) -> str:
    """The token of the request's ``authorization`` header.

    The header name is matched case-insensitively (API Gateway's payload 2.0 lower-cases names, other
    callers may not); the scheme is ``Bearer``, case-insensitive as RFC 9110 says, followed by exactly
    one space and the token. The token itself is checked by :func:`~modelrouter.keys.format.parse_token`.

    Raises:
        MalformedKeyError: no such header, a header too long, another scheme, or no token.
    """
    value: object = None
    for name, header_value in (headers or {}).items():
        if isinstance(name, str) and name.lower() == "authorization":
            value = header_value
            break
    if value is None:
        raise MalformedKeyError("no authorization header")
    if not isinstance(value, str):
        raise MalformedKeyError("the authorization header is not a string")
    if len(value) > MAX_HEADER_LENGTH:
        raise MalformedKeyError(f"the authorization header is longer than {MAX_HEADER_LENGTH} characters")
    scheme, space, token = value.partition(" ")
    if not space or scheme.lower() != "bearer":
        raise MalformedKeyError("the authorization header is not 'Bearer <token>'")
    if not token:
        raise MalformedKeyError("the authorization header has no token")
    return token
