"""Domain errors to HTTP, in one place: OpenAI-style error objects with the right status.

Statuses by error code; anything unexpected is a 500 with a generic message (the traceback is logged,
never returned).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelrouter.errors import InvalidRequestError, ModelRouterError, NoEligibleModelError

__all__ = ["HttpError", "error_body", "http_error"]

# code -> (status, OpenAI error type)
_STATUS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "invalid_request_error"),
    "prompt_too_long": (400, "invalid_request_error"),
    "output_format_required": (400, "invalid_request_error"),
    "unauthorized": (401, "authentication_error"),
    "unknown_tenant": (403, "permission_error"),
    "classification_not_allowed": (403, "permission_error"),
    "pin_not_allowed": (403, "permission_error"),
    "model_not_found": (404, "not_found_error"),
    "not_found": (404, "not_found_error"),
    "idempotency_in_progress": (409, "conflict_error"),
    "request_too_large": (413, "invalid_request_error"),
    "no_route": (422, "unprocessable_entity_error"),
    "no_eligible_model": (422, "unprocessable_entity_error"),
    "idempotency_key_reused": (422, "invalid_request_error"),
    "budget_exhausted": (429, "insufficient_quota"),
    "all_candidates_failed": (502, "upstream_error"),
    "answer_rejected": (502, "upstream_error"),
    "budget_store_unavailable": (503, "service_unavailable"),
    "policy_unavailable": (503, "service_unavailable"),
    "configuration_error": (503, "service_unavailable"),
    "idempotency_unavailable": (503, "service_unavailable"),
    "deadline_exceeded": (504, "timeout_error"),
}


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


def http_error(error: ModelRouterError) -> HttpError:
    """The response for a domain error."""
    status, error_type = _STATUS.get(error.code, (500, "server_error"))
    param = getattr(error, "field", None) or None
    body = error_body(error.message, error_type, error.code, param)
    if isinstance(error, InvalidRequestError):
        body["error"]["problems"] = [{"param": p.path, "message": p.message} for p in error.problems]
    if isinstance(error, NoEligibleModelError):
        body["router"] = {
            "route": error.route,
            "exclusions": [
                {"model": e.model, "reason": e.reason.value, "detail": e.detail} for e in error.exclusions
            ],
        }
    attempts = getattr(error, "attempts", None)
    if attempts:
        body["router"] = {
            "attempts": [
                {
                    "model": a.model,
                    "outcome": a.outcome,
                    "error_code": a.error_code,
                    "duration_ms": a.duration_ms,
                }
                for a in attempts
            ]
        }
    headers = {}
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return HttpError(status, body, headers)
