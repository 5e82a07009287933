"""Policies made active the way production does it: uploaded under ``incoming/`` and activated by the
activator's core (validation, dry run, the pointer). Tests and rigs never write a policy where a router
reads it any other way, except :func:`point_at_unchecked`, which stands for a pointer naming a version
this router cannot load (artifacts changed since its activation, a hand-written pointer).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelrouter.activation.activator import Activator
from modelrouter.activation.control import ControlStore
from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, ActivePointer, AttemptRecord, PolicyVersion
from modelrouter.activation.s3_event import upload_from_event
from modelrouter.local.activation_watch import UploadWatcher

__all__ = [
    "SHIPPED_ARTIFACTS",
    "activate",
    "activating",
    "activator_for",
    "point_at_unchecked",
    "upload",
    "upload_shipped_artifacts",
]

SHIPPED_ARTIFACTS = Path(__file__).resolve().parent.parent / "policies" / "routers"
"""The artifacts the shipped policies pin (topics, routers)."""

WATCH_INTERVAL_S = 0.05
"""How often :func:`activating` lists the bucket (tests: fast)."""


def upload_shipped_artifacts(s3: Any, bucket: str) -> None:
    """Put the shipped artifacts where the shipped policies name them (``routers/``)."""
    for artifact in SHIPPED_ARTIFACTS.glob("*.json"):
        s3.put_object(Bucket=bucket, Key=f"routers/{artifact.name}", Body=artifact.read_bytes())


def activator_for(s3: Any, bucket: str, notifier: Any = None) -> Activator:
    """The activator's core over ``bucket``."""
    return Activator(ControlStore(s3, bucket), notifier=notifier)


def upload(s3: Any, bucket: str, body: str | bytes, key: str = DEFAULT_UPLOAD_KEY) -> PolicyVersion:
    """Put ``body`` under ``key`` (an upload, not yet active)."""
    data = body.encode() if isinstance(body, str) else body
    response = s3.put_object(Bucket=bucket, Key=key, Body=data)
    return PolicyVersion(key=key, version_id=str(response["VersionId"]))


def activate(s3: Any, bucket: str, body: str | bytes, key: str = DEFAULT_UPLOAD_KEY) -> AttemptRecord:
    """Upload ``body`` and run the activator on it, as the upload's event would: its attempt record
    (``activated``, or ``rejected`` with the problems)."""
    version = upload(s3, bucket, body, key)
    result = activator_for(s3, bucket).activate_upload(version)
    assert result.record is not None, result.skipped
    return result.record


def point_at_unchecked(s3: Any, bucket: str, body: str | bytes, key: str = DEFAULT_UPLOAD_KEY) -> str:
    """Upload ``body`` and point the active pointer at it without validation; its version id."""
    version = upload(s3, bucket, body, key)
    pointer = ActivePointer(key=version.key, version_id=version.version_id, digest="sha256:unchecked",
                            activated_at=datetime.now(UTC).isoformat(), activated_by="upload")  # fmt: skip
    s3.put_object(Bucket=bucket, Key=ControlStore(s3, bucket).pointer_key, Body=pointer.to_bytes())
    return version.version_id


@contextmanager
def activating(s3: Any, bucket: str) -> Iterator[UploadWatcher]:
    """While inside, every new upload under ``incoming/`` is activated (or rejected) within about
    :data:`WATCH_INTERVAL_S`, by the activator's core in a thread: the deployed S3 → EventBridge →
    activator path, for commands such as ``policy push`` that wait for it."""
    activator = activator_for(s3, bucket)

    def on_upload(event: dict[str, Any]) -> None:
        found = upload_from_event(event, bucket)
        assert not isinstance(found, str), found
        activator.activate_upload(found.version)

    watcher = UploadWatcher(s3, bucket, on_upload, interval_s=WATCH_INTERVAL_S)
    watcher.mark_seen()
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.stop()
