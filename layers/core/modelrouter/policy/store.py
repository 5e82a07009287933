"""The active policy from S3: the version the active pointer names, re-checked with a conditional GET,
last good kept.

Uploads are validated and activated by the policy activator (:mod:`modelrouter.activation`), which
writes the pointer ``control/active.json`` (``{"key", "version_id", …}``) only for a valid version.
The store reads the pointer (a conditional GET on its ETag at most every ``refresh_seconds``) and then
``GetObject(Key, VersionId)`` of the version it names, never any other object: a cold container loads
exactly the active version, never an unvalidated upload. Without a pointer there is no policy (503
``policy_unavailable``, saying how to activate one).

The version is still checked before it replaces the active policy (artifacts may have changed since
it was activated, or this router may be older than the activator): a version this router cannot load,
or a pointer it cannot follow, leaves the last good policy serving, and is reported through
``on_event`` (a metric and an error log in the Lambda). Any exception while loading a version (not
only a ``PolicyError``) rejects that version: a policy document can never turn every request into a
500. The S3 version id identifies the policy in every provenance record.

The router artifacts and the topic classifier a policy names load with it
(:mod:`modelrouter.policy.artifacts`): a version whose artifact is missing, does not match its pin or does
not parse is rejected like an invalid one. Loaded artifacts are cached by key and pin for the container's
life, so a new policy version that keeps an artifact does not download it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modelrouter import timeouts
from modelrouter.activation.control import read_capped
from modelrouter.activation.layout import (
    DEFAULT_UPLOAD_KEY,
    MAX_POINTER_BYTES,
    ActivePointer,
    PointerError,
    PolicyVersion,
)
from modelrouter.aws import client_error_code
from modelrouter.errors import ModelRouterError, PolicyError
from modelrouter.learned.topics import TopicClassifier
from modelrouter.policy.artifacts import (
    RouterCache,
    Routers,
    TopicCache,
    load_routers,
    load_topics,
    s3_fetcher,
)
from modelrouter.policy.document import Policy
from modelrouter.policy.loader import MAX_POLICY_BYTES, parse_policy

__all__ = [
    "POLICY_CONNECT_TIMEOUT_S",
    "POLICY_MAX_ATTEMPTS",
    "POLICY_READ_TIMEOUT_S",
    "ActivePolicy",
    "NoActivePolicyError",
    "PolicyState",
    "PolicyStore",
    "PolicyUnavailableError",
]

POLICY_CONNECT_TIMEOUT_S = timeouts.POLICY_CONNECT_TIMEOUT_S
"""Connect timeout of the store's own S3 client."""
POLICY_READ_TIMEOUT_S = timeouts.POLICY_READ_TIMEOUT_S
"""Read timeout of the store's own S3 client."""
POLICY_MAX_ATTEMPTS = timeouts.POLICY_MAX_ATTEMPTS
"""A refresh is not retried within a request: the last good policy keeps serving and the next refresh
is due after ``refresh_seconds`` (with no policy yet, every request tries again), so a slow S3 costs
one request at most ``POLICY_CONNECT_TIMEOUT_S + POLICY_READ_TIMEOUT_S``."""

PolicyEvent = Callable[[str, str], None]
"""``on_event(kind, detail)``: ``loaded``, ``rejected`` (invalid new version) or ``refresh_failed``."""


class PolicyUnavailableError(ModelRouterError):
    """No valid policy could be loaded at all (cold start with a missing or broken object)."""

    code = "policy_unavailable"
    http_status = 503
    error_type = "service_unavailable"
    public_message = "no routing policy is available; try again later"


class NoActivePolicyError(PolicyUnavailableError):
    """No policy was ever activated: the bucket has no active pointer (or this router may not read it)."""

    public_message = (
        "no routing policy has been activated yet: an operator pushes one with"
        " `modelrouter policy push FILE`, which validates and activates it"
    )


