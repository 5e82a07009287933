"""Domain errors to HTTP, in one place: OpenAI-style error objects with the right status.

The status, OpenAI error type and whether the message may be shown come from the error's class (see
:mod:`modelrouter.errors`), never from a table of codes. Errors whose message is internal answer with
their ``public_message``; anything that is not a :class:`ModelRouterError` is the handlers' generic 500
(the traceback is logged, never returned).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from modelrouter.api.openai_format import attempt_summary
from modelrouter.errors import InvalidRequestError, ModelRouterError, NoEligibleModelError

__all__ = ["UPSTREAM_RETRY_AFTER_S", "HttpError", "error_body", "http_error", "retry_after_header"]

UPSTREAM_RETRY_AFTER_S: Final = 1.0
"""``Retry-After`` of a 502 or 504 whose error knows no better: the failure was upstream or slow, so an
immediate retry is likely to meet the same; a short pause is enough for another model or a reopened
circuit."""
_ALWAYS_RETRY_AFTER: Final = frozenset({502, 504})


@dataclass(frozen=True)
class HttpError:
    """An error response."""

    status: int
    """HTTP status."""
    body: dict[str, Any]
    """OpenAI error object (``{"error": {...}}``), plus router details where useful."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra headers (``Retry-After``)."""


def error_body(message: str, error_type: str, code: str, param: str | None = None) -> dict[str, Any]:
    """An OpenAI error object."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def retry_after_header(seconds: float | None) -> dict[str, str]:
    """``{"Retry-After": <whole seconds, at least 1>}``, or nothing when ``seconds`` is unknown."""
    if seconds is None or not math.isfinite(seconds):
        return {}
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def http_error(error: ModelRouterError) -> HttpError:
    """The response for a domain error, from the attributes its class declares.

    Clients see ``message`` only if the class exposes it, else its ``public_message`` and no router
    details. ``Retry-After`` is sent whenever the error knows when to retry, and always on 502 and 504.
    """
    status = error.http_status
    if not error.expose_message:
        body = error_body(error.public_message, error.error_type, error.code)
    else:
        body = error_body(error.message, error.error_type, error.code, error.field or None)
        _add_details(error, body)
    retry_after = error.retry_after_s
    if retry_after is None and status in _ALWAYS_RETRY_AFTER:
        retry_after = UPSTREAM_RETRY_AFTER_S
    return HttpError(status, body, retry_after_header(retry_after))


def _add_details(error: ModelRouterError, body: dict[str, Any]) -> None:
    if isinstance(error, InvalidRequestError):
        body["error"]["problems"] = [{"param": p.path, "message": p.message} for p in error.problems]
    if isinstance(error, NoEligibleModelError):
        body.setdefault("router", {}).update(
            route=error.route,
            exclusions=[
                {"model": e.model, "reason": e.reason.value, "detail": e.detail} for e in error.exclusions
            ],
        )
    attempts = getattr(error, "attempts", None)  # execution errors
    if attempts:
        body.setdefault("router", {})["attempts"] = [attempt_summary(a) for a in attempts]
