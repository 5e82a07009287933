"""The segment of a request: the key a bandit route learns under, from the policy's ``Segmentation``.

Pure. A segment reads ``language=de|difficulty=1|metadata.channel=web`` (``all`` without parts). It is
bounded by the policy: a part with ``values`` keeps only those apart and reads :data:`OTHER` for anything
else, ``tags`` and ``metadata`` always have such a closed list, ``difficulty`` has its bands, and the
other features have small fixed ranges, so a client can never create more segments (learning-state
items) than the policy allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from modelrouter.features.records import RequestFeatures
from modelrouter.policy.bandit import Segmentation, SegmentKey

if TYPE_CHECKING:  # the engine imports this module: no import of the selection package at run time
    from modelrouter.selection.context import RequestContext

__all__ = [
    "ALL",
    "LANGUAGE_CONFIDENCE",
    "NO_TOPIC",
    "OTHER",
    "UNDETERMINED_LANGUAGE",
    "difficulty_band",
    "segment_of",
]

ALL = "all"
"""The one segment of a route without segmentation."""
OTHER = "other"
"""What a part reads when the request's value is not one of the part's ``values``."""
NO_TOPIC = "none"
"""The ``topic`` part of a request without a topic (no classifier, below its confidence, not scored)."""
UNDETERMINED_LANGUAGE = "und"
"""The ``language`` part when the detector is not sure."""
LANGUAGE_CONFIDENCE = 0.6
"""The detector's confidence a language needs to count (the engine's bar for ``multilingual`` too)."""
_PART_SEPARATOR = "|"


def difficulty_band(score: float, bands: list[float]) -> int:
    """The band ``score`` falls in: how many band edges are at or below it (``[0.3, 0.6]``: 0, 1 or 2)."""
    return sum(1 for edge in bands if score >= edge)


def _kept(value: str, part: SegmentKey) -> str:
    return value if part.values is None or value in part.values else OTHER


def _part(
    part: SegmentKey, features: RequestFeatures, context: RequestContext, metadata: Mapping[str, str]
) -> tuple[str, str]:
    if part.metadata is not None:
        return f"metadata.{part.metadata}", _kept(metadata.get(part.metadata, "").strip(), part)
    feature = part.feature
    if feature == "difficulty":
        return "difficulty", str(difficulty_band(features.difficulty.score, part.bands or []))
    if feature == "tags":
        carried = next((tag for tag in part.values or () if tag in context.tags), OTHER)
        return "tags", carried
    if feature == "language":
        sure = features.language.confidence >= LANGUAGE_CONFIDENCE
        return "language", _kept(features.language.code if sure else UNDETERMINED_LANGUAGE, part)
    if feature == "tenant":
        return "tenant", _kept(context.tenant_id, part)
    if feature == "topic":
        label = features.topic.label if features.topic is not None else None
        return "topic", NO_TOPIC if label is None else _kept(label, part)
    if feature == "response_format":
        return "response_format", _kept(features.response_format, part)
    return "has_tools", "true" if features.has_tools else "false"


def segment_of(
    segmentation: Segmentation,
    features: RequestFeatures,
    context: RequestContext,
    metadata: Mapping[str, str] | None,
) -> str:
    """The request's segment key under ``segmentation``.

    ``features`` carry the topic only when a route's ``when.topics`` already scored it: the segment never
    forces scoring (a request whose topic was not scored reads ``topic=none``).
    """
    if not segmentation.by:
        return ALL
    values = metadata or {}
    parts = (_part(part, features, context, values) for part in segmentation.by)
    return _PART_SEPARATOR.join(f"{name}={value}" for name, value in parts)
