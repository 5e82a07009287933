"""The artifacts a policy references, loaded with the policy: fetched, pin-checked, parsed, mapped.

A policy version goes live only with every artifact it names: fetched (from S3, or from files next to
the policy in local mode), matching its ``sha256`` pin, parsed by
:func:`~modelrouter.learned.artifact.load_router` (format, feature version, weights) and knowing every
model the policy maps or asks about; and its topic classifier (``topics``), parsed by
:func:`~modelrouter.learned.topics.load_topic_classifier` and knowing every topic a route's
``when.topics`` names. Any failure is a :class:`~modelrouter.errors.PolicyError` whose problems name the
route (or ``topics``), the artifact and the reason, exactly like an invalid policy. The decision engine
then reads the loaded artifacts, never a file or URL: keys come from the policy alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from modelrouter.errors import PolicyError
from modelrouter.learned.artifact import MAX_ARTIFACT_BYTES, ArtifactError, LearnedRouter, load_router
from modelrouter.learned.topics import TopicClassifier, load_topic_classifier
from modelrouter.policy.document import Policy
from modelrouter.policy.learned import (
    ArtifactRef,
    LearnedDifficulty,
    MappedRouterPin,
    RouterPin,
)
from modelrouter.problems import Problem, format_path
from modelrouter.suggest import did_you_mean

__all__ = [
    "ArtifactCache",
    "Fetch",
    "RouterCache",
    "Routers",
    "TopicCache",
    "artifact_refs",
    "file_fetcher",
    "load_local_routers",
    "load_local_topics",
    "load_routers",
    "load_topics",
    "local_artifact_files",
    "policy_artifacts",
    "s3_fetcher",
]

Fetch = Callable[[ArtifactRef], bytes]
"""Reads an artifact's bytes; raises :class:`ArtifactError` saying where and why it could not."""
Routers = Mapping[ArtifactRef, LearnedRouter]
"""Loaded routers by key and pin: what the decision engine reads."""

Location = tuple[str | int, ...]

_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_TOPICS_LOCATION: Location = ("topics", "classifier")

Loaded = TypeVar("Loaded")


class ArtifactCache(Generic[Loaded]):
    """Loaded artifacts by key and pin, kept per container: an unchanged artifact is not fetched again
    when the policy object changes. Both pins name immutable bytes, so a hit is always right."""

    def __init__(self) -> None:
        self._loaded: dict[ArtifactRef, Loaded] = {}

    def get(self, ref: ArtifactRef) -> Loaded | None:
        """The artifact loaded for ``ref``, if any."""
        return self._loaded.get(ref)

    def put(self, ref: ArtifactRef, loaded: Loaded) -> None:
        """Remember ``loaded`` for ``ref``."""
        self._loaded[ref] = loaded

    def retain(self, refs: Iterable[ArtifactRef]) -> None:
        """Forget every artifact but those of ``refs`` (the ones the active policy uses)."""
        keep = set(refs)
        self._loaded = {ref: loaded for ref, loaded in self._loaded.items() if ref in keep}

    def __len__(self) -> int:
        return len(self._loaded)


RouterCache = ArtifactCache[LearnedRouter]
"""Loaded routers by key and pin."""
TopicCache = ArtifactCache[TopicClassifier]
"""Loaded topic classifiers by key and pin."""


def policy_artifacts(policy: Policy) -> list[tuple[Location, RouterPin]]:
    """Every router artifact the policy names: ``(location of its block, pin)``, in policy order."""
    return [
        (("routes", index, *location), pin)
        for index, route in enumerate(policy.routes)
        for location, pin in route.router_pins()
    ]


def load_routers(
    policy: Policy, fetch: Fetch, *, source: str, cache: RouterCache | None = None
) -> dict[ArtifactRef, LearnedRouter]:
    """Fetch, check and parse every artifact ``policy`` names (each distinct one once).

    Raises:
        PolicyError: an artifact is missing, does not match its pin, is not a valid router (another
            feature version, malformed), or lacks a model the policy maps or asks about. Every problem
            names its route path, the artifact and the reason.
    """
    routers: dict[ArtifactRef, LearnedRouter] = {}
    failed: dict[ArtifactRef, str] = {}
    problems: list[Problem] = []
    for location, pin in policy_artifacts(policy):
        ref = pin.ref
        router = routers.get(ref) or (cache.get(ref) if cache is not None else None)
        if router is None and ref not in failed:
            try:
                router = _load(ref, fetch)
            except ArtifactError as error:
                failed[ref] = error.message
            else:
                if cache is not None:
                    cache.put(ref, router)
        if router is None:
            problems.append(Problem(format_path((*location, "router")), failed[ref]))
            continue
        routers[ref] = router
        problems.extend(_unknown_models(location, pin, router))
    if problems:
        raise PolicyError(problems, source)
    return routers


def _load(ref: ArtifactRef, fetch: Fetch) -> LearnedRouter:
    return load_router(_fetch_pinned(ref, fetch), ref.key)


def _fetch_pinned(ref: ArtifactRef, fetch: Fetch) -> bytes:
    """The artifact's bytes, checked against a ``sha256`` pin."""
    raw = fetch(ref)
    if ref.sha256 is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != ref.sha256:
            raise ArtifactError(
                f"{ref.key}: pin mismatch: the artifact's SHA-256 is {actual}, the policy pins {ref.sha256}"
            )
    return raw


