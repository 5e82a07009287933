"""Typed errors of tenant API keys; none of them ever carries a token or a secret."""

from __future__ import annotations

from modelrouter.errors import ModelRouterError

__all__ = ["ApiKeyError", "InvalidKeyFieldError", "KeyStoreError", "MalformedKeyError"]


class ApiKeyError(ModelRouterError):
    """Base class of the API key errors."""

    code = "api_key_error"


class MalformedKeyError(ApiKeyError):
    """A presented token is not of the form ``mr_<key_id>_<secret>``.

    The message names what is wrong (prefix, length, characters), never the token itself.
    """

    code = "malformed_api_key"
    http_status = 401
    error_type = "authentication_error"
    expose_message = True


class InvalidKeyFieldError(ApiKeyError):
    """A value given to create a key (tenant id, description) is empty, too long or not printable."""

    code = "invalid_key_field"
    http_status = 400
    error_type = "invalid_request_error"
    expose_message = True


class KeyStoreError(ApiKeyError):
    """The key table could not be read or written (missing table, no credentials, throttling …)."""

    code = "key_store_unavailable"
    http_status = 503
    error_type = "service_unavailable"
    public_message = "the key store could not be used; try again"
