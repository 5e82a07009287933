"""How large the images a simulated model is shown are: the megapixels of each inline image; pure.

The model server reads images in all three wire formats (OpenAI ``image_url`` data URIs, Anthropic
``image`` blocks, Converse ``image`` blocks) with the router's own readers
(:func:`~modelrouter.features.media.request_images`,
:func:`~modelrouter.features.media.base64_image_info`), so a simulated model sees the dimensions the
router routed by. Only a bounded prefix of each image is decoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from modelrouter.features.records import ImageInfo

__all__ = ["largest_megapixels"]

_PIXELS_PER_MEGAPIXEL: Final = 1_000_000


def largest_megapixels(images: Iterable[ImageInfo]) -> float | None:
    """Width × height of the largest image whose size is known, in megapixels; None when none is."""
    known = [pixels for image in images if (pixels := image.pixels) is not None]
    return max(known) / _PIXELS_PER_MEGAPIXEL if known else None
