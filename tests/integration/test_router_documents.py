"""A PDF file part through the router handler (``events/chat-document-pdf.json``, the example policy):
its pages are a feature, it requires the ``documents`` capability, and the model that answers gets it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.policy import ProviderKind
from modelrouter.request import FilePart, parse_chat_request
from tests.helpers import load_event
from tests.integration.rig import RouterRig, router_environment, running_router


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouterRig]:
    router_environment(monkeypatch)
    with running_router() as running:
        yield running


def as_route_request(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` (changed in place) sent to ``POST /v1/route`` instead: the decision without a call."""
    event.update({"resource": "/v1/route", "path": "/v1/route"})
    event["requestContext"].update({"resourcePath": "/v1/route", "path": "/api/v1/route"})
    return event


def test_the_pdf_is_a_feature_and_leaves_out_models_that_cannot_read_it(rig: RouterRig) -> None:
    # Given the support event carrying a 3-page invoice PDF, sent for a decision only
    event = as_route_request(load_event("chat-document-pdf"))
    sent = json.loads(event["body"])["messages"][1]["content"][1]["file"]["file_data"]

    # When routed
    status, body, _ = rig.call(event)

    # Then the document and its pages are features, and the cheap text-only model is left out for it
    assert status == 200, body
    (document,) = body["features"]["documents"]
    assert document["source"] == "inline"
    assert (document["media_type"], document["pages"]) == ("application/pdf", 3)
    assert document["encoded_bytes"] == len(base64.b64decode(sent.split(",", 1)[1]))
    assert "documents" in body["required_capabilities"]
    assert body["tier"] == "easy"
    excluded = {e["model"]: (e["reason"], e["detail"]) for e in body["exclusions"]}
    assert excluded["nova-micro"] == ("capability_missing", "lacks documents")
    assert body["candidates"][0]["model"] == "gpt-4o-mini"
    assert rig.model_calls() == 0


def test_the_model_that_reads_documents_answers_with_the_pdf(rig: RouterRig) -> None:
    # Given the same event, served
    status, body, _ = rig.call(load_event("chat-document-pdf"))

    # Then the OpenAI model answers, its call carried the file part, and nothing was dropped
    assert status == 200, body
    assert body["model"] == "gpt-4o-mini"
    (call,) = rig.providers[ProviderKind.OPENAI].calls
    sent = parse_chat_request(json.loads(load_event("chat-document-pdf")["body"]))
    assert list(call.request.content_parts(FilePart)) == list(sent.content_parts(FilePart))
    assert body["router"]["ignored_fields"] == []
    (record,) = rig.provenance_items("acme-support")
    assert "documents" in record["required_capabilities"]
    # And the record's features count the document and its pages
    assert (record["features"]["documents"], record["features"]["document_pages"]) == (1, 3)
    assert (record["features"]["images"], record["features"]["image_max_pixels"]) == (0, None)
