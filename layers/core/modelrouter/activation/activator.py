"""Activation: an uploaded version becomes the active one only when it is valid and newer than the
active one; a rollback re-activates a version that was active before, checked again.

Invariants, whatever the order or number of deliveries:

- the pointer only ever names a version that passed :func:`~modelrouter.activation.validation.validate_policy`
  when it was written (uploads and rollbacks alike);
- an upload older than the active version never replaces it (``superseded``), so a slow validation of
  an older upload cannot undo a newer one; the pointer is written on condition it is still the one
  read, so a concurrent rollback is never overwritten blindly;
- every attempt leaves one history record, written before any event is sent: an EventBridge failure is
  logged and loses nothing; a redelivered event of a processed upload changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from modelrouter import timeouts
from modelrouter.activation.control import ControlStore, VersionMissingError
from modelrouter.activation.layout import (
    ActivePointer,
    AttemptRecord,
    Outcome,
    PolicyVersion,
    Trigger,
    iso,
)
from modelrouter.activation.notify import Notifier, activated_detail, rejected_detail
from modelrouter.activation.validation import Validation, validate_policy
from modelrouter.telemetry_names import EventType

__all__ = [
    "POINTER_WRITE_ATTEMPTS",
    "ActivationConflictError",
    "ActivationResult",
    "Activator",
    "RollbackError",
]

POINTER_WRITE_ATTEMPTS: Final = timeouts.POINTER_WRITE_ATTEMPTS
"""Conditional pointer writes tried before giving up (another writer changed it in between)."""

Log = Callable[[str, dict[str, Any]], None]
"""``log(message, fields)``: warnings the activator reports (an event that could not be sent …)."""


class RollbackError(ValueError):
    """A rollback that cannot be done (nothing active, no previous version, a version never active)."""


class ActivationConflictError(RuntimeError):
    """The pointer kept changing while it was being written (the invocation is retried)."""


@dataclass(frozen=True, slots=True)
class ActivationResult:
    """What handling one upload did."""

    record: AttemptRecord | None
    """The attempt's record (the earlier one for a repeated upload; None when there was nothing to do)."""
    skipped: str | None = None
    """Why nothing was done (a redelivered event, a version deleted since), else None."""


