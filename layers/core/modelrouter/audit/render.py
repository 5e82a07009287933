"""Provenance records as text for people: one whole record, or a listing with its totals.

Records come from a table anyone with write access could have filled, so every value printed goes
through :func:`clean` (control characters escaped: no terminal escape sequence gets through) and every
field may be missing (a refusal has no attempts; a record written when the full one could not be built
has ``record_incomplete``): what is absent is shown as ``-``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelrouter.accounting.records import format_usd
from modelrouter.audit.listing import Totals, checks_summary, outcome_text
from modelrouter.cli.render import table

__all__ = ["clean", "render_listing", "render_record"]

_DASH = "-"


def clean(value: Any) -> str:
    """``value`` as one line of text, control and other unprintable characters escaped (``\\x1b``)."""
    text = _DASH if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _usd(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _DASH
    return format_usd(value)


def _ms(value: Any) -> str:
    return f"{value:,.1f} ms" if isinstance(value, int | float) and not isinstance(value, bool) else _DASH


def _get(record: Mapping[str, Any], *path: str) -> Any:
    value: Any = record
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else None
    return value


def _list(record: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = record.get(name)
    return [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, list) else []


def _rows(entries: Sequence[Mapping[str, Any]], *fields: str) -> list[list[str]]:
    return [[clean(entry.get(field)) for field in fields] for entry in entries]


def _route_line(record: Mapping[str, Any]) -> str:
    names = {"matched_by": "matched by", "strategy": "strategy", "tier": "tier", "variant": "variant"}
    how = [f"{label} {clean(record[name])}" for name, label in names.items() if record.get(name)]
    return clean(record.get("route")) + (f" ({', '.join(how)})" if how else "")


def _feedback_line(record: Mapping[str, Any]) -> str:
    feedback = record.get("feedback")
    reward = record.get("reward")
    parts = []
    if isinstance(feedback, Mapping):
        names = ("thumbs", "score", "label")
        given = [f"{name} {clean(feedback[name])}" for name in names if feedback.get(name) is not None]
        parts.append(", ".join(given) or "given")
        if feedback.get("at"):
            parts.append(f"at {clean(feedback['at'])}")
    else:
        parts.append("none")
    if isinstance(reward, Mapping) and reward.get("value") is not None:
        parts.append(f"reward {clean(reward['value'])} from {clean(reward.get('source'))}")
    else:
        parts.append("no reward")
    return " · ".join(parts)


def _features_line(record: Mapping[str, Any]) -> str:
    features = record.get("features")
    if not isinstance(features, Mapping):
        return _DASH
    pii = features.get("pii_kinds")
    return " · ".join(
        [
            f"language {clean(features.get('language'))}",
            f"difficulty {clean(features.get('difficulty'))}",
            f"prompt {clean(features.get('prompt_tokens'))} tokens",
            f"{clean(features.get('messages'))} messages",
            f"pii {', '.join(clean(kind) for kind in pii) if isinstance(pii, list) and pii else 'none'}",
        ]
    )


def _head(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    answered = record.get("model")
    reported = record.get("reported_model")
    outcome = clean(outcome_text(record)) + (f" · answered by {clean(answered)}" if answered else "")
    if reported:
        outcome += f" (reported {clean(reported)})"
    cost = f"{_usd(record.get('cost_usd'))} (reserved {_usd(record.get('reserved_usd'))}, "
    cost += f"overage {_usd(record.get('overage_usd') or 0)})"
    cost += f" · tokens {clean(record.get('input_tokens'))} in / {clean(record.get('output_tokens'))} out"
    chosen = f"{clean(record.get('chosen_model'))} (propensity {clean(record.get('propensity'))})"
    return [
        ("request", clean(record.get("request_id"))),
        ("tenant", clean(record.get("tenant_id"))),
        ("started", clean(record.get("created_at"))),
        ("policy", f"{clean(_get(record, 'policy', 'name'))} @ {clean(_get(record, 'policy', 'version'))}"),
        ("route", _route_line(record)),
        ("outcome", outcome),
        ("cost", cost),
        ("latency", _ms(record.get("latency_ms"))),
        ("classification", clean(record.get("classification"))),
        ("features", _features_line(record)),
        ("chosen", chosen),
        ("feedback", _feedback_line(record)),
    ]


_CANDIDATE_COLUMNS = ["model", "provider", "source", "max_tokens", "est. cost", "worst case"]
_EXCLUSION_COLUMNS = ["model", "reason", "detail"]
_ATTEMPT_COLUMNS = ["#", "model", "outcome", "error", "duration", "cost", "tokens in/out", "max_tokens"]
_CHECK_COLUMNS = ["check", "passed", "action", "rule", "detail"]
_CHECK_FIELDS = ("name", "passed", "action", "rule", "detail")


def _candidate(candidate: Mapping[str, Any]) -> list[str]:
    names = _rows([candidate], "model", "provider", "source", "max_output_tokens")[0]
    return [*names, _usd(candidate.get("estimated_cost_usd")), _usd(candidate.get("max_cost_usd"))]


def _attempt(attempt: Mapping[str, Any]) -> list[str]:
    tokens = f"{clean(attempt.get('input_tokens'))}/{clean(attempt.get('output_tokens'))}"
    return [
        *_rows([attempt], "number", "model", "outcome", "error_code")[0],
        _ms(attempt.get("duration_ms")),
        _usd(attempt.get("cost_usd")),
        tokens,
        clean(attempt.get("max_tokens_sent")),
    ]


def render_record(record: Mapping[str, Any]) -> str:
    """One whole record: what was decided and why, every candidate and why others were left out, every
    attempt, the answer's checks, cost, latency and feedback."""
    head = _head(record)
    width = max(len(name) for name, _ in head)
    lines = [f"{name.ljust(width)}  {value}" for name, value in head]
    if record.get("reason"):
        lines.append(f"{'refused'.ljust(width)}  {clean(record['reason'])}")
    if record.get("record_incomplete"):
        lines.append("note: the full record could not be built; this is its minimal form")
    sections: list[tuple[str, list[str], list[list[str]]]] = [
        ("candidates (in order)", _CANDIDATE_COLUMNS, [_candidate(c) for c in _list(record, "candidates")]),
        ("left out", _EXCLUSION_COLUMNS, _rows(_list(record, "exclusions"), "model", "reason", "detail")),
        ("attempts", _ATTEMPT_COLUMNS, [_attempt(a) for a in _list(record, "attempts")]),
        ("checks of the answer", _CHECK_COLUMNS, _rows(_list(record, "checks"), *_CHECK_FIELDS)),
    ]
    for title, headers, rows in sections:
        lines += ["", f"{title}:", table(headers, rows) if rows else "  none"]
    notes = record.get("notes")
    if isinstance(notes, list) and notes:
        lines += ["", "notes:", *(f"  {clean(note)}" for note in notes)]
    return "\n".join(lines)


