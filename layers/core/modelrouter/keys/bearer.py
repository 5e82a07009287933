"""The API key of an HTTP request: ``Authorization: Bearer <token>`` (OpenAI's clients) or
``x-api-key: <token>`` (Anthropic's clients, Claude Code). Pure parsing, no I/O."""

from __future__ import annotations

from collections.abc import Mapping

from modelrouter.keys.errors import MalformedKeyError

__all__ = ["API_KEY_HEADER", "MAX_HEADER_LENGTH", "MISSING_KEY", "api_key", "bearer_token"]

MAX_HEADER_LENGTH = 256
"""Longer ``authorization`` values are refused before they are looked at (a token has 59 characters)."""
API_KEY_HEADER = "x-api-key"
"""The header Anthropic's clients send the key in."""
MISSING_KEY = "no API key"
"""What :class:`MalformedKeyError` says when a request carries neither header."""


def _header(headers: Mapping[str, object] | None, wanted: str) -> object:
    """The value of header ``wanted`` (names matched case-insensitively), or None."""
    for name, value in (headers or {}).items():
        if isinstance(name, str) and name.lower() == wanted:
            return value
    return None


def _checked(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise MalformedKeyError(f"the {name} header is not a string")
    if len(value) > MAX_HEADER_LENGTH:
        raise MalformedKeyError(f"the {name} header is longer than {MAX_HEADER_LENGTH} characters")
    return value


def bearer_token(headers: Mapping[str, object] | None) -> str:
    """The token of the request's ``authorization`` header.

    The header name is matched case-insensitively (API Gateway's payload 2.0 lower-cases names, other
    callers may not); the scheme is ``Bearer``, case-insensitive as RFC 9110 says, followed by exactly
    one space and the token. The token itself is checked by :func:`~modelrouter.keys.format.parse_token`.

    Raises:
        MalformedKeyError: no such header, a header too long, another scheme, or no token.
    """
    value = _header(headers, "authorization")
    if value is None:
        raise MalformedKeyError("no authorization header")
    scheme, space, token = _checked(value, "authorization").partition(" ")
    if not space or scheme.lower() != "bearer":
        raise MalformedKeyError("the authorization header is not 'Bearer <token>'")
    if not token:
        raise MalformedKeyError("the authorization header has no token")
    return token


def api_key(headers: Mapping[str, object] | None) -> str:
    """The request's API key: the ``Bearer`` token of ``authorization`` when that header is there (it
    wins: Claude Code may send another vendor's key in ``x-api-key`` next to a router key in
    ``authorization``), else the value of ``x-api-key``.

    Raises:
        MalformedKeyError: neither header (the message is :data:`MISSING_KEY`), or the one read is not
            a string, too long, not ``Bearer <token>`` or empty.
    """
    if _header(headers, "authorization") is not None:
        return bearer_token(headers)
    value = _header(headers, API_KEY_HEADER)
    if value is None:
        raise MalformedKeyError(MISSING_KEY)
    token = _checked(value, API_KEY_HEADER).strip()
    if not token:
        raise MalformedKeyError(f"the {API_KEY_HEADER} header is empty")
    return token
