"""Feedback on answers (``POST /v1/feedback``): a score or thumbs for one request, stored with its
provenance record, replacing earlier feedback, and moving a bandit's learning state by the difference."""

from __future__ import annotations

from modelrouter.feedback.errors import FeedbackConflictError, FeedbackStoreError, RequestNotFoundError
from modelrouter.feedback.model import FeedbackRequest, parse_feedback
from modelrouter.feedback.service import FeedbackService, FeedbackTelemetry
from modelrouter.feedback.store import FeedbackResult, FeedbackStore

__all__ = [
    "FeedbackConflictError",
    "FeedbackRequest",
    "FeedbackResult",
    "FeedbackService",
    "FeedbackStore",
    "FeedbackStoreError",
    "FeedbackTelemetry",
    "RequestNotFoundError",
    "parse_feedback",
]
