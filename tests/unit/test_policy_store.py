"""The S3 policy store: cold start, conditional refresh, last good kept; checked with botocore's Stubber
(so every request matches the real S3 API model)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from tests.helpers import minimal_policy

from modelrouter.policy.store import PolicyStore, PolicyUnavailableError

BUCKET, KEY = "policies", "policies/active.yaml"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _body(text: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(text), len(text))


def _object(document: dict[str, Any], version: str, etag: str) -> dict[str, Any]:
    text = json.dumps(document).encode()
    return {"Body": _body(text), "ETag": f'"{etag}"', "VersionId": version}


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _store(client: Any, clock: Clock, events: list[tuple[str, str]]) -> PolicyStore:
    return PolicyStore(
        BUCKET, KEY, 60, s3_client=client, clock=clock, on_event=lambda k, d: events.append((k, d))
    )


def test_cold_start_failure_is_retried_by_the_next_request_not_after_the_interval(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    # Given S3 failing at cold start
    stubber.add_client_error(
        "get_object",
        "ServiceUnavailable",
        http_status_code=503,
        expected_params={"Bucket": BUCKET, "Key": KEY},
    )
    # When a request needs the policy, Then it is unavailable (503 upstream) and the failure reported
    with pytest.raises(PolicyUnavailableError):
        store.current()
    assert events[-1][0] == "refresh_failed"
    # When the next request comes a second later, S3 is asked again at once
    clock.now += 1
    stubber.add_response("get_object", _object(minimal_policy(), "v1", "e1"), {"Bucket": BUCKET, "Key": KEY})
    assert store.current().version == "v1"


def test_refresh_is_conditional_and_at_most_once_per_interval(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    stubber.add_response("get_object", _object(minimal_policy(), "v1", "e1"), {"Bucket": BUCKET, "Key": KEY})
    first = store.current()
    # Within the interval: no S3 call at all (the Stubber would fail on an unexpected one)
    clock.now += 59
    assert store.current() is first
    # After it: a conditional GET on the ETag; 304 keeps the policy
    clock.now += 2
    stubber.add_client_error(
        "get_object",
        "304",
        http_status_code=304,
        expected_params={"Bucket": BUCKET, "Key": KEY, "IfNoneMatch": "e1"},
    )
    assert store.current() is first
    # A new valid version replaces it
    clock.now += 61
    changed = minimal_policy()
    changed["name"] = "changed"
    stubber.add_response(
        "get_object", _object(changed, "v2", "e2"), {"Bucket": BUCKET, "Key": KEY, "IfNoneMatch": "e1"}
    )
    assert store.current().version == "v2"
    assert store.current().policy.name == "changed"


def test_a_broken_new_version_keeps_the_last_good_one(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    stubber.add_response("get_object", _object(minimal_policy(), "v1", "e1"), {"Bucket": BUCKET, "Key": KEY})
    store.current()
    # Given a new version with a dangling route reference
    broken = minimal_policy()
    broken["tenants"][0]["default_route"] = "nowhere"
    clock.now += 61
    stubber.add_response(
        "get_object", _object(broken, "v2", "e2"), {"Bucket": BUCKET, "Key": KEY, "IfNoneMatch": "e1"}
    )
    # Then v1 keeps serving and the rejection names the version and the problem
    assert store.current().version == "v1"
    kind, detail = events[-1]
    assert kind == "rejected"
    assert "v2" in detail
    assert "nowhere" in detail


@pytest.mark.parametrize(
    "body",
    [
        b"version: 1\nmodels: " + b"[" * 400 + b"]" * 400,  # deep: RecursionError before the limits
        b"name: " + b"x" * 1_000_001,  # over the size limit
    ],
    ids=["nested-400-deep", "too-large"],
)
def test_a_hostile_new_version_is_rejected_not_a_crash(s3: tuple[Any, Stubber], body: bytes) -> None:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    stubber.add_response("get_object", _object(minimal_policy(), "v1", "e1"), {"Bucket": BUCKET, "Key": KEY})
    store.current()
    # Given a new version that is nested 400 deep or too large
    clock.now += 61
    stubber.add_response(
        "get_object",
        {"Body": _body(body), "ETag": '"e2"', "VersionId": "v2"},
        {"Bucket": BUCKET, "Key": KEY, "IfNoneMatch": "e1"},
    )
    # When the store refreshes, Then v1 keeps serving and v2 is reported as rejected
    assert store.current().version == "v1"
    kind, detail = events[-1]
    assert kind == "rejected"
    assert "v2" in detail


def test_any_exception_while_loading_a_version_rejects_it(
    s3: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stubber = s3
    clock, events = Clock(), []
    store = _store(client, clock, events)
    stubber.add_response("get_object", _object(minimal_policy(), "v1", "e1"), {"Bucket": BUCKET, "Key": KEY})
    store.current()
    # Given loading the next version fails with something other than a PolicyError
    from modelrouter.policy import store as store_module

    def broken(_body: bytes, _source: str) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(store_module, "parse_policy", broken)
    clock.now += 61
    stubber.add_response(
        "get_object",
        _object(minimal_policy(), "v2", "e2"),
        {"Bucket": BUCKET, "Key": KEY, "IfNoneMatch": "e1"},
    )
    # When the store refreshes, Then it does not raise: v1 keeps serving and v2 is rejected
    assert store.current().version == "v1"
    assert events[-1] == ("rejected", "version v2: could not be loaded: RecursionError")
