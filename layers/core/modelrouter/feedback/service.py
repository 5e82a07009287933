"""The feedback use case: a tenant's rating of one of its answers, stored with the request's record.

The body is validated (:func:`~modelrouter.feedback.model.parse_feedback`); a comment is kept only when
the tenant's policy entry has ``store_prompts`` (a tenant no longer in the policy: never), so the policy
is read only for feedback that carries one; the store finds and writes the record; telemetry counts the
feedback and its reward by route and model.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from modelrouter.feedback.model import parse_feedback
from modelrouter.feedback.store import FeedbackResult, FeedbackStore
from modelrouter.ports import PolicySource

__all__ = ["FeedbackService", "FeedbackTelemetry", "utc_now"]


class FeedbackTelemetry(Protocol):
    """Metrics and logs about feedback."""

    def feedback_received(self, route: str | None, model: str | None, reward: float) -> None:
        """Feedback was stored for a request of ``route`` answered by ``model`` (None: not known, such as
        a refusal's), with this reward."""
        ...


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


class FeedbackService:
    """Validates feedback, decides whether its comment may be stored, stores it and counts it."""

    def __init__(
        self,
        store: FeedbackStore,
        policies: PolicySource,
        telemetry: FeedbackTelemetry,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        """Where feedback is written."""
        self._policies = policies
        self._telemetry = telemetry
        self._now = now

    def submit(self, tenant_id: str, body: bytes) -> FeedbackResult:
        """Store the feedback ``body`` (``POST /v1/feedback``) for a request of ``tenant_id``.

        Raises:
            InvalidRequestError: the body is not valid feedback (the field at fault named).
            RequestNotFoundError: the tenant has no request with that id.
            FeedbackConflictError, FeedbackStoreError: it could not be stored now; retry.
        """
        request = parse_feedback(body)
        store_comment = request.comment is not None and self._stores_text(tenant_id)
        result = self.store.submit(tenant_id, request, store_comment=store_comment, now=self._now())
        self._telemetry.feedback_received(result.route, result.model, result.reward)
        return result

    def _stores_text(self, tenant_id: str) -> bool:
        tenant = self._policies.current().policy.tenant_by_id.get(tenant_id)
        return tenant is not None and tenant.store_prompts