def load_topics(
    policy: Policy, fetch: Fetch, *, source: str, cache: TopicCache | None = None
) -> TopicClassifier | None:
    """Fetch, check and parse the policy's topic classifier; None when the policy names none.

    Raises:
        PolicyError: the artifact is missing, does not match its pin, is not a valid topic artifact
            (``topics.classifier``), or a route's ``when.topics`` names a topic it does not know (that
            route's path).
    """
    spec = policy.topics
    if spec is None:
        return None
    ref = spec.ref
    classifier = cache.get(ref) if cache is not None else None
    if classifier is None:
        try:
            classifier = load_topic_classifier(_fetch_pinned(ref, fetch), ref.key)
        except ArtifactError as error:
            raise PolicyError([Problem(format_path(_TOPICS_LOCATION), error.message)], source) from None
        if cache is not None:
            cache.put(ref, classifier)
    problems = [
        Problem(
            format_path(("routes", index, "when", "topics", position)),
            f"'{topic}' is not a topic of {spec.classifier}{did_you_mean(topic, classifier.labels)}"
            f" (it knows: {', '.join(classifier.labels)})",
        )
        for index, route in enumerate(policy.routes)
        for position, topic in enumerate(route.when.topics or ())
        if topic not in classifier.labels
    ]
    if problems:
        raise PolicyError(problems, source)
    return classifier


def _unknown_models(location: Location, pin: RouterPin, router: LearnedRouter) -> list[Problem]:
    """Names the policy gives that the artifact does not predict (a ``model_map`` key, the difficulty's
    ``model``)."""
    names: list[tuple[Location, str]] = []
    if isinstance(pin, MappedRouterPin):
        names = [((*location, "model_map", name), name) for name in pin.model_map]
    elif isinstance(pin, LearnedDifficulty):
        names = [((*location, "model"), pin.model)]
    known = ", ".join(router.models)
    return [
        Problem(format_path(where), f"'{name}' is not a model of {pin.router} (it predicts: {known})")
        for where, name in names
        if name not in router.heads
    ]


def load_local_routers(policy: Policy, policy_file: Path) -> dict[ArtifactRef, LearnedRouter]:
    """:func:`load_routers` from files next to ``policy_file`` (``policy validate``, ``route``, local mode).

    Raises:
        PolicyError: as :func:`load_routers`; a missing file is named with its path.
    """
    return load_routers(policy, file_fetcher(policy_file.parent), source=str(policy_file))


def load_local_topics(policy: Policy, policy_file: Path) -> TopicClassifier | None:
    """:func:`load_topics` from the file next to ``policy_file`` (``policy validate``, ``route``, local mode).

    Raises:
        PolicyError: as :func:`load_topics`; a missing file is named with its path.
    """
    return load_topics(policy, file_fetcher(policy_file.parent), source=str(policy_file))


def artifact_refs(policy: Policy) -> list[tuple[Location, ArtifactRef]]:
    """Every artifact ``policy`` names (router artifacts, then the topic classifier): ``(location of
    its block, key and pin)``."""
    refs = [(location, pin.ref) for location, pin in policy_artifacts(policy)]
    if policy.topics is not None:
        refs.append((_TOPICS_LOCATION[:1], policy.topics.ref))
    return refs


def local_artifact_files(policy: Policy, policy_file: Path) -> list[tuple[ArtifactRef, Path]]:
    """Each distinct artifact ``policy`` names (its topic classifier too), with its file next to
    ``policy_file``."""
    refs = dict.fromkeys(ref for _, ref in artifact_refs(policy))
    return [(ref, policy_file.parent / ref.key) for ref in refs]


def file_fetcher(directory: Path) -> Fetch:
    """Reads artifacts from files, keys relative to ``directory`` (the policy file's folder).

    A file has no S3 version: a ``version_id`` pin is not checked here (``policy push`` checks it in
    the bucket); a ``sha256`` pin is.
    """

    def fetch(ref: ArtifactRef) -> bytes:
        path = directory / ref.key
        try:
            size = path.stat().st_size
            if size > MAX_ARTIFACT_BYTES:
                raise ArtifactError(f"{path}: {size:,} bytes; at most {MAX_ARTIFACT_BYTES:,} are accepted")
            return path.read_bytes()
        except OSError as error:
            raise ArtifactError(f"{path}: cannot read router artifact: {error.strerror or error}") from None

    return fetch


def s3_fetcher(client: Any, bucket: str) -> Fetch:
    """Reads artifacts from ``bucket`` with ``client`` (the version a ``version_id`` pin names)."""

    def fetch(ref: ArtifactRef) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        arguments = {"Bucket": bucket, "Key": ref.key}
        where = f"s3://{bucket}/{ref.key}"
        if ref.version_id is not None:
            arguments["VersionId"] = ref.version_id
            where += f" (version {ref.version_id})"
        try:
            response = client.get_object(**arguments)
            body = response["Body"]
            try:
                length = int(response.get("ContentLength") or 0)
                if length > MAX_ARTIFACT_BYTES:
                    raise ArtifactError(
                        f"{where}: {length:,} bytes; at most {MAX_ARTIFACT_BYTES:,} are accepted"
                    )
                raw: bytes = body.read(MAX_ARTIFACT_BYTES + 1)
            finally:
                body.close()
        except ClientError as error:
            raise ArtifactError(f"{where}: {_s3_reason(error, ref)}") from None
        except BotoCoreError as error:
            raise ArtifactError(f"{where}: S3 unreachable ({type(error).__name__})") from None
        return raw

    return fetch


def _s3_reason(error: Any, ref: ArtifactRef) -> str:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "")) or "error"
    if code in _NOT_FOUND:
        return "missing in S3 (no such key)"
    if code == "NoSuchVersion" or (ref.version_id is not None and code in {"400", "InvalidArgument"}):
        return f"missing in S3: no version {ref.version_id} of this key"
    return f"S3 get_object failed: {code}"
