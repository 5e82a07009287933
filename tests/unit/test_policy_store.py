"""The S3 policy store follows the active pointer: cold start, conditional refresh of the pointer, the
version it names loaded by version id (never any other object), last good kept; checked with botocore's
Stubber (so every request matches the real S3 API model and names exactly the keys and versions
expected)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from tests.helpers import minimal_policy

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY
from modelrouter.policy.store import NoActivePolicyError, PolicyStore, PolicyUnavailableError

BUCKET, KEY = "policies", DEFAULT_UPLOAD_KEY
POINTER_GET = {"Bucket": BUCKET, "Key": POINTER_KEY}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _body(text: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(text), len(text))


def _pointer(version: str, etag: str, key: str = KEY, **changes: Any) -> dict[str, Any]:
    document = {
        "schema": 1,
        "key": key,
        "version_id": version,
        "digest": "sha256:x",
        "activated_at": "2025-01-01T00:00:00.000Z",
        "activated_by": "upload",
        "previous": None,
    }
    return {"Body": _body(json.dumps(document | changes).encode()), "ETag": f'"{etag}"'}


def _object(document: dict[str, Any], version: str, etag: str) -> dict[str, Any]:
    text = json.dumps(document).encode()
    return {"Body": _body(text), "ETag": f'"{etag}"', "VersionId": version}


def _version_get(version: str) -> dict[str, str]:
    return {"Bucket": BUCKET, "Key": KEY, "VersionId": version}


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _store(client: Any, clock: Clock, events: list[tuple[str, str]]) -> PolicyStore:
    return PolicyStore(
        BUCKET, POINTER_KEY, 60, s3_client=client, clock=clock, on_event=lambda k, d: events.append((k, d))
    )


def _activate(stubber: Stubber, version: str, document: dict[str, Any], pointer_get: dict[str, str]) -> None:
    """The pointer naming ``version``, then that version's object."""
    stubber.add_response("get_object", _pointer(version, f"p-{version}"), pointer_get)
    stubber.add_response("get_object", _object(document, version, f"e-{version}"), _version_get(version))


@dataclass
class Loaded:
    """A store that loaded v1 (pointer ETag ``p-v1``), its Stubber, clock and events."""

    store: PolicyStore
    stubber: Stubber
    clock: Clock
    events: list[tuple[str, str]]


@pytest.fixture
def loaded(s3: tuple[Any, Stubber]) -> Loaded:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    _activate(stubber, "v1", minimal_policy(), POINTER_GET)
    assert store.current().version == "v1"
    return Loaded(store, stubber, clock, events)


