"""One drift run over any source of records: read each window, fold it, compare (no I/O of its own)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from modelrouter.drift.aggregate import WindowStats
from modelrouter.drift.detect import detect_drift
from modelrouter.drift.observations import SkipReason
from modelrouter.drift.report import DriftReport
from modelrouter.drift.thresholds import DriftThresholds
from modelrouter.drift.windows import DriftWindows, Window

__all__ = ["RecordSource", "run_drift"]


class RecordSource(Protocol):
    """A window's records, and what reading them took (as :class:`~modelrouter.provenance_window.WindowQuery`
    says)."""

    queries: int
    """Queries made."""
    unreadable: int
    """Items that did not decode."""
    truncated: bool
    """Whether a cap stopped the read."""

    def records(self) -> Iterator[Any]:
        """The records, read as they are iterated."""
        ...


def _fold(source: RecordSource) -> WindowStats:
    stats = WindowStats.of(source.records())
    stats.truncated, stats.queries = source.truncated, source.queries
    if source.unreadable:
        stats.records += source.unreadable
        stats.skipped[SkipReason.UNREADABLE] += source.unreadable
    return stats


def run_drift(
    open_window: Callable[[Window], RecordSource],
    windows: DriftWindows,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    """Read the baseline, then the recent window (``open_window``), and compare them.

    Raises:
        whatever ``open_window`` or its records raise (a reader's read error).
    """
    baseline = _fold(open_window(windows.baseline))
    recent = _fold(open_window(windows.recent))
    return detect_drift(baseline, recent, windows, thresholds)
