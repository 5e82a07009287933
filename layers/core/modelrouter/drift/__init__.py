"""Drift detection: does recent traffic route, fail, cost and rate like the baseline did?

Pure (no I/O): records go in (:func:`run_drift` with a reader such as
:class:`~modelrouter.provenance_window.WindowQuery`, or :class:`WindowStats` folded by hand), a
:class:`DriftReport` comes out. ``functions/drift_detector`` runs it every hour;
``modelrouter drift report`` on demand. See ``docs/drift.md``.
"""

from __future__ import annotations

from modelrouter.drift.aggregate import Segment, WindowStats
from modelrouter.drift.detect import detect_drift
from modelrouter.drift.observations import ATTRIBUTES_READ, DIFFICULTY_BANDS, SkipReason, observe
from modelrouter.drift.report import DriftFinding, DriftMetric, DriftReport, RouteSummary
from modelrouter.drift.run import RecordSource, run_drift
from modelrouter.drift.thresholds import DriftThresholds
from modelrouter.drift.windows import (
    DEFAULT_BASELINE,
    DEFAULT_RECENT,
    DriftWindows,
    Window,
    format_duration,
    parse_duration,
)

__all__ = [
    "ATTRIBUTES_READ",
    "DEFAULT_BASELINE",
    "DEFAULT_RECENT",
    "DIFFICULTY_BANDS",
    "DriftFinding",
    "DriftMetric",
    "DriftReport",
    "DriftThresholds",
    "DriftWindows",
    "RecordSource",
    "RouteSummary",
    "Segment",
    "SkipReason",
    "Window",
    "WindowStats",
    "detect_drift",
    "format_duration",
    "observe",
    "parse_duration",
    "run_drift",
]
