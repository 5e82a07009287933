"""The local console's state: what the recent provenance records, the tenants' usage and the policy say,
as one JSON document (``/_local/console/state.json``).

Pure functions over plain values — provenance records as JSON-like dicts, usage as
:meth:`~modelrouter.accounting.usage.TenantUsage.as_json` objects — so they test with fakes; reading them
from the embedded AWS is :mod:`modelrouter.local.console.reader`'s job.

Each router container keeps its own breakers in memory, and shares them through the HealthTable
(:mod:`modelrouter.health`). :func:`breaker_view` shows what the recent requests say about each model
(retryable failures within the cooldown window, a request that found it cooling down, its last answer)
and, when the stack has a HealthTable, each model's shared breaker (:func:`shared_breakers`), which then
decides whether it is cooling.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from modelrouter.health.items import SharedState, epoch_ms
from modelrouter.policy.execution import Cooldown

__all__ = [
    "BREAKER_SOURCE",
    "NO_ROUTE",
    "PROMPT_PREVIEW_CHARS",
    "RECENT_LIMIT",
    "SHARED_BREAKER_SOURCE",
    "breaker_view",
    "console_state",
    "recent_requests",
    "request_view",
    "routing_mix",
    "shared_breakers",
    "spend_rows",
]

Record = Mapping[str, Any]
"""A provenance record as plain JSON values (see :mod:`modelrouter.provenance`)."""

RECENT_LIMIT = 50
"""Requests listed, newest first."""
PROMPT_PREVIEW_CHARS = 200
"""Characters of the last user message shown, for tenants whose records keep prompts (``store_prompts``)."""
NO_ROUTE = "(no route)"
"""Routing-mix row of requests refused before a route was chosen."""
BREAKER_SOURCE = (
    "Inferred from the recent requests' provenance: breakers live in each router container's memory, "
    "which the console cannot read. A container opens a model's breaker after its own retryable failures."
)
"""What the breaker view is, shown above it (without a HealthTable)."""
SHARED_BREAKER_SOURCE = (
    "The shared breakers from the HealthTable (what every router container sees within a few seconds), "
    "with what the recent requests' provenance says about each model."
)
"""What the breaker view is when the shared breakers could be read."""
_REQUEST_FIELDS = (
    "request_id", "created_at", "tenant_id", "route", "matched_by", "strategy", "tier", "variant",
    "classification", "outcome", "error_code", "reason", "model", "cost_usd", "reserved_usd",
    "overage_usd", "latency_ms", "stream", "features", "notes", "ignored_fields", "record_incomplete",
)  # fmt: skip
_ATTEMPT_FIELDS = (
    "number", "model", "outcome", "error_code", "error_message", "retryable", "duration_ms",
    "cost_usd", "usage_estimated", "checks",
)  # fmt: skip
_CANDIDATE_FIELDS = ("model", "provider", "source", "estimated_cost_usd", "max_cost_usd", "predicted_quality")


def _pick(source: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: source.get(name) for name in names if name in source}


def _prompt_preview(record: Record) -> str | None:
    """The last user message's text, cut to :data:`PROMPT_PREVIEW_CHARS` (None when not stored)."""
    for message in reversed(record.get("prompt") or []):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"text": content}]
        text = " ".join(str(p.get("text")) for p in parts if isinstance(p, Mapping) and p.get("text"))
        return text[:PROMPT_PREVIEW_CHARS] or None
    return None


def request_view(record: Record) -> dict[str, Any]:
    """One request as the console lists it: who, which route and model, what it cost, and its decision
    (candidates in order, exclusions and their reasons, attempts, checks)."""
    view = _pick(record, _REQUEST_FIELDS)
    view["candidates"] = [_pick(c, _CANDIDATE_FIELDS) for c in record.get("candidates") or []]
    view["exclusions"] = [_pick(e, ("model", "reason", "detail")) for e in record.get("exclusions") or []]
    view["attempts"] = [_pick(a, _ATTEMPT_FIELDS) for a in record.get("attempts") or []]
    view["checks"] = list(record.get("checks") or [])
    view["prompt"] = _prompt_preview(record)
    return view


