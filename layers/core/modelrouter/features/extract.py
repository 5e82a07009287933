"""Everything the router reads from a request, in one call: :func:`extract_features`."""

from __future__ import annotations

from modelrouter.features.difficulty import score_difficulty
from modelrouter.features.language import SAMPLE_CHARS, detect_language
from modelrouter.features.media import request_documents, request_images
from modelrouter.features.pii import find_pii
from modelrouter.features.records import RequestFeatures
from modelrouter.features.tokens import estimate_request_tokens
from modelrouter.request import ChatRequest, UserMessage

__all__ = ["extract_features", "language_sample"]


def language_sample(request: ChatRequest) -> str:
    """The text the language is detected from: user messages, latest first, else all messages' text.

    At most :data:`~modelrouter.features.language.SAMPLE_CHARS` characters are gathered, so a long
    conversation costs no more than a short one.
    """
    for only_users in (True, False):
        parts: list[str] = []
        size = 0
        for message in reversed(request.messages):
            if only_users and not isinstance(message, UserMessage):
                continue
            text = message.text()
            if text:
                parts.append(text[: SAMPLE_CHARS - size])
                size += len(parts[-1]) + 1
                if size >= SAMPLE_CHARS:
                    break
        if size:
            return "\n".join(parts)
    return ""


def extract_features(request: ChatRequest) -> RequestFeatures:
    """Extract the explainable features of ``request``: size, shape, images and documents, language,
    personal data, difficulty.

    Pure and deterministic: the same request always gives the same features, and none of them holds
    prompt text or personal data. Nothing is fetched: an image given by URL is only counted.
    """
    response_format = request.response_format.type if request.response_format is not None else "text"
    images = request_images(request)
    return RequestFeatures(
        prompt_tokens=estimate_request_tokens(request, images),
        prompt_chars=sum(len(message.text()) for message in request.messages),
        message_count=len(request.messages),
        user_turns=sum(1 for message in request.messages if isinstance(message, UserMessage)),
        image_count=len(images),
        images=images,
        documents=request_documents(request),
        tool_count=len(request.tools or ()),
        response_format=response_format,
        language=detect_language(language_sample(request)),
        pii=find_pii(request),
        difficulty=score_difficulty(request),
    )