@dataclass(frozen=True, slots=True)
class ActivePolicy:
    """The policy in force, and which object it came from."""

    policy: Policy
    """The checked policy."""
    version: str
    """S3 version id of the policy object (what the active pointer names)."""
    etag: str
    """The policy object's ETag."""
    digest: str
    """``sha256:`` of the policy text."""
    routers: Routers = field(default_factory=dict)
    """The learned routers the policy names, loaded with it (by key and pin)."""
    topics: TopicClassifier | None = None
    """The policy's topic classifier, loaded with it; None when it names none."""
    key: str = ""
    """The policy object's key (under ``incoming/``)."""


@dataclass(frozen=True, slots=True)
class PolicyState:
    """How the store's policy stands, for a health check: no bucket names, no problems' details."""

    active: ActivePolicy | None
    """The policy serving now; None when no valid policy was ever loaded."""
    loaded_at: datetime | None
    """When the active policy was loaded (UTC)."""
    last_refresh: str
    """How the latest refresh ended: ``loaded``, ``unchanged``, ``rejected`` (a version this router
    cannot load, or a pointer it cannot follow; the last good one keeps serving), ``refresh_failed``
    (S3 could not be read, or there is no pointer) or ``never``."""


class PolicyStore:
    """Serves the active policy; re-reads the pointer at most every ``refresh_seconds``."""

    def __init__(
        self,
        bucket: str,
        pointer_key: str,
        refresh_seconds: int,
        *,
        s3_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
        on_event: PolicyEvent | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        upload_key: str = DEFAULT_UPLOAD_KEY,
    ) -> None:
        self._bucket, self._key, self._refresh = bucket, pointer_key, refresh_seconds
        self._upload_key = upload_key
        self._pointer_etag: str | None = None
        self._no_pointer = False
        self._s3 = s3_client
        self._clock = clock
        self._wall_clock = wall_clock
        self._loaded_at: datetime | None = None
        self._last_refresh = "never"
        self._on_event = on_event or (lambda kind, detail: None)
        self._active: ActivePolicy | None = None
        self._routers = RouterCache()
        self._topics = TopicCache()
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> ActivePolicy:
        """The policy to use now (refreshing first if it is time to).

        Raises:
            NoActivePolicyError: no policy was ever activated (there is no pointer).
            PolicyUnavailableError: no valid policy has ever been loaded.
        """
        with self._lock:
            self._refresh_if_due_locked()
            if self._active is not None:
                return self._active
            if self._no_pointer:
                raise NoActivePolicyError(
                    f"no policy is active: s3://{self._bucket}/{self._key} is missing or unreadable; upload a"
                    f" policy to s3://{self._bucket}/{self._upload_key} (`modelrouter policy push FILE`):"
                    " the activator validates it and writes the pointer"
                )
            raise PolicyUnavailableError(f"no valid policy: s3://{self._bucket}/{self._key} names none")

    def state(self) -> PolicyState:
        """The active policy (refreshed first if it is time to, never raising), when it was loaded, and
        how the latest refresh ended."""
        with self._lock:
            self._refresh_if_due_locked()
            return PolicyState(self._active, self._loaded_at, self._last_refresh)

    def expire(self) -> None:
        """Re-read the pointer at the next :meth:`current` or :meth:`state`, however recently it was read
        (after a SnapStart restore: the snapshot's policy may be any age)."""
        with self._lock:
            self._checked_at = float("-inf")

    def _refresh_if_due_locked(self) -> None:
        if self._active is None or self._clock() - self._checked_at >= self._refresh:
            self._refresh_locked()

    def _client(self) -> Any:
        if self._s3 is None:
            from modelrouter.aws import aws_client

            self._s3 = aws_client(
                "s3",
                connect_timeout_s=POLICY_CONNECT_TIMEOUT_S,
                read_timeout_s=POLICY_READ_TIMEOUT_S,
                max_attempts=POLICY_MAX_ATTEMPTS,
            )
        return self._s3

    def _refresh_locked(self) -> None:
        self._checked_at = self._clock()
        self._last_refresh = self._fetch_locked()

    def _fetch_locked(self) -> str:
        """Read the pointer and load the version it names if it changed; how it ended
        (:attr:`PolicyState.last_refresh`)."""
        from botocore.exceptions import BotoCoreError, ClientError

        arguments = {"Bucket": self._bucket, "Key": self._key}
        if self._active is not None and self._pointer_etag is not None:
            arguments["IfNoneMatch"] = self._pointer_etag
        try:
            response = self._client().get_object(**arguments)
            raw = read_capped(response, MAX_POINTER_BYTES)
        except ClientError as error:
            code = client_error_code(error)
            if code in {"304", "NotModified"}:
                return "unchanged"
            self._no_pointer = code in _NO_POINTER
            what = (
                "no active pointer (activate a policy: upload it under incoming/)" if self._no_pointer else ""
            )
            self._on_event(
                "refresh_failed", what or f"s3 get_object of the pointer failed: {code or 'error'}"
            )
            return "refresh_failed"
        except BotoCoreError as error:
            self._on_event("refresh_failed", f"s3 unreachable: {type(error).__name__}")
            return "refresh_failed"
        self._no_pointer = False
        pointer_etag = str(response.get("ETag", "")).strip('"') or None
        try:
            pointer = ActivePointer.parse(raw)
        except PointerError as error:
            self._on_event("rejected", f"the active pointer cannot be followed: {error}")
            return "rejected"
        active = self._active
        if active is not None and PolicyVersion(key=active.key, version_id=active.version) == pointer.version:
            self._pointer_etag = pointer_etag
            return "unchanged"
        outcome = self._load_locked(pointer.version)
        if outcome == "loaded":
            self._pointer_etag = pointer_etag
        return outcome

    def _load_locked(self, version: PolicyVersion) -> str:
        """Load ``version``; how it ended (``loaded``, ``rejected`` or ``refresh_failed``)."""
        from botocore.exceptions import BotoCoreError, ClientError

        source = f"s3://{self._bucket}/{version.label()}"
        try:
            response = self._client().get_object(
                Bucket=self._bucket, Key=version.key, VersionId=version.version_id
            )
            body = read_capped(response, MAX_POLICY_BYTES)
        except ClientError as error:
            code = client_error_code(error) or "error"
            self._on_event("refresh_failed", f"version {version.version_id}: s3 get_object failed: {code}")
            return "refresh_failed"
        except BotoCoreError as error:
            self._on_event("refresh_failed", f"s3 unreachable: {type(error).__name__}")
            return "refresh_failed"
        etag = str(response.get("ETag", "")).strip('"')
        try:
            loaded = parse_policy(body, source)
            fetch = s3_fetcher(self._client(), self._bucket)
            routers = load_routers(loaded.policy, fetch, source=source, cache=self._routers)
            topics = load_topics(loaded.policy, fetch, source=source, cache=self._topics)
        except PolicyError as error:
            first = error.problems[0] if error.problems else error.message
            detail = f"version {version.version_id}: {len(error.problems)} problems; first: {first}"
            self._on_event("rejected", detail)
            return "rejected"
        except Exception as error:  # parse_policy should only raise PolicyError; a bug must not be a 500
            self._on_event(
                "rejected", f"version {version.version_id}: could not be loaded: {type(error).__name__}"
            )
            return "rejected"
        self._routers.retain(routers)
        self._topics.retain([loaded.policy.topics.ref] if loaded.policy.topics is not None else [])
        self._active = ActivePolicy(
            loaded.policy, version.version_id, etag, loaded.digest, routers, topics, key=version.key
        )
        self._loaded_at = self._wall_clock()
        learned = f"; {len(routers)} learned router{'s' if len(routers) != 1 else ''}" if routers else ""
        learned += f"; topic classifier ({len(topics.labels)} topics)" if topics is not None else ""
        self._on_event("loaded", f"version {version.version_id} ({loaded.digest[:19]}){learned}")
        return "loaded"


_NO_POINTER = frozenset({"NoSuchKey", "404", "NotFound", "AccessDenied", "403"})
"""How S3 answers a GET of a pointer that does not exist (403 when the reader may not list the bucket)."""
