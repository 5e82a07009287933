"""Activation of uploaded policies over moto S3: only valid versions become active, newer ones win
whatever the order the events arrive in, rollback re-activates a version that was active, and every
attempt is in the history with its problems (and events, which may fail without losing it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.activation_helpers import activate, activator_for, upload
from tests.helpers import fake_aws_environment, minimal_policy
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes, learned_policy, versioned_bucket

from modelrouter.activation.activator import Activator, RollbackError
from modelrouter.activation.control import ControlStore
from modelrouter.activation.layout import POINTER_KEY, ActivePointer, PolicyVersion
from modelrouter.telemetry_names import EVENT_SOURCE, EventType

BUCKET = "policies"
RAW = keyword_router_bytes({"cheap-7b": 0.9, "mid-34b": 0.9, "frontier": 0.9})


class Events:
    """A notifier that keeps what it is given, or fails when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("EventBridge is unreachable")
        self.sent.append((detail_type, detail))


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with versioned_bucket(BUCKET) as client:
        yield client


def text(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


def named(name: str) -> str:
    document = minimal_policy()
    document["name"] = name
    return text(document)


def pointer(s3: Any) -> ActivePointer:
    return ActivePointer.parse(s3.get_object(Bucket=BUCKET, Key=POINTER_KEY)["Body"].read())


def history(s3: Any) -> list[Any]:
    records, _ = ControlStore(s3, BUCKET).history(100)
    return records


def broken_schema() -> str:
    document = minimal_policy()
    document["routes"][0]["strategy"] = "fastest"
    return text(document)


def missing_artifact() -> str:
    return json.dumps(learned_policy(RAW))  # names routers/test-router.json, which the bucket lacks


def never_serves() -> str:
    # Valid to the loader, but no model has the capability the only route requires: every request fails
    document = minimal_policy()
    for model in document["models"]:
        model["capabilities"] = ["tools"]
    document["routes"][0]["require_capabilities"] = ["vision"]
    return text(document)


def test_a_valid_upload_becomes_the_active_pointer_with_its_record(s3: Any) -> None:
    # Given a valid policy uploaded under incoming/
    events = Events()
    version = upload(s3, BUCKET, named("first"))
    # When the activator handles it
    result = activator_for(s3, BUCKET, events).activate_upload(version)
    # Then the pointer names exactly that version, with its digest, and the history says activated
    active = pointer(s3)
    assert (active.key, active.version_id, active.activated_by, active.previous) == (
        version.key, version.version_id, "upload", None
    )  # fmt: skip
    assert result.record is not None
    assert (result.record.outcome, result.record.digest) == ("activated", active.digest)
    assert [record.version_id for record in history(s3)] == [version.version_id]
    # And one Policy Activated event names it
    assert events.sent == [
        (EventType.POLICY_ACTIVATED, {"version_id": version.version_id, "key": version.key,
                                      "digest": active.digest, "previous_version_id": None,
                                      "activated_by": "upload"}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (broken_schema(), "routes[0].strategy"),
        (missing_artifact(), f"s3://{BUCKET}/{ROUTER_KEY}: missing in S3"),
        (never_serves(), "route 'default' never decides with a candidate"),
    ],
    ids=["schema-error", "missing-artifact", "dry-run-failure"],
)
def test_a_broken_upload_never_activates_and_is_recorded_with_its_problems(
    s3: Any, body: str, says: str
) -> None:
    # Given a good version active
    good = activate(s3, BUCKET, named("good"))
    events = Events()
    # When a broken version is uploaded and handled
    version = upload(s3, BUCKET, body)
    result = activator_for(s3, BUCKET, events).activate_upload(version)
    # Then the pointer still names the good version
    assert pointer(s3).version_id == good.version_id
    # And the attempt is rejected, listed newest first, with the problem named
    assert result.record is not None
    assert result.record.outcome == "rejected"
    assert any(says in problem for problem in result.record.problems), result.record.problems
    newest = history(s3)[0]
    assert (newest.version_id, newest.outcome) == (version.version_id, "rejected")
    # And a Policy Activation Rejected event carries the problems
    [(detail_type, detail)] = events.sent
    assert detail_type == EventType.POLICY_REJECTED
    assert detail["version_id"] == version.version_id
    assert any(says in problem for problem in detail["problems"])


def test_an_older_upload_handled_after_a_newer_one_does_not_win(s3: Any) -> None:
    # Given two uploads, the newer one activated first (its event came first)
    older = upload(s3, BUCKET, named("older"))
    newer = upload(s3, BUCKET, named("newer"))
    activator = activator_for(s3, BUCKET)
    activator.activate_upload(newer)
    # When the older upload's event arrives late
    result = activator.activate_upload(older)
    # Then it is superseded, and the newer one stays active
    assert result.record is not None
    assert result.record.outcome == "superseded"
    assert newer.version_id in result.record.problems[0]
    assert pointer(s3).version_id == newer.version_id


def test_a_redelivered_event_changes_nothing(s3: Any) -> None:
    # Given an upload activated, then a newer one
    first = upload(s3, BUCKET, named("first"))
    activator = activator_for(s3, BUCKET)
    activator.activate_upload(first)
    second = activate(s3, BUCKET, named("second"))
    before = history(s3)
    # When the first upload's event is delivered again
    result = activator.activate_upload(first)
    # Then it is skipped as already processed: no new record, the newer version still active
    assert result.skipped is not None
    assert "already processed: activated" in result.skipped
    assert history(s3) == before
    assert pointer(s3).version_id == second.version_id


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    valid=st.lists(st.booleans(), min_size=1, max_size=4),
    order=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=8),
)
def test_whatever_the_order_and_repeats_the_newest_valid_upload_ends_active(
    s3: Any, valid: list[bool], order: list[int]
) -> None:
    # Given uploads, valid or not, in upload order (a fresh set of keys per example)
    key = f"incoming/{len(history(s3))}-{len(valid)}.yaml"
    versions = [
        upload(s3, BUCKET, named(f"v{n}") if ok else broken_schema(), key) for n, ok in enumerate(valid)
    ]
    activator = activator_for(s3, BUCKET)
    # When their events arrive in any order, some twice, then each at least once
    for index in [*order, *range(len(versions))]:
        activator.activate_upload(versions[index % len(versions)])
    # Then the newest valid upload of this key is active when there is one; every version has one
    # upload record, and no invalid version was ever activated (rejected, or superseded unread)
    newest_valid = [v for v, ok in zip(versions, valid, strict=True) if ok]
    if newest_valid:
        assert pointer(s3).version == newest_valid[-1]
    store = ControlStore(s3, BUCKET)
    for version, ok in zip(versions, valid, strict=True):
        record = store.record_of(version)
        assert record is not None
        assert record.outcome in ({"activated", "superseded"} if ok else {"rejected", "superseded"})
    invalid = {v.version_id for v, ok in zip(versions, valid, strict=True) if not ok}
    assert not [r for r in history(s3) if r.outcome == "activated" and r.version_id in invalid]