def _newest_first(records: Iterable[Record]) -> list[Record]:
    return sorted(
        records, key=lambda r: (str(r.get("created_at", "")), str(r.get("request_id", ""))), reverse=True
    )


def recent_requests(records: Iterable[Record], limit: int = RECENT_LIMIT) -> list[dict[str, Any]]:
    """The ``limit`` newest requests, newest first."""
    return [request_view(record) for record in _newest_first(records)[:limit]]


def routing_mix(records: Iterable[Record]) -> list[dict[str, Any]]:
    """Per route: requests, how they ended, which models answered (with their share of the answers),
    cost and mean latency of the answered ones; busiest route first."""
    by_route: dict[str, list[Record]] = {}
    for record in records:
        by_route.setdefault(str(record.get("route") or NO_ROUTE), []).append(record)
    rows = []
    for route, group in by_route.items():
        outcomes = Counter(str(r.get("outcome")) for r in group)
        answered = [r for r in group if r.get("outcome") == "success"]
        models = Counter(str(r.get("model")) for r in answered)
        rows.append(
            {
                "route": route,
                "requests": len(group),
                "answered": outcomes["success"],
                "refused": outcomes["refused"],
                "failed": len(group) - outcomes["success"] - outcomes["refused"],
                "cost_usd": sum(float(r.get("cost_usd") or 0) for r in group),
                "mean_latency_ms": (
                    sum(float(r.get("latency_ms") or 0) for r in answered) / len(answered)
                    if answered
                    else None
                ),
                "models": [
                    {"model": model, "answers": count, "share": count / len(answered)}
                    for model, count in sorted(models.items(), key=lambda item: (-item[1], item[0]))
                ],
            }
        )
    return sorted(rows, key=lambda row: (-row["requests"], row["route"]))


def _moment(record: Record, offset_ms: Any = 0) -> datetime | None:
    try:
        started = datetime.fromisoformat(str(record.get("created_at")))
        return started + timedelta(milliseconds=float(offset_ms or 0))
    except (TypeError, ValueError):
        return None


def _model_events(records: Iterable[Record], model: str) -> dict[str, list[datetime]]:
    """When ``model`` answered, failed retryably, and was found cooling down, in ``records``."""
    events: dict[str, list[datetime]] = {"success": [], "failure": [], "cooling": []}
    for record in records:
        for attempt in record.get("attempts") or []:
            if attempt.get("model") != model:
                continue
            kind = "success" if attempt.get("outcome") == "success" else None
            if attempt.get("outcome") == "error" and attempt.get("retryable"):
                kind = "failure"
            if kind and (moment := _moment(record, attempt.get("started_ms"))) is not None:
                events[kind].append(moment)
        for exclusion in record.get("exclusions") or []:
            cooling = exclusion.get("model") == model and exclusion.get("reason") == "cooling_down"
            if cooling and (moment := _moment(record)) is not None:
                events["cooling"].append(moment)
    return events


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


def shared_breakers(states: Iterable[SharedState], now: datetime) -> dict[str, dict[str, Any]]:
    """Each model's shared breaker at ``now``, by model: ``open`` (skipped everywhere until
    ``open_until``), ``probing`` (one container's probe is in flight), ``half_open`` (the pause is over;
    the next call probes) or ``closed``."""
    now_ms = epoch_ms(now.timestamp())
    rows = {}
    for state in states:
        until = datetime.fromtimestamp(state.open_until / 1000, now.tzinfo) if state.open_until else None
        if until is None:
            row = {"state": "closed", "detail": "closed in every container"}
        elif state.open_until is not None and state.open_until > now_ms:
            row = {
                "state": "open",
                "detail": f"open in every container until {_clock(until)} (shared breaker)",
            }
        elif state.probing(now_ms):
            row = {"state": "probing", "detail": "one container's probe is in flight (shared breaker)"}
        else:
            row = {
                "state": "half_open",
                "detail": "the pause is over: the next call probes it (shared breaker)",
            }
        rows[state.model] = {**row, "open_until": until.isoformat() if until else None}
    return rows


