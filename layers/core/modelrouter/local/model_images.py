"""How large the images a simulated model is shown are: the megapixels of each inline image; pure.

The model server reads images in all three wire formats (OpenAI ``image_url`` data URIs, Anthropic
``image`` blocks, Converse ``image`` blocks) with the router's own header reader, so a simulated model
sees the same dimensions the router routed by. Only a bounded prefix is decoded.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Final

from modelrouter.features.image_headers import JPEG_SCAN_BYTES, image_dimensions, sniff_image

__all__ = ["largest_megapixels", "megapixels"]

_PREFIX_CHARS: Final = (JPEG_SCAN_BYTES // 3 + 1) * 4
_PIXELS_PER_MEGAPIXEL: Final = 1_000_000


def megapixels(encoded: str) -> float | None:
    """Width × height in megapixels of a base64-encoded image, from its header; None when unreadable."""
    prefix = "".join(encoded[:_PREFIX_CHARS].split())
    prefix = prefix[: len(prefix) - len(prefix) % 4]
    try:
        head = base64.b64decode(prefix, validate=True)
    except (binascii.Error, ValueError):
        return None
    media_type = sniff_image(head)
    width, height = (image_dimensions(media_type, head) if media_type is not None else None) or (None, None)
    if width is None or height is None:
        return None
    return width * height / _PIXELS_PER_MEGAPIXEL


def largest_megapixels(encoded_images: Iterable[str]) -> float | None:
    """The largest of the images' megapixels, or None when none is readable."""
    known = [value for value in map(megapixels, encoded_images) if value is not None]
    return max(known) if known else None
