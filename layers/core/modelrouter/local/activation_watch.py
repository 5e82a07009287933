"""Local mode's stand-in for S3 → EventBridge → the activator: a thread that notices new versions under
``incoming/`` of the policy bucket (``ListObjectVersions`` every :data:`POLL_SECONDS`) and hands each one,
oldest first, as the ``Object Created`` event S3 would send, to a callback — the activator handler run
in process (moto cannot invoke a Lambda function from an S3 event without Docker). Tests use the same
watcher over moto with the activator's core.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from modelrouter.activation.layout import INCOMING_PREFIX
from modelrouter.activation.s3_event import object_created_event

__all__ = ["MAX_ATTEMPTS", "POLL_SECONDS", "UploadWatcher"]

POLL_SECONDS: Final = 1.0
"""How often the bucket is listed."""
MAX_ATTEMPTS: Final = 3
"""Times one upload is handed over while the callback keeps raising (then it is left, and logged)."""
STOP_TIMEOUT_S: Final = 10.0
"""How long :meth:`UploadWatcher.stop` waits for a callback in progress."""

OnUpload = Callable[[dict[str, Any]], object]
"""Called with the ``Object Created`` event of one new version."""
Log = Callable[[str], None]


class UploadWatcher:
    """Hands every version uploaded under ``incoming/`` after :meth:`start` (or :meth:`mark_seen`) to
    ``on_upload``, one at a time, oldest first."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        on_upload: OnUpload,
        *,
        interval_s: float = POLL_SECONDS,
        log: Log | None = None,
    ) -> None:
        self._s3, self._bucket, self._on_upload = s3, bucket, on_upload
        self._interval_s = interval_s
        self._log: Log = log or (lambda message: None)
        self._done: set[tuple[str, str]] = set()
        self._failures: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def mark_seen(self) -> None:
        """Treat every version in the bucket now as handled (the ones provisioned at start)."""
        self._done.update((key, version_id) for key, version_id, _ in self._versions())

    def poll_once(self) -> int:
        """Hand over each new version, oldest first; returns how many were handed over."""
        handed = 0
        for key, version_id, size in self._versions():
            name = (key, version_id)
            if name in self._done or self._stop.is_set():
                continue
            try:
                self._on_upload(object_created_event(self._bucket, key, version_id, size))
            except Exception as error:  # the activator failed (S3 down …): try again at the next poll
                self._failures[name] = failures = self._failures.get(name, 0) + 1
                self._log(f"activation of {key}@{version_id} failed ({failures}/{MAX_ATTEMPTS}): {error!r}")
                if failures < MAX_ATTEMPTS:
                    continue
            self._done.add(name)
            handed += 1
        return handed

    def start(self) -> None:
        """Poll in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="activation-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (waits for an activation in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.poll_once()
            except Exception as error:  # the listing failed: the next poll tries again
                self._log(f"listing the uploads failed: {error!r}")

    def _versions(self) -> list[tuple[str, str, int]]:
        """Every version under ``incoming/``: ``(key, version id, size)``, oldest first."""
        found: list[tuple[Any, int, str, str, int]] = []
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Prefix": INCOMING_PREFIX}
        while True:
            page = self._s3.list_object_versions(**arguments)
            for position, item in enumerate(page.get("Versions", [])):
                # S3 lists a key's versions newest first: a later position is an older upload
                found.append((item["LastModified"], -position, item["Key"], item["VersionId"], item["Size"]))
            if not page.get("IsTruncated"):
                break
            arguments |= {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
        found.sort(key=lambda entry: (entry[0], entry[1]))
        return [(key, version_id, int(size)) for _, _, key, version_id, size in found]
