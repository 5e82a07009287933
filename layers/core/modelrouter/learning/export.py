"""Provenance records as outcomes JSON Lines: logged traffic for ``learn fit`` and off-policy evaluation.

One line per record that has a reward and a stored prompt (``modelrouter outcomes export``; the format
of ``docs/learning.md`` and ``policies/outcomes.schema.json``):

* ``model``: the chosen model (the decision's primary, drawn with ``propensity``), not the one that
  answered after a fallback or an escalation (that one is ``answered_by``);
* ``quality``: the request's reward (:func:`~modelrouter.learning.reward.request_reward`): its feedback
  when it has any (``score``, or thumbs up 1 / down 0), else its implicit outcome's reward;
  ``quality_source`` says which;
* ``cost_usd``: what the request cost (every call, escalations included); ``latency_ms`` its latency;
* ``messages``: the stored prompt; ``metadata`` (and ``tags``, from ``metadata.tags``), ``tenant``,
  ``route``, ``policy_version`` and a bandit route's ``segment`` as recorded.

Records without a reward (fallbacks, failures, cancelled streams, refusals, records written before
outcomes were recorded) and records without a prompt (tenants without ``store_prompts``: their text is
not kept, so it cannot be exported) are skipped and counted by reason. The table and the export-file
readers (:mod:`modelrouter.learning.dynamodb_export`) feed the same :func:`write_outcomes`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from modelrouter.errors import InvalidRequestError
from modelrouter.learning.reward import request_reward
from modelrouter.request import parse_chat_request

__all__ = [
    "ExportSummary",
    "RecordFilter",
    "Skip",
    "outcome_line",
    "sort_key_bound",
    "write_outcomes",
]

_TAGS_KEY = "tags"
"""The metadata key whose comma-separated values become the line's ``tags``."""


def sort_key_bound(moment: datetime) -> str:
    """``moment`` as the start of a provenance sort key (``<ISO time, ms, UTC>``): records that started at
    or after it sort at or after it. A naive moment is taken as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records to export: a tenant, a route, and a start-time range ``[since, until)``."""

    tenant: str | None = None
    """Only this tenant's records."""
    route: str | None = None
    """Only records of this route."""
    since: datetime | None = None
    """Only requests that started at or after this moment."""
    until: datetime | None = None
    """Only requests that started before this moment."""

    def sort_key_range(self) -> tuple[str | None, str | None]:
        """The bounds of the sort keys to read (``sort_key`` >= low and < high; None: unbounded)."""
        low = sort_key_bound(self.since) if self.since is not None else None
        high = sort_key_bound(self.until) if self.until is not None else None
        return low, high

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` is one to export (the same test a table query's key condition makes)."""
        if self.tenant is not None and record.get("tenant_id") != self.tenant:
            return False
        if self.route is not None and record.get("route") != self.route:
            return False
        sort_key = record.get("sort_key")
        if not isinstance(sort_key, str):
            return False
        low, high = self.sort_key_range()
        return (low is None or sort_key >= low) and (high is None or sort_key < high)


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a record gave no outcome line."""

    reason: str
    """``no reward (<signal>)``, ``prompt not stored``, ``incomplete record`` or ``invalid (...)``."""


@dataclass
class ExportSummary:
    """What an export wrote and skipped."""

    written: int = 0
    """Outcome lines written."""
    sources: Counter[str] = field(default_factory=Counter)
    """Lines by ``quality_source`` (``feedback``, ``implicit``)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Records skipped, by reason."""
    without_prompts: set[str] = field(default_factory=set)
    """Tenants whose records were skipped because their prompts are not stored."""
    outside: int = 0
    """Records read that the filter left out (another route or time; export files hold every tenant)."""


def outcome_line(record: dict[str, Any]) -> dict[str, Any] | Skip:
    """The outcome line of one provenance record (see the module), or why there is none."""
    if record.get("record_incomplete"):
        return Skip("incomplete record")
    quality, source = request_reward(record)
    if quality is None:
        implicit = record.get("implicit")
        signal = implicit.get("signal") if isinstance(implicit, dict) else None
        return Skip(f"no reward ({signal or 'not recorded'})")
    model = record.get("chosen_model")
    if not isinstance(model, str) or not model:
        return Skip("incomplete record")
    prompt = record.get("prompt")
    if not isinstance(prompt, list) or not prompt:
        return Skip("prompt not stored")
    try:
        parse_chat_request({"model": "auto", "messages": prompt})
    except InvalidRequestError as error:
        return Skip(f"invalid ({error.field or 'messages'})")
    line: dict[str, Any] = {
        "request_id": record.get("request_id"),
        "messages": prompt,
        "model": model,
        "quality": quality,
        "quality_source": source,
        "cost_usd": _number(record.get("cost_usd")) or 0.0,
    }
    return _logged_fields(record, line)


def _logged_fields(record: dict[str, Any], line: dict[str, Any]) -> dict[str, Any] | Skip:
    """``line`` with what the record says about its traffic (each field only where recorded)."""
    latency = _number(record.get("latency_ms"))
    if latency is not None and latency >= 0:
        line["latency_ms"] = latency
    propensity = _number(record.get("propensity"))
    if record.get("propensity") is not None and (propensity is None or not 0.0 < propensity <= 1.0):
        return Skip("invalid (propensity)")
    if propensity is not None:
        line["propensity"] = propensity
    strings = {
        "tenant": record.get("tenant_id"),
        "route": record.get("route"),
        "answered_by": record.get("model") if record.get("model") != line["model"] else None,
        "policy_version": _get(record, "policy", "version"),
        "segment": _get(record, "bandit", "segment"),
    }
    line.update({name: value for name, value in strings.items() if isinstance(value, str) and value})
    metadata = record.get("metadata")
    if isinstance(metadata, dict) and metadata and all(isinstance(v, str) for v in metadata.values()):
        line["metadata"] = {str(key): value for key, value in metadata.items()}
        tags = [tag.strip() for tag in metadata.get(_TAGS_KEY, "").split(",") if tag.strip()]
        if tags:
            line["tags"] = tags
    return line


def write_outcomes(
    records: Iterable[dict[str, Any]], out: TextIO, record_filter: RecordFilter | None = None
) -> ExportSummary:
    """Write the outcome line of each record that ``record_filter`` keeps to ``out``; what was written
    and skipped."""
    summary = ExportSummary()
    keep = record_filter or RecordFilter()
    for record in records:
        if not keep.matches(record):
            summary.outside += 1
            continue
        line = outcome_line(record)
        if isinstance(line, Skip):
            summary.skipped[line.reason] += 1
            if line.reason == "prompt not stored":
                summary.without_prompts.add(str(record.get("tenant_id")))
            continue
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        summary.written += 1
        summary.sources[str(line["quality_source"])] += 1
    return summary


def _get(record: dict[str, Any], block: str, name: str) -> Any:
    value = record.get(block)
    return value.get(name) if isinstance(value, dict) else None


def _number(value: Any) -> float | None:
    """A finite number as a float (records read back may hold ints or Decimals), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
