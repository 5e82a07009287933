"""The S3 ``Object Created`` event (delivered by EventBridge) that starts an activation, read
defensively: anything that is not an upload under ``incoming/`` of the policy bucket is a reason to
ignore the event, never an exception. Local mode builds the same event with :func:`object_created_event`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from modelrouter.activation.layout import PolicyVersion, upload_key_problem, version_id_problem

__all__ = ["DETAIL_TYPE", "SOURCE", "Upload", "object_created_event", "upload_from_event"]

SOURCE: Final = "aws.s3"
"""``source`` of S3's events on EventBridge."""
DETAIL_TYPE: Final = "Object Created"
"""``detail-type`` of an upload."""


@dataclass(frozen=True, slots=True)
class Upload:
    """An upload the activator should handle."""

    version: PolicyVersion
    """The uploaded version."""
    size: int | None
    """Its size as the event says (the activator asks S3 again before reading it)."""


def upload_from_event(event: object, bucket: str) -> Upload | str:
    """The upload ``event`` announces in ``bucket``, or why the event is ignored."""
    if not isinstance(event, dict):
        return "the event is not a JSON object"
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        return f"not an S3 {DETAIL_TYPE} event (source {str(event.get('source'))[:40]!r})"
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return "the event has no detail"
    named = _at(detail, "bucket", "name")
    if named != bucket:
        return f"the event is about another bucket ({str(named)[:80]!r})"
    key = _at(detail, "object", "key")
    version_id = _at(detail, "object", "version-id")
    problem = upload_key_problem(key) or version_id_problem(version_id)
    if problem is not None:
        return problem
    size = _at(detail, "object", "size")
    known = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    return Upload(PolicyVersion(key=str(key), version_id=str(version_id)), known)


def object_created_event(
    bucket: str, key: str, version_id: str, size: int, *, at: datetime | None = None
) -> dict[str, Any]:
    """An EventBridge ``Object Created`` event of the same shape S3 sends (local mode, tests)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": f"local-{version_id}",
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": "123456789012",
        "time": moment,
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "version-id": version_id},
            "reason": "PutObject",
        },
    }


def _at(document: dict[str, Any], *keys: str) -> Any:
    value: Any = document
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value
