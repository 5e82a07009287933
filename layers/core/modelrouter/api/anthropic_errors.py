"""Anthropic's error objects: ``{"type": "error", "error": {"type": …, "message": …}}``.

The status of an error is the router's one mapping (:func:`modelrouter.api.errors.http_error`); only
the shape changes on the Messages API. The error ``type`` follows the status as Anthropic's API uses
them; the router's ``code``, ``param``, ``problems`` and ``router`` details are kept beside it.
"""

from __future__ import annotations

from typing import Any

from modelrouter.api.errors import HttpError

__all__ = ["error_document", "in_anthropic_dialect"]

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                503: "overloaded_error", 529: "overloaded_error"}  # fmt: skip
"""Anthropic's error type of each status; other 4xx are ``invalid_request_error``, other 5xx ``api_error``."""


def error_document(status: int, message: str, **details: Any) -> dict[str, Any]:
    """An Anthropic error object for ``status`` (``details``: the router's ``code``, ``param`` …)."""
    error_type = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": error_type, "message": message, **details}}


def in_anthropic_dialect(error: HttpError) -> HttpError:
    """``error`` (an OpenAI error response) as Anthropic's error object: same status and headers, its
    message, and the router's ``code``, ``param``, ``problems`` and ``router`` details kept."""
    openai_error = dict(error.body.get("error") or {})
    message_text = str(openai_error.pop("message", "") or "error")
    openai_error.pop("type", None)
    details = {key: value for key, value in openai_error.items() if value is not None}
    document = error_document(error.status, message_text, **details)
    document.update({key: value for key, value in error.body.items() if key != "error"})
    return HttpError(error.status, document, dict(error.headers))
