"""Errors of ``POST /v1/feedback``: an id the caller may not rate, feedback racing itself, a store outage."""

from __future__ import annotations

from typing import Final

from modelrouter.errors import ModelRouterError

__all__ = [
    "RETRY_AFTER_S",
    "FeedbackConflictError",
    "FeedbackStoreError",
    "RequestNotFoundError",
]

RETRY_AFTER_S: Final = 1.0
"""``Retry-After`` of feedback that could not be written now: it raced other feedback, or a table failed."""


class RequestNotFoundError(ModelRouterError):
    """No record of this request id for the caller's tenant (404).

    The same answer whether the id is unknown, expired or another tenant's: never reveal that it exists.
    """

    code = "request_not_found"
    http_status = 404
    error_type = "not_found_error"
    expose_message = True
    field = "request_id"


class FeedbackConflictError(ModelRouterError):
    """Other feedback for the same request kept changing it while this one was written (503, retry)."""

    code = "feedback_conflict"
    http_status = 503
    error_type = "service_unavailable"
    expose_message = True
    retry_after_s = RETRY_AFTER_S


class FeedbackStoreError(ModelRouterError):
    """The provenance or learning table could not be read or written (503, retry)."""

    code = "feedback_store_error"
    http_status = 503
    error_type = "service_unavailable"
    public_message = "the feedback could not be stored; try again"
    retry_after_s = RETRY_AFTER_S