def _breaker(
    model: str,
    events: dict[str, list[datetime]],
    cooldown: Cooldown,
    now: datetime,
    shared: Mapping[str, Any] | None,
) -> dict[str, Any]:
    success, failure, cooling = (max(events[k], default=None) for k in ("success", "failure", "cooling"))
    recent = [t for t in events["failure"] if (now - t).total_seconds() <= cooldown.window_s]
    row: dict[str, Any] = {"model": model, "failures_in_window": len(recent)}
    row["last_success_at"] = success.isoformat() if success else None
    if shared is not None:
        row["shared"] = dict(shared)
    if shared is not None and shared.get("state") in ("open", "probing"):
        row["state"] = "cooling"
        row["detail"] = str(shared.get("detail"))
    elif (
        cooling and (now - cooling).total_seconds() < cooldown.pause_s and (not success or success < cooling)
    ):
        row["state"] = "cooling"
        row["detail"] = (
            f"a request at {_clock(cooling)} found it cooling down (open in that container); "
            f"a probe may try it {cooldown.pause_s:g} s after it opened"
        )
    elif recent and failure and (not success or success < failure):
        row["state"] = "failing"
        row["detail"] = (
            f"{len(recent)} retryable failure{'s' if len(recent) != 1 else ''} in the last "
            f"{cooldown.window_s:g} s, the last at {_clock(failure)}; "
            f"a container opens at {cooldown.failures}"
        )
    elif success:
        row["state"] = "closed"
        row["detail"] = f"answered at {_clock(success)}"
    else:
        row["state"] = "unknown"
        row["detail"] = "no calls in the recent requests"
    return row


def breaker_view(
    records: Sequence[Record],
    models: Sequence[str],
    cooldown: Cooldown,
    now: datetime,
    shared: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Each model's breaker at ``now``: ``cooling`` (its shared breaker is open or probing, or a request
    found it cooling down within the pause, no answer since), ``failing`` (retryable failures within the
    window, no answer since), ``closed`` (it answered last) or ``unknown`` (no calls). ``shared``: the
    :func:`shared_breakers` rows (None: the stack has no HealthTable, or it could not be read)."""
    return {
        "source": BREAKER_SOURCE if shared is None else SHARED_BREAKER_SOURCE,
        "cooldown": cooldown.model_dump(include={"failures", "window_s", "pause_s"}),
        "models": [
            _breaker(
                model,
                _model_events(records, model),
                cooldown,
                now,
                None if shared is None else shared.get(model),
            )
            for model in models
        ],
    }


def spend_rows(usages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each tenant's usage (``TenantUsage.as_json()``, or ``{"tenant_id", "error"}`` when it could not be
    read) with ``used_fraction`` per period: committed ÷ limit (None without a limit)."""
    rows = []
    for usage in usages:
        row = dict(usage)
        periods = {}
        for name, period in (usage.get("periods") or {}).items():
            limit = period.get("limit_usd")
            fraction = float(period.get("committed_usd") or 0) / float(limit) if limit else None
            periods[name] = {**period, "used_fraction": fraction}
        if periods:
            row["periods"] = periods
        rows.append(row)
    return rows


def console_state(
    *,
    records: Sequence[Record],
    usages: Iterable[Mapping[str, Any]],
    policy: Mapping[str, Any],
    models: Sequence[str],
    cooldown: Cooldown,
    containers: Mapping[str, Any],
    now: datetime,
    shared: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole console document at ``now``: recent requests, routing mix, spend per tenant, breakers
    and containers. ``records`` is the window the mix and breakers are computed over (any order);
    ``shared``: the shared breakers (:func:`shared_breakers`), when there is a HealthTable."""
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "policy": dict(policy),
        "window": len(records),
        "requests": recent_requests(records),
        "routes": routing_mix(records),
        "tenants": spend_rows(usages),
        "breakers": breaker_view(records, models, cooldown, now, shared),
        "containers": dict(containers),
    }
