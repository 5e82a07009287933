"""A tenant's records of a time window as an audit listing: one row each, and totals (pure).

Totals count every listed record by outcome and sum their ``cost_usd``; successful outcomes and cost
per successful outcome are :func:`modelrouter.outcome_cost.cost_per_successful_outcome`'s (the one
definition); latency percentiles are by nearest rank over the records that have a latency.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from modelrouter.audit.store import OUTCOMES
from modelrouter.outcome_cost import cost_per_successful_outcome
from modelrouter.provenance_index import PROJECTED_ATTRIBUTES

__all__ = ["LISTING_ATTRIBUTES", "Totals", "checks_summary", "outcome_text", "percentile", "totals"]

LISTING_ATTRIBUTES: Final = ("tenant_id", "sort_key", *PROJECTED_ATTRIBUTES)
"""What a listing reads of each record: the keys and what the ``by_time`` index projects (never a prompt
or metadata)."""


@dataclass(frozen=True)
class Totals:
    """What the listed records add up to."""

    records: int
    """Records listed."""
    outcomes: dict[str, int]
    """Records per outcome (every outcome named, 0 included)."""
    cost_usd: float
    """Their ``cost_usd``, summed."""
    successful_outcomes: int
    """Records that are successful outcomes (passed checks; rated good where rated)."""
    cost_per_successful_outcome_usd: float | None
    """Cost per successful outcome; None without any."""
    latency_p50_ms: float | None
    """Median latency; None when no record has one."""
    latency_p99_ms: float | None
    """99th percentile latency; None when no record has one."""

    def as_json(self) -> dict[str, Any]:
        """The totals as a JSON object."""
        return {
            "records": self.records,
            "outcomes": dict(self.outcomes),
            "cost_usd": self.cost_usd,
            "successful_outcomes": self.successful_outcomes,
            "cost_per_successful_outcome_usd": self.cost_per_successful_outcome_usd,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p99_ms": self.latency_p99_ms,
        }


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank ``share`` (0–1] percentile of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def totals(records: Sequence[Mapping[str, Any]]) -> Totals:
    """The totals of ``records``."""
    spend, successes, per_success = cost_per_successful_outcome(records)
    outcomes = Counter(str(record.get("outcome")) for record in records)
    latencies = [
        value for value in (_number(record.get("latency_ms")) for record in records) if value is not None
    ]
    return Totals(
        records=len(records),
        outcomes={outcome: outcomes.get(outcome, 0) for outcome in OUTCOMES}
        | {name: count for name, count in outcomes.items() if name not in OUTCOMES},
        cost_usd=spend,
        successful_outcomes=successes,
        cost_per_successful_outcome_usd=per_success,
        latency_p50_ms=percentile(latencies, 0.5),
        latency_p99_ms=percentile(latencies, 0.99),
    )


def checks_summary(checks: Any) -> str:
    """The answer's checks in a few words: ``-`` (none), ``3 passed``, or ``failed: json_schema``."""
    if not isinstance(checks, list) or not checks:
        return "-"
    failed = [
        str(check.get("name")) for check in checks if isinstance(check, dict) and not check.get("passed")
    ]
    return f"failed: {', '.join(failed)}" if failed else f"{len(checks)} passed"


def outcome_text(record: Mapping[str, Any]) -> str:
    """``success``, or the outcome with its error code (``refused: pin_not_allowed``)."""
    outcome, code = record.get("outcome"), record.get("error_code")
    return f"{outcome}: {code}" if code else str(outcome)
