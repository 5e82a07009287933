"""Token estimates without a tokenizer.

Routing needs a prompt size before any provider is called, and loading a real tokenizer in a Lambda costs
more than the estimate is worth. These estimates are deliberately a little generous: overestimating a
prompt only skips a model with a too-small context window, underestimating it makes the call fail.
An image costs what the providers bill for its pixels when its header says its size
(:func:`image_tokens`), else the most any of them bills for one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence

from modelrouter.features.media import image_info
from modelrouter.features.records import ImageInfo
from modelrouter.request import AssistantMessage, ChatRequest, ImagePart, Message
from modelrouter.text import non_ascii

__all__ = [
    "CHARS_PER_TOKEN",
    "DENSE_SCRIPT_TOKENS_PER_CHAR",
    "IMAGE_TOKENS",
    "LOW_DETAIL_IMAGE_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "OTHER_SCRIPT_CHARS_PER_TOKEN",
    "PIXELS_PER_TOKEN",
    "TOKENS_PER_WORD",
    "estimate_message_tokens",
    "estimate_request_tokens",
    "estimate_tokens",
    "image_tokens",
]

CHARS_PER_TOKEN = 4.0
"""ASCII and accented Latin text: about four characters per token (English prose)."""
TOKENS_PER_WORD = 4 / 3
"""Lower bound per whitespace-separated word: code and numbers split into more tokens than prose."""
DENSE_SCRIPT_TOKENS_PER_CHAR = 1.0
"""Chinese, Japanese and Korean: about one token per character."""
OTHER_SCRIPT_CHARS_PER_TOKEN = 2.0
"""Other non-Latin scripts (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai …): two characters per token."""
MESSAGE_OVERHEAD_TOKENS = 4
"""Role markers and separators the chat template adds around every message."""
IMAGE_TOKENS = 1_600
"""An image at ``auto`` or ``high`` detail, at the most any provider bills for one after resizing
(Anthropic: about 1,600 for a 1.15-megapixel image; OpenAI: up to 1,445 for a wide high-detail one).
Budgets reserve from this estimate, so it errs high: a 1024×1024 image costs 765 at OpenAI."""
LOW_DETAIL_IMAGE_TOKENS = 85
"""An image at ``low`` detail."""
PIXELS_PER_TOKEN = 500
"""Pixels per token of an image whose size is known: Anthropic bills about width × height / 750 (after
shrinking it to about 1.15 megapixels, which :data:`IMAGE_TOKENS` covers); 500 errs high."""
_TILE_SIDE = 512
_TILE_TOKENS = 170
_BASE_TOKENS = 85
_HIGH_DETAIL_FIT = 2_048
_HIGH_DETAIL_SHORT_SIDE = 768

_DENSE = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
# `[x][x]*` rather than `[x]+`: a pattern that starts with a plain class lets `re` skip ahead in C.
_DENSE_RUN = re.compile(f"[{_DENSE}][{_DENSE}]*")
_LATIN_RUN = re.compile("[\u00c0-\u024f\u1e00-\u1eff][\u00c0-\u024f\u1e00-\u1eff]*")


def _run_chars(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def _word_count(text: str) -> int:
    # Runs of spaces (indentation) count as one word per two spaces rather than one per space.
    return text.count(" ") - text.count("  ") + text.count("\n") + 1


def estimate_tokens(text: str) -> int:
    """Estimate how many tokens ``text`` is, without a tokenizer.

    ASCII text costs one token per :data:`CHARS_PER_TOKEN` characters, but at least
    :data:`TOKENS_PER_WORD` per word; CJK characters one token each; other non-Latin scripts one per
    :data:`OTHER_SCRIPT_CHARS_PER_TOKEN` characters. Appending text never lowers the estimate.
    """
    if not text:
        return 0
    words = _word_count(text)
    if text.isascii():
        latin = len(text)
        dense = other = 0
    else:
        rest = non_ascii(text)
        dense = _run_chars(_DENSE_RUN, rest)
        latin = len(text) - len(rest) + _run_chars(_LATIN_RUN, rest)
        other = len(text) - latin - dense
    by_chars = (
        latin / CHARS_PER_TOKEN + dense * DENSE_SCRIPT_TOKENS_PER_CHAR + other / OTHER_SCRIPT_CHARS_PER_TOKEN
    )
    by_words = words * TOKENS_PER_WORD + dense * DENSE_SCRIPT_TOKENS_PER_CHAR
    return max(1, math.ceil(max(by_chars, by_words)))


def image_tokens(width: int, height: int) -> int:
    """Tokens of a ``width`` × ``height`` image at ``auto`` or ``high`` detail: the larger of OpenAI's
    tile count (fit in 2048 × 2048, shortest side at most 768, 85 + 170 per 512-pixel tile) and
    :data:`PIXELS_PER_TOKEN`, never more than :data:`IMAGE_TOKENS`."""
    fit = min(1.0, _HIGH_DETAIL_FIT / max(width, height))
    shrink = fit * min(1.0, _HIGH_DETAIL_SHORT_SIDE / (min(width, height) * fit))
    tiles = math.ceil(width * shrink / _TILE_SIDE) * math.ceil(height * shrink / _TILE_SIDE)
    by_pixels = math.ceil(width * height / PIXELS_PER_TOKEN)
    return min(IMAGE_TOKENS, max(_BASE_TOKENS + _TILE_TOKENS * tiles, by_pixels))


def _part_tokens(part: ImagePart, known: ImageInfo | None) -> int:
    detail = part.image_url.detail
    if detail == "low":
        return LOW_DETAIL_IMAGE_TOKENS
    if detail == "original":
        return IMAGE_TOKENS
    info = known if known is not None else image_info(part)
    if info.width is None or info.height is None:
        return IMAGE_TOKENS
    return image_tokens(info.width, info.height)


def _image_tokens(message: Message, known: Iterator[ImageInfo] | None) -> int:
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        return 0
    return sum(
        _part_tokens(part, next(known, None) if known is not None else None)
        for part in content
        if isinstance(part, ImagePart)
    )


def estimate_message_tokens(message: Message, images: Iterator[ImageInfo] | None = None) -> int:
    """Estimate one message: its text, its tool calls, its images and the per-message overhead.

    ``images``: what is already known of the request's images, consumed one per image part (so headers
    are not read again); without it, each image's header is read here."""
    total = MESSAGE_OVERHEAD_TOKENS + estimate_tokens(message.text()) + _image_tokens(message, images)
    if isinstance(message, AssistantMessage) and message.tool_calls:
        for call in message.tool_calls:
            total += estimate_tokens(call.function.name) + estimate_tokens(call.function.arguments)
    return total


def estimate_request_tokens(request: ChatRequest, images: Sequence[ImageInfo] | None = None) -> int:
    """Estimate the prompt tokens of a whole request.

    Counts every message (:func:`estimate_message_tokens`), the tool definitions as the JSON the
    provider receives, and the JSON Schema the answer must follow. ``images`` are the request's images
    as :func:`~modelrouter.features.media.request_images` read them, when the caller has them already.
    """
    known = iter(images) if images is not None else None
    total = sum(estimate_message_tokens(message, known) for message in request.messages)
    for tool in request.tools or ():
        total += estimate_tokens(tool.model_dump_json(exclude_none=True))
    schema = request.json_schema
    if schema is not None:
        total += estimate_tokens(json.dumps(schema, separators=(",", ":"), default=str))
    return total