def render_listing(records: Sequence[Mapping[str, Any]], summary: Totals, *, truncated: bool) -> str:
    """A table of ``records`` (time, request id, route, model, outcome, cost, latency, checks) and totals."""
    rows = [
        [
            clean(str(record.get("created_at") or _DASH).replace("T", " ").removesuffix("+00:00")),
            clean(record.get("request_id")),
            clean(record.get("route")),
            clean(record.get("model")),
            clean(outcome_text(record)),
            _usd(record.get("cost_usd")),
            _ms(record.get("latency_ms")),
            clean(checks_summary(record.get("checks"))),
        ]
        for record in records
    ]
    headers = ["time (UTC)", "request id", "route", "model", "outcome", "cost", "latency", "checks"]
    outcomes = ", ".join(f"{count} {clean(name)}" for name, count in summary.outcomes.items())
    per_success = summary.cost_per_successful_outcome_usd
    lines = [
        table(headers, rows, indent="") if rows else "no records",
        "",
        f"{summary.records} records: {outcomes}",
        f"cost {_usd(summary.cost_usd)} · {summary.successful_outcomes} successful outcomes · "
        f"{_usd(per_success) if per_success is not None else _DASH} per successful outcome",
        f"latency p50 {_ms(summary.latency_p50_ms)}, p99 {_ms(summary.latency_p99_ms)}",
    ]
    if truncated:
        lines.append("more records match: raise --limit or narrow --since/--until")
    return "\n".join(lines)