def test_cold_start_failure_is_retried_by_the_next_request_not_after_the_interval(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    # Given S3 failing at cold start
    stubber.add_client_error(
        "get_object", "ServiceUnavailable", http_status_code=503, expected_params=POINTER_GET
    )
    # When a request needs the policy, Then it is unavailable (503 upstream) and the failure reported
    with pytest.raises(PolicyUnavailableError) as raised:
        store.current()
    assert not isinstance(raised.value, NoActivePolicyError)
    assert events[-1][0] == "refresh_failed"
    # When the next request comes a second later, S3 is asked again at once
    clock.now += 1
    _activate(stubber, "v1", minimal_policy(), POINTER_GET)
    active = store.current()
    assert (active.version, active.key, active.etag) == ("v1", KEY, "e-v1")


def test_without_a_pointer_there_is_no_policy_and_the_error_says_how_to_activate_one(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    # Given a bucket with no active pointer (nothing was ever activated)
    stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404, expected_params=POINTER_GET)
    # When a request needs the policy
    with pytest.raises(NoActivePolicyError) as raised:
        store.current()
    # Then it is policy_unavailable (503), and both messages say how to activate a policy
    error = raised.value
    assert (error.code, error.http_status) == ("policy_unavailable", 503)
    assert "modelrouter policy push FILE" in error.public_message
    assert f"s3://{BUCKET}/{KEY}" in error.message
    assert events[-1][0] == "refresh_failed"
    assert "no active pointer" in events[-1][1]
    # And the health view says there is none, without raising
    stubber.add_client_error("get_object", "AccessDenied", http_status_code=403, expected_params=POINTER_GET)
    state = store.state()
    assert (state.active, state.last_refresh) == (None, "refresh_failed")


def test_refresh_is_conditional_on_the_pointer_and_at_most_once_per_interval(loaded: Loaded) -> None:
    store, stubber, clock = loaded.store, loaded.stubber, loaded.clock
    first = store.current()
    # Within the interval: no S3 call at all (the Stubber would fail on an unexpected one)
    clock.now += 59
    assert store.current() is first
    # After it: a conditional GET of the pointer on its ETag; 304 keeps the policy, no version read
    clock.now += 2
    conditional = POINTER_GET | {"IfNoneMatch": "p-v1"}
    stubber.add_client_error("get_object", "304", http_status_code=304, expected_params=conditional)
    assert store.current() is first
    # A pointer naming a new valid version replaces it, read by its version id
    clock.now += 61
    changed = minimal_policy()
    changed["name"] = "changed"
    _activate(stubber, "v2", changed, conditional)
    assert (store.current().version, store.current().policy.name) == ("v2", "changed")


def test_a_new_pointer_to_the_version_already_serving_reads_no_object(loaded: Loaded) -> None:
    store, stubber, clock = loaded.store, loaded.stubber, loaded.clock
    first = store.current()
    # Given the pointer rewritten (a new ETag) naming the same version
    clock.now += 61
    stubber.add_response("get_object", _pointer("v1", "p-again"), POINTER_GET | {"IfNoneMatch": "p-v1"})
    # Then the policy is kept as it is, unchanged
    assert store.current() is first
    assert store.state().last_refresh == "unchanged"


def test_a_broken_version_named_by_the_pointer_keeps_the_last_good_one(loaded: Loaded) -> None:
    store, stubber, clock, events = loaded.store, loaded.stubber, loaded.clock, loaded.events
    # Given the pointer names a version with a dangling route reference (artifacts changed, a hand edit)
    broken = minimal_policy()
    broken["tenants"][0]["default_route"] = "nowhere"
    clock.now += 61
    _activate(stubber, "v2", broken, POINTER_GET | {"IfNoneMatch": "p-v1"})
    # Then v1 keeps serving and the rejection names the version and the problem
    assert store.current().version == "v1"
    kind, detail = events[-1]
    assert (kind, "v2" in detail, "nowhere" in detail) == ("rejected", True, True)
    # And the next refresh tries it again (the health stays degraded while the pointer names it)
    clock.now += 61
    _activate(stubber, "v2", broken, POINTER_GET | {"IfNoneMatch": "p-v1"})
    assert store.state().last_refresh == "rejected"


@pytest.mark.parametrize(
    ("pointer", "says"),
    [
        ({"Body": _body(b"not json"), "ETag": '"p2"'}, "not JSON"),
        (_pointer("v2", "p2", key="control/active.json"), "not an object under incoming/"),
        (_pointer("v2", "p2", key="incoming/../control/active.json"), "not a plain key"),
        (_pointer("v2", "p2", schema=2), "pointer schema 2"),
        (_pointer("null", "p2"), "not versioned"),
    ],
    ids=["not-json", "outside-incoming", "dot-dot", "other-schema", "unversioned"],
)
def test_a_pointer_the_router_cannot_follow_keeps_the_last_good_one_and_reads_nothing_else(
    loaded: Loaded, pointer: dict[str, Any], says: str
) -> None:
    store, stubber, clock, events = loaded.store, loaded.stubber, loaded.clock, loaded.events
    # Given a pointer the router cannot follow
    clock.now += 61
    stubber.add_response("get_object", pointer, POINTER_GET | {"IfNoneMatch": "p-v1"})
    # Then v1 keeps serving, no other object is read (the Stubber has none), and the event says why
    assert store.current().version == "v1"
    kind, detail = events[-1]
    assert kind == "rejected"
    assert says in detail


@pytest.mark.parametrize(
    "body",
    [
        b"version: 1\nmodels: " + b"[" * 400 + b"]" * 400,  # deep: RecursionError before the limits
        b"name: " + b"x" * 1_000_001,  # over the size limit
    ],
    ids=["nested-400-deep", "too-large"],
)
def test_a_hostile_new_version_is_rejected_not_a_crash(loaded: Loaded, body: bytes) -> None:
    store, stubber, clock, events = loaded.store, loaded.stubber, loaded.clock, loaded.events
    # Given the pointer names a version that is nested 400 deep or too large
    clock.now += 61
    stubber.add_response("get_object", _pointer("v2", "p-v2"), POINTER_GET | {"IfNoneMatch": "p-v1"})
    stubber.add_response(
        "get_object", {"Body": _body(body), "ETag": '"e2"', "VersionId": "v2"}, _version_get("v2")
    )
    # When the store refreshes, Then v1 keeps serving and v2 is reported as rejected
    assert store.current().version == "v1"
    kind, detail = events[-1]
    assert kind == "rejected"
    assert "v2" in detail


def test_any_exception_while_loading_a_version_rejects_it(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, stubber, clock, events = loaded.store, loaded.stubber, loaded.clock, loaded.events
    # Given loading the next version fails with something other than a PolicyError
    from modelrouter.policy import store as store_module

    def broken(_body: bytes, _source: str) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(store_module, "parse_policy", broken)
    clock.now += 61
    _activate(stubber, "v2", minimal_policy(), POINTER_GET | {"IfNoneMatch": "p-v1"})
    # When the store refreshes, Then it does not raise: v1 keeps serving and v2 is rejected
    assert store.current().version == "v1"
    assert events[-1] == ("rejected", "version v2: could not be loaded: RecursionError")


def test_a_version_that_cannot_be_read_keeps_the_last_good_one(loaded: Loaded) -> None:
    store, stubber, clock, events = loaded.store, loaded.stubber, loaded.clock, loaded.events
    # Given the pointer names a version S3 does not have (deleted since)
    clock.now += 61
    stubber.add_response("get_object", _pointer("v2", "p-v2"), POINTER_GET | {"IfNoneMatch": "p-v1"})
    stubber.add_client_error(
        "get_object", "NoSuchVersion", http_status_code=404, expected_params=_version_get("v2")
    )
    # Then v1 keeps serving, and the failed refresh names the version
    assert store.current().version == "v1"
    assert events[-1][0] == "refresh_failed"
    assert "v2" in events[-1][1]
