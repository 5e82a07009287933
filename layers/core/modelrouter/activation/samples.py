"""The sample requests every route of an uploaded policy decides on before it is activated.

Chat bodies like ``events/`` holds (the activator function ships without that folder, so they live
here): plain text, tools, each JSON answer format, an image, a document, a long prompt, other languages,
personal data, streaming, and metadata that routes match on (tags, a region, a classification, numbers
and words the example policy's ``when.metadata`` tests). :data:`SAMPLE_KINDS` names what each sample
covers; a test checks that every kind is covered and that every body parses.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from modelrouter.request import ChatRequest

__all__ = ["LONG_PROMPT_WORDS", "SAMPLES", "SAMPLE_KINDS", "Sample", "sample_requests"]

LONG_PROMPT_WORDS: Final = 12_000
"""Words of the long sample (about 16,000 tokens: past small context windows, within large ones)."""
SAMPLE_KINDS: Final = (
    "plain_text", "tools", "json_schema", "json_object", "image", "document", "long_prompt",
    "other_language", "personal_data", "streaming", "metadata_tags",
)  # fmt: skip
"""What the samples must cover between them."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample request."""

    name: str
    """Short name, used in problems (``sample 'tools'``)."""
    kinds: tuple[str, ...]
    """Which of :data:`SAMPLE_KINDS` it covers."""
    body: dict[str, Any]
    """The chat request body (OpenAI JSON)."""


def _png(width: int, height: int) -> str:
    """A ``data:`` URL of a PNG header claiming ``width`` × ``height`` (pixels are never decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk
    png += struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _pdf() -> str:
    """A ``data:`` URL of a one-page PDF."""
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>"
    pdf += b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    return "data:application/pdf;base64," + base64.b64encode(pdf).decode()


def _user(content: Any, **fields: Any) -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": content}], **fields}


_SCHEMA: Final = {
    "type": "object",
    "properties": {"total": {"type": "number"}, "currency": {"type": "string"}},
    "required": ["total", "currency"],
    "additionalProperties": False,
}
_LONG_TEXT: Final = " ".join(f"clause {n} of the agreement applies." for n in range(LONG_PROMPT_WORDS // 6))

SAMPLES: Final = (
    Sample("plain-text", ("plain_text",), _user("How do I reset my password?")),
    Sample("hard-question", ("plain_text",), _user(
        "Explain step by step why the proof of the spectral theorem for compact self-adjoint operators "
        "needs completeness, then compare it with the finite-dimensional case and give a counterexample."
    )),
    Sample("tools", ("tools",), _user(
        "My service crashes with KeyError: 'items'. Find the bug and run the unit tests.",
        tools=[{"type": "function", "function": {
            "name": "run_tests", "description": "Run the unit tests.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        }}],
        tool_choice="auto",
    )),
    Sample("json-schema", ("json_schema",), _user(
        "Extract the total and currency: Invoice 42, total due 118.50 EUR.",
        response_format={"type": "json_schema",
                         "json_schema": {"name": "invoice", "strict": True, "schema": _SCHEMA}},
    )),
    Sample("json-object", ("json_object",), _user(
        "Answer in JSON with a field 'answer': what is the capital of France?",
        response_format={"type": "json_object"},
    )),
    Sample("image", ("image",), _user([
        {"type": "text", "text": "What does this form say?"},
        {"type": "image_url", "image_url": {"url": _png(2400, 1800), "detail": "high"}},
    ])),
    Sample("image-json-schema", ("image", "json_schema"), _user(
        [{"type": "text", "text": "Extract the applicant's total and currency from this scan."},
         {"type": "image_url", "image_url": {"url": _png(2400, 1800)}}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "scan", "strict": True, "schema": _SCHEMA}},
    )),
    Sample("document", ("document",), _user([
        {"type": "text", "text": "Summarise this invoice."},
        {"type": "file", "file": {"filename": "invoice.pdf", "file_data": _pdf()}},
    ])),
    Sample("long-prompt", ("long_prompt",), _user(f"Summarise this contract: {_LONG_TEXT}")),
    Sample("french", ("other_language",), _user(
        "Bonjour, je voudrais savoir comment modifier l'adresse de livraison de ma commande, s'il vous "
        "plaît. Elle doit arriver chez mes parents à Lyon la semaine prochaine."
    )),
    Sample("japanese", ("other_language",), _user("注文の配送先住所を変更する方法を教えてください。")),
    Sample("personal-data", ("personal_data",), _user(
        "Refund the charge on card 4111 1111 1111 1111 and mail the receipt to jane.doe@example.com."
    )),
    Sample("streaming", ("streaming",), _user(
        "Write a haiku about routers.", stream=True, stream_options={"include_usage": True}
    )),
    Sample("metadata-tags", ("metadata_tags",), _user(
        "Where is my parcel?",
        metadata={"tags": "priority,beta", "customer_tier": "enterprise", "channel": "web"},
    )),
    Sample("metadata-numbers", ("metadata_tags",), _user(
        "Review this change and say whether it is risky.",
        metadata={"risk_score": "0.5", "amount_usd": "25000", "diff_lines": "800", "repo_files": "9000",
                  "device_trust": "suspicious", "task": "summary"},
    )),
    Sample("eu-confidential", ("metadata_tags",), _user(
        "Draft a reply to the customer about the delayed shipment.",
        metadata={"region": "eu", "data_classification": "confidential"},
    )),
)  # fmt: skip
"""Every sample, in the order the dry run tries them."""


@cache
def sample_requests() -> tuple[tuple[Sample, ChatRequest], ...]:
    """Each sample with its parsed request (parsed once per process).

    Raises:
        InvalidRequestError: a sample does not parse (a bug: a test parses every one).
    """
    import json

    from modelrouter.request import parse_chat_request

    return tuple((sample, parse_chat_request(json.dumps(sample.body).encode())) for sample in SAMPLES)
