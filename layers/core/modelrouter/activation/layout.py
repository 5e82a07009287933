"""The policy bucket's activation layout: where uploads land, the active pointer, the attempt history.

```
incoming/<name>.yaml                      operators upload here (default incoming/policy.yaml; versioned)
control/active.json                       the active pointer: the (key, version id) routers load
control/history/<inverted ms>-<time>-<version id>.json   one record per attempt, newest first in a listing
control/versions/<key hash>/<version id>.json            the upload attempt's record of each version
```

A policy version is ``(key, version_id)`` of an object under ``incoming/``. Routers read only the
pointer and the version it names; the activator alone writes ``control/``. Keys of the history sort by
time, newest first (the inverted milliseconds lead), then by version id, so ``policy history`` reads
the newest N with one listing. The ``versions`` index answers "was this version processed, and how"
with one GET (a redelivered event, ``policy push`` waiting for its version, ``rollback --to``).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "CONTROL_PREFIX",
    "DEFAULT_UPLOAD_KEY",
    "HISTORY_PREFIX",
    "INCOMING_PREFIX",
    "MAX_POINTER_BYTES",
    "MAX_PROBLEMS_RECORDED",
    "POINTER_KEY",
    "POINTER_SCHEMA",
    "VERSIONS_PREFIX",
    "ActivePointer",
    "AttemptRecord",
    "Outcome",
    "PointerError",
    "PolicyVersion",
    "Trigger",
    "history_key",
    "iso",
    "upload_key_problem",
    "version_id_problem",
    "version_index_key",
]

INCOMING_PREFIX: Final = "incoming/"
"""Uploads go under this prefix; only objects here are ever activated."""
DEFAULT_UPLOAD_KEY: Final = "incoming/policy.yaml"
"""The upload key when none is named (the template's ``PolicyKey`` default)."""
CONTROL_PREFIX: Final = "control/"
"""What the activator writes: the pointer, the history and its index."""
POINTER_KEY: Final = "control/active.json"
"""The active pointer (``POLICY_POINTER_KEY``)."""
HISTORY_PREFIX: Final = "control/history/"
"""One object per activation attempt."""
VERSIONS_PREFIX: Final = "control/versions/"
"""Each processed upload's record, by key hash and version id."""
POINTER_SCHEMA: Final = 1
"""``schema`` of the pointer document this code writes and reads."""
MAX_POINTER_BYTES: Final = 65_536
"""A pointer document larger than this is not read (it is a few hundred bytes)."""
MAX_PROBLEMS_RECORDED: Final = 20
"""Problems kept in a history record (and an event); ``problem_count`` says how many there were."""
MAX_KEY_CHARS: Final = 1024
"""S3's longest key."""
MAX_PROBLEM_CHARS: Final = 500
"""A recorded problem is cut to this many characters."""
_HISTORY_TIME_LIMIT_MS: Final = 10**13
"""Inverted milliseconds are ``10**13 - ms`` (13 digits until the year 2286)."""

_VERSION_ID = re.compile(r"^[A-Za-z0-9._+=-]{1,1024}$")
_KEY_CHARS = re.compile(r"^[A-Za-z0-9!_.*'()/ -]+$")

Outcome = Literal["activated", "rejected", "superseded", "rolled_back"]
"""How an attempt ended: activated (an upload), rejected (invalid: never active), superseded (a newer
version was already active), rolled_back (a rollback re-activated an earlier version)."""
Trigger = Literal["upload", "rollback"]
"""What started an attempt."""


class PointerError(ValueError):
    """The pointer document is not one this code can follow (the message says why)."""


def upload_key_problem(key: object) -> str | None:
    """Why ``key`` cannot be an uploaded policy's key (not under ``incoming/``, ``..``, odd characters),
    or ``None`` when it can."""
    if not isinstance(key, str) or not key:
        return "the object key is missing"
    if len(key) > MAX_KEY_CHARS:
        return f"the object key is {len(key):,} characters long"
    if not key.startswith(INCOMING_PREFIX) or key == INCOMING_PREFIX or key.endswith("/"):
        return f"{key[:100]!r} is not an object under {INCOMING_PREFIX}"
    if ".." in key.split("/") or "//" in key or not _KEY_CHARS.match(key):
        return f"{key[:100]!r} is not a plain key (no '..', empty segments or unusual characters)"
    return None


def version_id_problem(version_id: object) -> str | None:
    """Why ``version_id`` is not an S3 version id of a versioned bucket, or ``None``."""
    if not isinstance(version_id, str) or not version_id:
        return "the object has no version id (is the bucket versioned?)"
    if version_id == "null":
        return "the object's version id is 'null': the bucket is not versioned"
    if not _VERSION_ID.match(version_id):
        return "the version id has unexpected characters"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class PolicyVersion(_Strict):
    """One uploaded policy object: its key under ``incoming/`` and its S3 version id."""

    key: str = Field(min_length=1, max_length=MAX_KEY_CHARS)
    """The object key (under ``incoming/``)."""
    version_id: str = Field(min_length=1, max_length=1024)
    """The S3 version id."""

    def label(self) -> str:
        """``key@version`` for messages."""
        return f"{self.key}@{self.version_id}"


class ActivePointer(_Strict):
    """``control/active.json``: the version routers load (the only one they may)."""

    schema_: int = Field(alias="schema", default=POINTER_SCHEMA)
    """Document version (:data:`POINTER_SCHEMA`)."""
    key: str = Field(min_length=1, max_length=MAX_KEY_CHARS)
    """Key of the active version (under ``incoming/``)."""
    version_id: str = Field(min_length=1, max_length=1024)
    """S3 version id of the active version."""
    digest: str = Field(min_length=1, max_length=100)
    """``sha256:`` of its bytes, as validated."""
    activated_at: str = Field(min_length=1, max_length=64)
    """When it was activated (ISO 8601, UTC)."""
    activated_by: Trigger
    """``upload`` (the activator, on an upload) or ``rollback``."""
    previous: PolicyVersion | None = None
    """The version active before it, if any."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, populate_by_name=True)

    @property
    def version(self) -> PolicyVersion:
        """The active version as a :class:`PolicyVersion`."""
        return PolicyVersion(key=self.key, version_id=self.version_id)

    def to_bytes(self) -> bytes:
        """The JSON document written to S3."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True).encode()

    @classmethod
    def parse(cls, raw: bytes) -> ActivePointer:
        """Read a pointer document.

        Raises:
            PointerError: not JSON, another schema, missing or mistyped fields, or a key that is not an
                upload key / a version id that is not one (so a router never follows it elsewhere).
        """
        if len(raw) > MAX_POINTER_BYTES:
            raise PointerError(f"the pointer is {len(raw):,} bytes; at most {MAX_POINTER_BYTES:,}")
        try:
            document: Any = json.loads(raw)
        except ValueError:
            raise PointerError("the pointer is not JSON") from None
        if not isinstance(document, dict):
            raise PointerError("the pointer is not a JSON object")
        if document.get("schema") != POINTER_SCHEMA:
            schema = document.get("schema")
            raise PointerError(f"pointer schema {schema!r}; this router reads {POINTER_SCHEMA}")
        try:
            pointer = cls.model_validate(document)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "<root>"
            raise PointerError(f"pointer field {where}: {first['msg']}") from None
        problem = upload_key_problem(pointer.key) or version_id_problem(pointer.version_id)
        if problem is not None:
            raise PointerError(f"the pointer names no upload: {problem}")
        return pointer


class AttemptRecord(_Strict):
    """One activation attempt, as ``control/history/`` keeps it."""

    version_id: str
    """S3 version id of the version tried."""
    key: str
    """Its key."""
    digest: str | None = None
    """``sha256:`` of its bytes (None when they could not be read)."""
    outcome: Outcome
    """How it ended."""
    problems: tuple[str, ...] = ()
    """Why it was rejected or superseded (at most :data:`MAX_PROBLEMS_RECORDED`)."""
    problem_count: int = 0
    """How many problems there were in all."""
    at: str
    """When the attempt ended (ISO 8601, UTC)."""
    by: Trigger
    """What started it."""
    uploaded_at: str | None = None
    """When the version was uploaded (S3 LastModified), when known."""
    previous: PolicyVersion | None = None
    """For an activation: the version it replaced."""

    @property
    def version(self) -> PolicyVersion:
        """The version tried."""
        return PolicyVersion(key=self.key, version_id=self.version_id)

    @classmethod
    def build(
        cls,
        version: PolicyVersion,
        outcome: Outcome,
        by: Trigger,
        at: datetime,
        *,
        problems: list[str] | tuple[str, ...] = (),
        **fields: Any,
    ) -> AttemptRecord:
        """A record with ``problems`` capped and cut, ``at`` in ISO form."""
        kept = tuple(problem[:MAX_PROBLEM_CHARS] for problem in problems[:MAX_PROBLEMS_RECORDED])
        return cls(
            version_id=version.version_id,
            key=version.key,
            outcome=outcome,
            by=by,
            at=iso(at),
            problems=kept,
            problem_count=len(problems),
            **fields,
        )

    def to_bytes(self) -> bytes:
        """The JSON document written to S3."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()


def iso(moment: datetime) -> str:
    """``moment`` in UTC as ``2025-01-31T12:00:00.123Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def history_key(at: datetime, version_id: str) -> str:
    """The history key of an attempt: newest first in a listing, then by version id."""
    millis = int(at.timestamp() * 1000)
    inverted = _HISTORY_TIME_LIMIT_MS - millis
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S") + f"{at.microsecond // 1000:03d}Z"
    return f"{HISTORY_PREFIX}{inverted:013d}-{stamp}-{version_id}.json"


def version_index_key(version: PolicyVersion) -> str:
    """Where the upload attempt's record of ``version`` is kept."""
    key_hash = hashlib.sha256(version.key.encode()).hexdigest()[:16]
    return f"{VERSIONS_PREFIX}{key_hash}/{version.version_id}.json"