def test_rollback_goes_back_to_the_previous_version_and_to_a_named_one(s3: Any) -> None:
    # Given three versions activated in turn
    v1, v2, v3 = (activate(s3, BUCKET, named(name)) for name in ("v1", "v2", "v3"))
    activator = activator_for(s3, BUCKET)
    # When rolled back without a target
    record = activator.rollback()
    # Then the version active before the current one is active again, by rollback
    active = pointer(s3)
    assert (active.version_id, active.activated_by) == (v2.version_id, "rollback")
    assert active.previous is not None
    assert active.previous.version_id == v3.version_id
    assert (record.outcome, record.by) == ("rolled_back", "rollback")
    # When rolled back to the first version by name
    activator.rollback(PolicyVersion(key=v1.key, version_id=v1.version_id))
    # Then it is active, and the history lists both rollbacks newest first
    assert pointer(s3).version_id == v1.version_id
    assert [(r.version_id, r.outcome) for r in history(s3)[:2]] == [
        (v1.version_id, "rolled_back"),
        (v2.version_id, "rolled_back"),
    ]


def test_rollback_refuses_a_version_that_was_never_active_and_checks_it_again(s3: Any) -> None:
    # Given a rejected upload after a good one
    good = activate(s3, BUCKET, named("good"))
    rejected = activate(s3, BUCKET, broken_schema())
    activator = activator_for(s3, BUCKET)
    # When rolled back to the rejected version, Then it is refused, saying why
    with pytest.raises(RollbackError, match="was never active"):
        activator.rollback(PolicyVersion(key=rejected.key, version_id=rejected.version_id))
    # Given a learned version activated with its artifact, then the artifact replaced
    s3.put_object(Bucket=BUCKET, Key=ROUTER_KEY, Body=RAW)
    learned = activate(s3, BUCKET, json.dumps(learned_policy(RAW)))
    activate(s3, BUCKET, named("later"))
    s3.put_object(Bucket=BUCKET, Key=ROUTER_KEY, Body=keyword_router_bytes({"cheap-7b": 0.1}))
    # When rolled back to the learned version, Then it is checked again and rejected; nothing changes
    before = pointer(s3)
    record = activator.rollback(PolicyVersion(key=learned.key, version_id=learned.version_id))
    assert (record.outcome, record.by) == ("rejected", "rollback")
    assert any("pin mismatch" in problem for problem in record.problems)
    assert pointer(s3) == before
    assert good.outcome == "activated"


def test_rollback_with_nothing_before_says_so(s3: Any) -> None:
    activator = activator_for(s3, BUCKET)
    # Given nothing active, When rolled back, Then it says there is nothing to roll back
    with pytest.raises(RollbackError, match="no policy is active"):
        activator.rollback()
    # Given one version only, When rolled back, Then it asks for --to
    activate(s3, BUCKET, named("only"))
    with pytest.raises(RollbackError, match="no previous version"):
        activator.rollback()


def test_an_eventbridge_failure_loses_no_history_record(s3: Any) -> None:
    # Given EventBridge failing
    logged: list[tuple[str, dict[str, Any]]] = []
    activator = Activator(
        ControlStore(s3, BUCKET), notifier=Events(fail=True), log=lambda m, f: logged.append((m, f))
    )
    # When a broken upload is handled
    version = upload(s3, BUCKET, broken_schema())
    result = activator.activate_upload(version)
    # Then the rejection is recorded all the same, and the failed event is logged
    assert result.record is not None
    assert history(s3)[0].version_id == version.version_id
    [(message, fields)] = logged
    assert "not sent" in message
    assert (fields["type"], "ConnectionError" in fields["error"]) == (EventType.POLICY_REJECTED, True)


def test_an_object_larger_than_a_policy_is_rejected_without_being_read(s3: Any) -> None:
    # Given an upload of 2 MB (a policy is at most 1 MB)
    reads: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: reads.append(params["Key"])
    )
    version = upload(s3, BUCKET, b"#" * 2_000_000)
    # When handled, Then it is rejected by its size, and its body was never fetched
    result = activator_for(s3, BUCKET).activate_upload(version)
    assert result.record is not None
    assert "2,000,000 bytes" in result.record.problems[0]
    assert version.key not in reads


def test_the_event_source_is_the_shared_one() -> None:
    assert EVENT_SOURCE == "modelrouter"
