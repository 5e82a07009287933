"""Images and documents in routing: ``when.images`` / ``when.documents`` through ``decide()`` with the
explain trace, and the ``documents`` capability a document part requires."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import build_policy, minimal_policy, model_entry
from tests.media_files import (
    data_uri,
    file_part,
    flat_pdf,
    image_part,
    page_objects,
    pdf,
    png,
    user_turn,
)

from modelrouter.policy import Policy
from modelrouter.providers.fields import ignored_fields
from modelrouter.request import parse_chat_request
from modelrouter.selection import Decision, ExclusionReason, RequestContext, decide

TEXT = ["tools", "json_object", "multilingual"]


def media_policy() -> Policy:
    """A text-only, a vision and a multimodal model; a route for large scans, one for long documents."""
    document = minimal_policy()
    anthropic = {"provider": "anthropic", "region": None, "api_key": {"secretsmanager": "k"}}
    claude = {key: value for key, value in model_entry("claude", **anthropic).items() if value is not None}
    document["models"] = [
        model_entry("text-only", capabilities=TEXT),
        model_entry("vision-only", capabilities=[*TEXT, "vision"]),
        model_entry("multimodal", capabilities=[*TEXT, "vision", "documents"]),
        {**claude, "model_id": "claude-x", "capabilities": [*TEXT, "vision", "documents"]},
    ]
    large_scans = {"images": {"max_megapixels": {"gte": 4}}}
    long_documents = {"documents": {"pages": {"gte": 30}}}
    document["routes"] = [
        {"name": "large-scans", "when": large_scans, "models": ["vision-only"]},
        {"name": "long-documents", "when": long_documents, "models": ["multimodal"]},
        {"name": "claude-reads", "when": {"tags": ["claude"]}, "models": ["text-only", "claude"]},
        {"name": "default", "models": ["text-only", "vision-only", "multimodal"]},
    ]
    return build_policy(document)


def route(body: dict[str, Any], tags: str | None = None) -> Decision:
    """The decision for ``body`` (explained), with ``metadata.tags`` when given."""
    metadata = {"tags": tags} if tags else {}
    context = RequestContext.from_metadata("req-media", "t1", metadata)
    return decide(media_policy(), parse_chat_request(body), context, explain=True)


def clause(decision: Decision, route_name: str, name: str) -> tuple[bool, str]:
    """Whether a route's clause held for the decision, and why."""
    (trace,) = [t for t in decision.when_trace if t.route == route_name]
    (found,) = [c for c in trace.clauses if c.clause == name]
    return found.matched, found.detail


def object_stream_pdf() -> bytes:
    """A PDF whose page tree is in a compressed object stream: its page count is unknown."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /ObjStm /N 32 /First 300 >>"])


def test_a_large_scan_goes_to_the_vision_route() -> None:
    # Given a 12-megapixel scan sent inline
    decision = route(user_turn(image_part(data_uri("image/png", png(4000, 3000, pixels=False)))))

    # Then the route for large scans takes it, and the trace says why
    assert (decision.route, decision.primary.model) == ("large-scans", "vision-only")
    assert clause(decision, "large-scans", "images.max_megapixels") == (True, "12 ≥ 4")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (data_uri("image/png", png(800, 600, pixels=False)), "0.48 is not ≥ 4"),
        ("https://scans.example/page-1.png", "not known for this request"),
    ],
    ids=["small-photo", "url-never-fetched"],
)
def test_a_small_or_unknown_image_does_not_match_and_needs_vision(url: str, why: str) -> None:
    # Given a small photo, or an image by URL (its size unknown)
    decision = route(user_turn(image_part(url)))

    # Then the scan route does not hold, and the default route leaves out the text-only model
    assert clause(decision, "large-scans", "images.max_megapixels") == (False, why)
    assert decision.route == "default"
    excluded = {e.model: e.reason for e in decision.exclusions}
    assert excluded == {"text-only": ExclusionReason.CAPABILITY_MISSING}


def test_a_30_page_pdf_goes_to_the_multimodal_route() -> None:
    # Given a 30-page PDF / When routed / Then the long-document route takes it, and the trace says why
    decision = route(user_turn(file_part("application/pdf", flat_pdf(30))))
    assert (decision.route, decision.primary.model) == ("long-documents", "multimodal")
    assert clause(decision, "long-documents", "documents.pages") == (True, "30 ≥ 30")
    assert decision.features.document_pages == 30


@pytest.mark.parametrize(
    ("data", "why"),
    [(flat_pdf(29), "29 is not ≥ 30"), (object_stream_pdf(), "not known for this request")],
    ids=["29-pages", "pages-unknown"],
)
def test_a_shorter_or_unknown_pdf_does_not_match_and_needs_documents(data: bytes, why: str) -> None:
    # Given a 29-page PDF, or one whose pages are not cheap to know
    decision = route(user_turn(file_part("application/pdf", data)))

    # Then the long-document route does not hold, and models that cannot read documents are left out
    assert clause(decision, "long-documents", "documents.pages") == (False, why)
    assert decision.route == "default"
    assert "documents" in decision.required_capabilities
    excluded = {e.model: (e.reason, e.detail) for e in decision.exclusions}
    missing = (ExclusionReason.CAPABILITY_MISSING, "lacks documents")
    assert excluded == {"text-only": missing, "vision-only": missing}
    assert [c.model for c in decision.candidates] == ["multimodal"]


def test_a_file_given_by_id_requires_documents_too() -> None:
    # Given a file by OpenAI file id (nothing known of it but that it is a document)
    decision = route(user_turn({"type": "file", "file": {"file_id": "file-abc"}}))

    # Then it still needs a model that reads documents
    assert "documents" in decision.required_capabilities
    assert [c.model for c in decision.candidates] == ["multimodal"]


def test_a_request_without_documents_does_not_require_the_capability() -> None:
    # Given text only / Then documents are not required, and the text-only model may answer
    decision = route(user_turn())
    assert "documents" not in decision.required_capabilities
    assert decision.primary.model == "text-only"


def test_a_document_type_the_provider_cannot_read_is_still_dropped_and_reported() -> None:
    # Given a PDF and a CSV for a route whose Claude model reads documents (PDF and plain text only)
    body = user_turn(file_part("application/pdf", flat_pdf(2)), file_part("text/csv", b"a,b\n1,2\n", "t.csv"))
    decision = route(body, tags="claude")
    policy = media_policy()

    # When the Claude model is chosen
    assert [c.model for c in decision.candidates] == ["claude"]
    claude = policy.model_by_id["claude"]

    # Then the CSV is left out of its call and reported as an ignored field, the PDF alone is not
    assert ignored_fields(parse_chat_request(body), claude, 1_000) == ("messages.content.file",)
    pdf_only = parse_chat_request(user_turn(file_part("application/pdf", flat_pdf(2))))
    assert ignored_fields(pdf_only, claude, 1_000) == ()


def test_pages_of_several_documents_add_up() -> None:
    # Given two PDFs of 20 and 10 pages, and one of unknown pages
    parts = [file_part("application/pdf", flat_pdf(20)), file_part("application/pdf", flat_pdf(10))]
    unknown = file_part("application/pdf", pdf([b"<< /Type /Catalog >>", *page_objects(3)])[:-40])

    # Then the known pages add up to 30: the long-document route holds
    decision = route(user_turn(*parts, unknown))
    assert (decision.route, decision.features.document_count) == ("long-documents", 3)
