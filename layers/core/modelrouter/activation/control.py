"""The activator's S3 reads and writes: the uploaded versions, the active pointer (written only on
condition it did not change since it was read), and the attempt history with its per-version index.

Every read of an uploaded object is capped; a missing object or version is :class:`VersionMissingError`,
never a botocore error the caller must know about. Other S3 failures propagate (the activator's
invocation fails and is retried).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from modelrouter.activation.layout import (
    HISTORY_PREFIX,
    MAX_POINTER_BYTES,
    POINTER_KEY,
    ActivePointer,
    AttemptRecord,
    PointerError,
    PolicyVersion,
    history_key,
    version_index_key,
)
from modelrouter.aws import client_error_code

__all__ = [
    "MAX_HISTORY_PAGE",
    "MAX_VERSION_PAGES",
    "ControlStore",
    "PointerRead",
    "VersionInfo",
    "VersionMissingError",
    "read_capped",
]

MAX_HISTORY_PAGE: Final = 1000
"""Most history records one listing returns (S3's page size)."""
MAX_VERSION_PAGES: Final = 20
"""Pages of a key's versions read to order two of them (20,000 versions)."""
MAX_RECORD_BYTES: Final = 65_536
"""A history record larger than this is not read."""
_MISSING: Final = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
_CONDITION_FAILED: Final = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


class VersionMissingError(LookupError):
    """The object (or the version of it) is not in the bucket."""


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """What S3 says about one uploaded version."""

    size: int
    """Its length in bytes."""
    last_modified: datetime
    """When it was uploaded."""


@dataclass(frozen=True, slots=True)
class PointerRead:
    """The pointer as read: the document, its ETag (for the conditional write) and, if it could not be
    followed, why."""

    pointer: ActivePointer | None
    """The pointer; None when there is none or it is unreadable."""
    etag: str | None
    """The pointer object's ETag; None when there is no object."""
    problem: str | None = None
    """Why an existing pointer object could not be read."""


class ControlStore:
    """S3 operations of activation on one bucket."""

    def __init__(self, s3: Any, bucket: str, pointer_key: str = POINTER_KEY) -> None:
        self._s3, self.bucket, self.pointer_key = s3, bucket, pointer_key

    @property
    def client(self) -> Any:
        """The S3 client (artifacts are read with it too)."""
        return self._s3

    def version_info(self, version: PolicyVersion) -> VersionInfo:
        """Size and upload time of ``version``.

        Raises:
            VersionMissingError: no such key or version.
        """
        with self._missing_as_error(version):
            head = self._s3.head_object(Bucket=self.bucket, Key=version.key, VersionId=version.version_id)
        return VersionInfo(int(head.get("ContentLength") or 0), head["LastModified"])

    def read_version(self, version: PolicyVersion, limit: int) -> bytes:
        """At most ``limit + 1`` bytes of ``version`` (one more than accepted: the caller sees it is too
        long without reading it all).

        Raises:
            VersionMissingError: no such key or version.
        """
        with self._missing_as_error(version):
            response = self._s3.get_object(Bucket=self.bucket, Key=version.key, VersionId=version.version_id)
        return read_capped(response, limit)

    @contextlib.contextmanager
    def _missing_as_error(self, version: PolicyVersion) -> Iterator[None]:
        """S3's answers for a key or version that does not exist, as :class:`VersionMissingError`."""
        from botocore.exceptions import ClientError

        try:
            yield
        except ClientError as error:
            if client_error_code(error) in _MISSING | {"400", "InvalidArgument"}:
                raise VersionMissingError(f"s3://{self.bucket}/{version.label()} does not exist") from None
            raise

    def read_pointer(self) -> PointerRead:
        """The active pointer (none yet: ``PointerRead(None, None)``)."""
        raw, etag = self._get(self.pointer_key, MAX_POINTER_BYTES)
        if raw is None:
            return PointerRead(None, None)
        try:
            return PointerRead(ActivePointer.parse(raw), etag)
        except PointerError as error:
            return PointerRead(None, etag, str(error))

    def write_pointer(self, pointer: ActivePointer, expected_etag: str | None) -> bool:
        """Write ``pointer`` if the pointer object is still the one read (ETag ``expected_etag``; None:
        there was none). False when it changed meanwhile (nothing written)."""
        from botocore.exceptions import ClientError

        condition = {"IfMatch": expected_etag} if expected_etag is not None else {"IfNoneMatch": "*"}
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self.pointer_key,
                Body=pointer.to_bytes(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as error:
            if client_error_code(error) in _CONDITION_FAILED:
                return False
            raise
        return True

    def put_record(self, record: AttemptRecord, at: datetime) -> None:
        """Add ``record`` to the history; an upload attempt's record is also its version's index entry."""
        body = record.to_bytes()
        self._put_json(history_key(at, record.version_id), body)
        if record.by == "upload":
            self._put_json(version_index_key(record.version), body)

    def record_of(self, version: PolicyVersion) -> AttemptRecord | None:
        """The upload attempt's record of ``version``, if it was processed."""
        raw, _ = self._get(version_index_key(version), MAX_RECORD_BYTES)
        return _record(raw) if raw is not None else None

    def history(self, limit: int, token: str | None = None) -> tuple[list[AttemptRecord], str | None]:
        """Up to ``limit`` records, newest first, and the token of the next page (None: no more).
        Records that cannot be read are left out."""
        size = max(1, min(limit, MAX_HISTORY_PAGE))
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": HISTORY_PREFIX, "MaxKeys": size}
        if token:
            arguments["ContinuationToken"] = token
        page = self._s3.list_objects_v2(**arguments)
        records = []
        for item in page.get("Contents", []):
            raw, _ = self._get(item["Key"], MAX_RECORD_BYTES)
            record = _record(raw) if raw is not None else None
            if record is not None:
                records.append(record)
        return records, page.get("NextContinuationToken") if page.get("IsTruncated") else None

    def newer(self, candidate: PolicyVersion, info: VersionInfo, current: PolicyVersion) -> bool:
        """Whether ``candidate`` (``info``) was uploaded after ``current``: by upload time, and for two
        versions of one key uploaded within the same second, by S3's own order of the key's versions.
        A ``current`` whose object is gone counts as older."""
        if candidate == current:
            return False
        try:
            current_info = self.version_info(current)
        except VersionMissingError:
            return True
        if info.last_modified != current_info.last_modified or candidate.key != current.key:
            later: bool = info.last_modified >= current_info.last_modified
            return later
        wanted = {candidate.version_id, current.version_id}
        for version_id in self._versions_newest_first(candidate.key):
            if version_id in wanted:
                return version_id == candidate.version_id
        return True

    def _versions_newest_first(self, key: str) -> Iterator[str]:
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": key}
        for _ in range(MAX_VERSION_PAGES):
            page = self._s3.list_object_versions(**arguments)
            for item in page.get("Versions", []):
                if item.get("Key") == key:
                    yield str(item.get("VersionId"))
            if not page.get("IsTruncated"):
                return
            arguments |= {
                "KeyMarker": page.get("NextKeyMarker"),
                "VersionIdMarker": page.get("NextVersionIdMarker"),
            }

    def _get(self, key: str, limit: int) -> tuple[bytes | None, str | None]:
        """``key``'s bytes (at most ``limit + 1``) and ETag; ``(None, None)`` when it does not exist."""
        from botocore.exceptions import ClientError

        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if client_error_code(error) in _MISSING:
                return None, None
            raise
        return read_capped(response, limit), str(response.get("ETag") or "") or None

    def _put_json(self, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")


def read_capped(response: Any, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a ``GetObject`` response's body (a larger object is then refused,
    never read whole); the body is closed."""
    body = response["Body"]
    try:
        raw: bytes = body.read(limit + 1)
    finally:
        body.close()
    return raw


def _record(raw: bytes) -> AttemptRecord | None:
    from pydantic import ValidationError

    if len(raw) > MAX_RECORD_BYTES:
        return None
    with contextlib.suppress(ValidationError, ValueError):
        return AttemptRecord.model_validate_json(raw)
    return None
