"""The router handler's X-Ray subsegments on a sampled invocation (moto, in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelrouter.tracing import recorder
from modelrouter.tracing.botocore_hooks import instrument_client
from modelrouter.tracing.recorder import TRACE_HEADER_ENV
from tests.fakes import ListEmitter
from tests.helpers import load_event
from tests.integration.rig import RouterRig, router_environment, running_router

ROOT = "1-67891233-abcdef012345678912345678"
LAMBDA_SEGMENT = "1234567890abcdef"


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RouterRig, ListEmitter]]:
    router_environment(monkeypatch)
    emitter = ListEmitter()
    monkeypatch.setattr(recorder, "enabled", True)  # as inside Lambda with active tracing
    monkeypatch.setattr(recorder, "emitter", emitter)
    with running_router() as rig:
        instrument_client(rig.dynamodb)  # what aws_client does for the deployed clients
        yield rig, emitter


def test_a_sampled_request_sends_a_handler_subsegment_with_its_aws_calls_under_it(
    traced: tuple[RouterRig, ListEmitter], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig, emitter = traced
    # Given an invocation Lambda sampled
    monkeypatch.setenv(TRACE_HEADER_ENV, f"Root={ROOT};Parent={LAMBDA_SEGMENT};Sampled=1")
    # When the handler answers the support chat
    status, body, _ = rig.call(load_event("chat-support"))
    assert status == 200, body
    # Then there is one handler subsegment under Lambda's segment, annotated like Powertools' tracer's
    handlers = [document for document in emitter.documents if document["name"] == "## handler"]
    assert len(handlers) == 1
    (handler,) = handlers
    assert handler["parent_id"] == LAMBDA_SEGMENT
    assert handler["trace_id"] == ROOT
    assert set(handler["annotations"]) == {"ColdStart", "Service"}
    assert handler["annotations"]["Service"] == "modelrouter"
    # and the budget hold and its settlement are DynamoDB subsegments under it
    calls = [document for document in emitter.documents if document.get("namespace") == "aws"]
    assert {call["aws"]["operation"] for call in calls} >= {"TransactWriteItems"}
    for call in calls:
        assert call["name"] == "DynamoDB"
        assert call["parent_id"] == handler["id"]
        assert call["http"]["response"]["status"] == 200


def test_an_unsampled_request_sends_nothing(
    traced: tuple[RouterRig, ListEmitter], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig, emitter = traced
    monkeypatch.setenv(TRACE_HEADER_ENV, f"Root={ROOT};Parent={LAMBDA_SEGMENT};Sampled=0")
    status, body, _ = rig.call(load_event("chat-support"))
    assert status == 200, body
    assert emitter.documents == []