class Activator:
    """Activates uploads and rolls back, over a :class:`ControlStore`."""

    def __init__(
        self,
        store: ControlStore,
        *,
        notifier: Notifier | None = None,
        log: Log | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        from modelrouter.policy.artifacts import s3_fetcher

        self.store = store
        self._fetch = s3_fetcher(store.client, store.bucket)
        self._notifier, self._clock = notifier, clock
        self._log: Log = log or (lambda message, fields: None)

    def activate_upload(self, version: PolicyVersion) -> ActivationResult:
        """Handle the upload of ``version``: activate it, or record why not.

        Raises:
            ActivationConflictError: the pointer changed under every conditional write.
            botocore errors: S3 failed (nothing was activated; the event can be delivered again).
        """
        earlier = self.store.record_of(version)
        if earlier is not None:
            return ActivationResult(earlier, f"already processed: {earlier.outcome} at {earlier.at}")
        try:
            info = self.store.version_info(version)
        except VersionMissingError as error:
            return ActivationResult(None, str(error))
        uploaded_at = iso(info.last_modified)
        for _ in range(POINTER_WRITE_ATTEMPTS):
            read = self.store.read_pointer()
            current = read.pointer
            attempt = _Attempt(version, "upload", uploaded_at)
            if current is not None and current.version == version:  # written by an earlier, cut-short run
                return ActivationResult(self._finish(attempt, "activated", current.digest, pointer=current))
            if current is not None and not self.store.newer(version, info, current.version):
                problem = f"{current.version.label()} is active and was uploaded later"
                return ActivationResult(self._finish(attempt, "superseded", None, [problem]))
            if read.problem is not None:
                self._log("the active pointer is unreadable; it will be replaced", {"problem": read.problem})
            validation = self._validate(version, info.size)
            if not validation.ok:
                record = self._finish(attempt, "rejected", validation.digest, validation.problems)
                return ActivationResult(record)
            assert validation.digest is not None
            pointer = self._pointer(version, validation.digest, "upload", current)
            if self.store.write_pointer(pointer, read.etag):
                return ActivationResult(self._finish(attempt, "activated", pointer.digest, pointer=pointer))
        raise ActivationConflictError(f"the pointer kept changing while {version.label()} was activated")

    def rollback(self, to: PolicyVersion | None = None) -> AttemptRecord:
        """Re-activate ``to`` (default: the version active before the current one), checked again.

        Returns the attempt's record: ``rolled_back``, or ``rejected`` with the problems (the active
        version stays).

        Raises:
            RollbackError: nothing is active, there is no previous version, ``to`` is active already or
                was never activated, or the pointer changed meanwhile.
        """
        read = self.store.read_pointer()
        current = read.pointer
        if current is None:
            raise RollbackError(read.problem or "no policy is active: there is nothing to roll back")
        target = to or current.previous
        if target is None:
            raise RollbackError(f"{current.version.label()} has no previous version; name one with --to")
        if target == current.version:
            raise RollbackError(f"{target.label()} is already the active version")
        earlier = self.store.record_of(target)
        if earlier is None or earlier.outcome != "activated":
            how = f"its upload was {earlier.outcome}" if earlier is not None else "it was never uploaded here"
            raise RollbackError(f"{target.label()} was never active ({how}); only a version that was active "
                                "can be rolled back to (see `modelrouter policy history`)")  # fmt: skip
        try:
            info = self.store.version_info(target)
        except VersionMissingError as error:
            raise RollbackError(str(error)) from None
        validation = self._validate(target, info.size)
        attempt = _Attempt(target, "rollback", iso(info.last_modified))
        if not validation.ok:
            return self._finish(attempt, "rejected", validation.digest, validation.problems)
        assert validation.digest is not None
        pointer = self._pointer(target, validation.digest, "rollback", current)
        if not self.store.write_pointer(pointer, read.etag):
            raise RollbackError("the active policy changed while rolling back; see `policy history`, retry")
        return self._finish(attempt, "rolled_back", pointer.digest, pointer=pointer)

    def _validate(self, version: PolicyVersion, size: int) -> Validation:
        from modelrouter.policy.loader import MAX_POLICY_BYTES

        if size > MAX_POLICY_BYTES:
            problem = f"<root>: the object is {size:,} bytes; a policy is at most {MAX_POLICY_BYTES:,}"
            return Validation(None, [problem])
        try:
            body = self.store.read_version(version, MAX_POLICY_BYTES)
        except VersionMissingError as error:
            return Validation(None, [f"<root>: {error}"])
        source = f"s3://{self.store.bucket}/{version.label()}"
        return validate_policy(body, source, self._fetch)

    def _pointer(
        self, version: PolicyVersion, digest: str, by: Trigger, current: ActivePointer | None
    ) -> ActivePointer:
        return ActivePointer(
            key=version.key,
            version_id=version.version_id,
            digest=digest,
            activated_at=iso(self._clock()),
            activated_by=by,
            previous=current.version if current is not None else None,
        )

    def _finish(
        self,
        attempt: _Attempt,
        outcome: Outcome,
        digest: str | None,
        problems: list[str] | None = None,
        *,
        pointer: ActivePointer | None = None,
    ) -> AttemptRecord:
        """Record the attempt, then send its event (a failure to send is logged, never raised); an
        activation's ``pointer`` gives the record its previous version and the event its detail."""
        at = self._clock()
        record = AttemptRecord.build(
            attempt.version,
            outcome,
            attempt.by,
            at,
            problems=problems or [],
            digest=digest,
            uploaded_at=attempt.uploaded_at,
            previous=pointer.previous if pointer is not None else None,
        )
        self.store.put_record(record, at)
        event = None
        if pointer is not None:
            event = (EventType.POLICY_ACTIVATED, activated_detail(pointer))
        elif outcome == "rejected":
            event = (EventType.POLICY_REJECTED, rejected_detail(record))
        if event is not None and self._notifier is not None:
            try:
                self._notifier.publish(*event)
            except Exception as error:
                failure = f"{type(error).__name__}: {error}"[:300]
                self._log(
                    "activation event not sent (the history has it)", {"type": event[0], "error": failure}
                )
        return record


@dataclass(frozen=True, slots=True)
class _Attempt:
    """The version an attempt is about, what started it, and when that version was uploaded."""

    version: PolicyVersion
    by: Trigger
    uploaded_at: str | None
