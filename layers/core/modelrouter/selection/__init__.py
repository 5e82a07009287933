"""The decision engine: which route, which models in which order, and why others were left out."""

from __future__ import annotations

from modelrouter.selection.context import RequestContext
from modelrouter.selection.decision import Candidate, Decision, Exclusion, ExclusionReason, RouteMatch
from modelrouter.selection.engine import AUTO, decide
from modelrouter.selection.strategies import bucket, pick_tier, pick_variant

__all__ = [
    "AUTO",
    "Candidate",
    "Decision",
    "Exclusion",
    "ExclusionReason",
    "RequestContext",
    "RouteMatch",
    "bucket",
    "decide",
    "pick_tier",
    "pick_variant",
]
