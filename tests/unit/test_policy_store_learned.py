"""Router artifacts load with the policy from S3 (moto): pins, rejection with the last good policy kept,
feature versions, and the per-container cache.

Policies are activated as in production (the activator's core, which checks the same artifacts first);
a version the activator would reject reaches the router only through a pointer written by hand
(``point_at``), which is how these tests check the router's own defence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from tests.activation_helpers import activate, point_at_unchecked
from tests.helpers import fake_aws_environment, minimal_policy
from tests.learned_fixtures import (
    ROUTER_KEY,
    keyword_router_bytes,
    learned_policy,
    sha256_hex,
    versioned_bucket,
)

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY
from modelrouter.policy.store import ActivePolicy, PolicyStore, PolicyUnavailableError

BUCKET, KEY = "policies", DEFAULT_UPLOAD_KEY
QUALITY = {"cheap-7b": 0.9, "mid-34b": 0.9, "frontier": 0.9}
RAW = keyword_router_bytes(QUALITY)


@dataclass
class Rig:
    s3: Any
    store: PolicyStore
    now: list[float]
    operator: Any
    """The client uploads and the activator use (its reads are not the router's)."""
    events: list[tuple[str, str]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    """Keys of every GetObject the router made, in order."""

    def put(self, key: str, body: bytes) -> str:
        return str(self.operator.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"])

    def push(self, document: dict[str, Any]) -> str:
        """Upload and activate ``document``; its version id (the activator must accept it)."""
        record = activate(self.operator, BUCKET, json.dumps(document))
        assert record.outcome == "activated", record.problems
        return record.version_id

    def rejected(self, document: dict[str, Any]) -> list[str]:
        """Upload ``document``, which the activator must reject: its problems."""
        record = activate(self.operator, BUCKET, json.dumps(document))
        assert record.outcome == "rejected"
        return list(record.problems)

    def point_at(self, document: dict[str, Any]) -> str:
        """Upload ``document`` and point the pointer at it by hand (no activator); its version id."""
        return point_at_unchecked(self.operator, BUCKET, json.dumps(document))

    def later(self) -> ActivePolicy:
        """The policy after the refresh interval has passed."""
        self.now[0] += 61
        return self.store.current()


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    fake_aws_environment(monkeypatch)
    with versioned_bucket(BUCKET) as s3:
        now = [1000.0]
        events: list[tuple[str, str]] = []
        store = PolicyStore(
            BUCKET,
            POINTER_KEY,
            60,
            s3_client=s3,
            clock=lambda: now[0],
            on_event=lambda k, d: events.append((k, d)),
        )
        rig = Rig(s3, store, now, boto3.client("s3", region_name="us-east-1"), events)
        s3.meta.events.register(
            "provide-client-params.s3.GetObject", lambda params, **_: rig.fetched.append(params["Key"])
        )
        yield rig


def test_an_artifact_pinned_by_sha256_loads_with_the_policy(rig: Rig) -> None:
    # Given the artifact in the bucket and a policy pinning its SHA-256
    rig.put(ROUTER_KEY, RAW)
    rig.push(learned_policy(RAW))
    # When the policy loads
    active = rig.store.current()
    # Then its router is loaded with it, by key and pin
    (ref,) = active.routers
    assert (ref.key, ref.sha256) == (ROUTER_KEY, sha256_hex(RAW))
    assert active.routers[ref].digest == f"sha256:{sha256_hex(RAW)}"
    assert rig.events[-1][0] == "loaded"
    assert "1 learned router" in rig.events[-1][1]


def test_an_artifact_that_does_not_match_its_sha256_pin_rejects_the_policy(rig: Rig) -> None:
    # Given the policy activated with its artifact, but the object was replaced since
    rig.put(ROUTER_KEY, RAW)
    rig.push(learned_policy(RAW))
    replaced = keyword_router_bytes({**QUALITY, "frontier": 0.99})
    rig.put(ROUTER_KEY, replaced)
    # When the policy loads at cold start, Then no policy is available (503), and the event says why
    with pytest.raises(PolicyUnavailableError):
        rig.store.current()
    kind, detail = rig.events[-1]
    assert kind == "rejected"
    assert "routes[0].learned.router" in detail
    assert ROUTER_KEY in detail
    assert f"pin mismatch: the artifact's SHA-256 is {sha256_hex(replaced)}" in detail
    assert f"the policy pins {sha256_hex(RAW)}" in detail


def test_an_artifact_pinned_by_version_id_reads_that_version(rig: Rig) -> None:
    # Given two versions of the artifact, and a policy pinning the first by version id
    first = rig.put(ROUTER_KEY, RAW)
    rig.put(ROUTER_KEY, keyword_router_bytes({**QUALITY, "frontier": 0.1}))
    document = learned_policy(RAW, version_id=first)
    del document["routes"][0]["learned"]["sha256"]
    rig.push(document)
    # When the policy loads, Then the pinned version scores, not the newest object
    active = rig.store.current()
    (router,) = active.routers.values()
    assert router.digest == f"sha256:{sha256_hex(RAW)}"


def test_a_version_id_the_bucket_does_not_hold_rejects_the_policy(rig: Rig) -> None:
    rig.put(ROUTER_KEY, RAW)
    document = learned_policy(RAW, version_id="nonexistent-version-0000000000000")
    del document["routes"][0]["learned"]["sha256"]
    # The activator refuses it; a pointer set on it by hand, the router refuses too
    assert any("missing in S3" in problem for problem in rig.rejected(document))
    rig.point_at(document)
    with pytest.raises(PolicyUnavailableError):
        rig.store.current()
    assert "missing in S3" in rig.events[-1][1]


def test_a_missing_artifact_rejects_the_new_version_and_the_last_good_keeps_serving(rig: Rig) -> None:
    # Given a good policy serving
    good = rig.push(minimal_policy())
    assert rig.store.current().version == good
    # When the pointer names a new version whose artifact is not in the bucket (set by hand: the
    # activator refuses such a version, see test_activation.py)
    rig.point_at(learned_policy(RAW))
    # Then the good version keeps serving, and the rejection names the artifact and the reason
    assert rig.later().version == good
    kind, detail = rig.events[-1]
    assert kind == "rejected"
    assert f"s3://{BUCKET}/{ROUTER_KEY}: missing in S3" in detail
    # And once the artifact is uploaded, the next refresh loads the new version
    rig.put(ROUTER_KEY, RAW)
    assert rig.later().routers


def test_an_artifact_of_another_feature_version_is_rejected_with_a_message_saying_so(rig: Rig) -> None:
    # Given an artifact fitted with feature version 2, which this router cannot read
    future = keyword_router_bytes(QUALITY, feature_version=2)
    rig.put(ROUTER_KEY, future)
    # When it is uploaded, Then the activator refuses it; set active by hand, the router refuses it too
    reason = "fitted with feature version 2; this router reads version 1"
    assert any(reason in problem for problem in rig.rejected(learned_policy(future)))
    rig.point_at(learned_policy(future))
    with pytest.raises(PolicyUnavailableError):
        rig.store.current()
    detail = rig.events[-1][1]
    assert "fitted with feature version 2; this router reads version 1" in detail


def test_a_model_map_name_the_artifact_does_not_predict_rejects_the_policy(rig: Rig) -> None:
    # Given an artifact without the medium model's name
    narrow = keyword_router_bytes({"cheap-7b": 0.9, "frontier": 0.9})
    rig.put(ROUTER_KEY, narrow)
    problem = "routes[0].learned.model_map.mid-34b: 'mid-34b' is not a model of"
    assert any(problem in found for found in rig.rejected(learned_policy(narrow)))
    rig.point_at(learned_policy(narrow))
    with pytest.raises(PolicyUnavailableError):
        rig.store.current()
    assert problem in rig.events[-1][1]


def test_an_unchanged_artifact_is_not_downloaded_again_when_the_policy_changes(rig: Rig) -> None:
    # Given a learned policy loaded once
    rig.put(ROUTER_KEY, RAW)
    rig.push(learned_policy(RAW))
    first = rig.store.current()
    assert rig.fetched.count(ROUTER_KEY) == 1
    # When a new policy version (a new ETag) keeps the same artifact and pin
    changed = learned_policy(RAW)
    changed["name"] = "changed"
    rig.push(changed)
    second = rig.later()
    # Then the new version is live with the same loaded router, and the artifact was not fetched again
    assert second.policy.name == "changed"
    assert second.routers == first.routers
    assert rig.fetched.count(ROUTER_KEY) == 1
    assert rig.fetched.count(KEY) == 2
