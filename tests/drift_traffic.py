"""Synthetic provenance records for drift tests: a seeded generator with every rate as a parameter.

Records have the fields real ones have (route, chosen_model, model, outcome, cost_usd, features with
language and difficulty, attempts with their checks, reward and feedback), so the pure core reads
them exactly as it reads the table's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from modelrouter.execution.records import Attempt
from modelrouter.learning.implicit import implicit_outcome
from modelrouter.policy import Policy
from modelrouter.provenance import build_record
from modelrouter.provenance_index import time_bucket_for
from modelrouter.request import parse_chat_request
from modelrouter.selection.context import RequestContext
from modelrouter.selection.engine import decide

__all__ = ["Traffic", "built_record", "records", "shifted"]

START = datetime(2026, 3, 2, 12, tzinfo=UTC)
"""When the generated traffic's windows start."""


def _default_routes() -> dict[str, dict[str, float]]:
    return {"support": {"small": 0.7, "large": 0.3}, "coding": {"coder": 0.5, "small": 0.3, "large": 0.2}}


@dataclass(frozen=True)
class Traffic:
    """How requests behave; every probability per request."""

    routes: dict[str, dict[str, float]] = field(default_factory=_default_routes)
    """Route → chosen model → share (routes are equally likely)."""
    languages: tuple[tuple[str, float], ...] = (("en", 0.75), ("de", 0.25))
    """Languages and their shares."""
    fallback: float = 0.05
    """The chosen model fails and another one answers."""
    retry: float = 0.05
    """The chosen model is called a second time."""
    check_failure: float = 0.05
    """An answer fails a check and is repaired on the same model."""
    error: float = 0.02
    """No model answers."""
    refused: float = 0.01
    """Refused before any call."""
    rated: float = 0.4
    """The request is rated (thumbs)."""
    good: float = 0.8
    """A rated request is rated up."""
    cost: dict[str, float] = field(default_factory=lambda: {"small": 0.001, "coder": 0.003, "large": 0.01})
    """Median cost per chosen model."""
    cost_spread: float = 0.5
    """Sigma of the cost's log-normal noise."""
    difficulty: tuple[float, float] = (0.0, 1.0)
    """Range of ``features.difficulty`` (uniform)."""
    shift_route: str | None = None
    """Only this route follows the traffic (others follow ``base``), when set."""
    base: Traffic | None = None
    """The traffic other routes follow when ``shift_route`` is set."""


def shifted(base: Traffic, route: str, **changes: Any) -> Traffic:
    """``base`` with ``changes`` applied to ``route`` only."""
    return replace(base, **changes, shift_route=route, base=base)


def _pick(rng: random.Random, shares: dict[str, float] | tuple[tuple[str, float], ...]) -> str:
    items = list(shares.items()) if isinstance(shares, dict) else list(shares)
    names, weights = zip(*items, strict=True)
    chosen: str = rng.choices(names, weights)[0]
    return chosen


def _attempt(model: str, outcome: str, checks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"model": model, "outcome": outcome, "checks": checks or [], "cost_usd": 0.0}


def _record(
    traffic: Traffic, route: str, rng: random.Random, started: datetime, number: int
) -> dict[str, Any]:
    if traffic.shift_route is not None and route != traffic.shift_route and traffic.base is not None:
        traffic = traffic.base
    models = traffic.routes[route]
    chosen = _pick(rng, models)
    others = [model for model in models if model != chosen] or [chosen]
    attempts = []
    if rng.random() < traffic.retry:
        attempts.append(_attempt(chosen, "error"))
    if rng.random() < traffic.check_failure:
        attempts.append(_attempt(chosen, "check_failed", [{"name": "json", "passed": False}]))
    answered: str | None = chosen
    if rng.random() < traffic.fallback:
        attempts.append(_attempt(chosen, "error"))
        answered = rng.choice(others)
    if rng.random() < traffic.error:
        attempts.append(_attempt(answered or chosen, "error"))
        answered = None
    else:
        attempts.append(_attempt(answered or chosen, "success", [{"name": "json", "passed": True}]))
    cost = traffic.cost[chosen] * rng.lognormvariate(0.0, traffic.cost_spread)
    request_id = f"req-{number:07d}"
    record: dict[str, Any] = {
        "tenant_id": "acme",
        "sort_key": f"{started.isoformat(timespec='milliseconds')}#{request_id}",
        "request_id": request_id,
        "time_bucket": time_bucket_for(started, request_id),
        "route": route,
        "chosen_model": chosen,
        "model": answered,
        "outcome": "success" if answered else "error",
        "cost_usd": cost,
        "features": {
            "language": _pick(rng, traffic.languages),
            "difficulty": round(rng.uniform(*traffic.difficulty), 3),
        },
        "attempts": attempts,
        "reward": {"value": None, "source": None, "applied_to": None},
    }
    if rng.random() < traffic.refused:
        record.update(outcome="refused", model=None, attempts=[], cost_usd=0.0)
    elif answered and rng.random() < traffic.rated:
        thumbs = "up" if rng.random() < traffic.good else "down"
        record["feedback"] = {"thumbs": thumbs}
        record["reward"] = {"value": 1.0 if thumbs == "up" else 0.0, "source": "feedback", "applied_to": None}
    return record


def records(
    traffic: Traffic,
    count: int,
    seed: int,
    start: datetime = START,
    span: timedelta = timedelta(hours=1),
    first: int = 0,
) -> list[dict[str, Any]]:
    """``count`` records of ``traffic`` started evenly in ``[start, start + span)``, seeded; request ids
    are numbered from ``first``."""
    rng = random.Random(seed)
    routes = sorted(traffic.routes)
    step = span / count
    return [
        _record(traffic, rng.choice(routes), rng, start + index * step, first + index)
        for index in range(count)
    ]


def built_record(
    policy: Policy,
    tenant_id: str,
    started: datetime,
    request_id: str,
    *,
    text: str = "Hello",
    cost: float = 0.001,
) -> dict[str, Any]:
    """The provenance record the router writes for a request of ``tenant_id`` that ``policy`` routed and
    its chosen model answered at ``cost``: built by :func:`modelrouter.provenance.build_record` from a
    real decision."""
    tenant = next(tenant for tenant in policy.tenants if tenant.id == tenant_id)
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": text}]})
    decision = decide(policy, request, RequestContext(request_id, tenant_id))
    primary = decision.primary
    attempt = Attempt(
        number=1, model=primary.model, provider=primary.provider.value, started_ms=0.0, duration_ms=20.0,
        provider_model_id=primary.provider_model_id, outcome="success", input_tokens=10, output_tokens=5,
        cost_usd=cost,
    )  # fmt: skip
    implicit = implicit_outcome(
        primary.model,
        [attempt],
        answered_by=primary.model,
        cancelled=False,
        latency_ms=20.0,
        latency_budget_ms=None,
    )
    return build_record(
        tenant=tenant, request=request, decision=decision, attempts=(attempt,), started=started,
        latency_ms=20.0, outcome="success", error_code=None, answered_by=primary.model, reserved_usd=0.01,
        streamed=False, implicit=implicit,
    )  # fmt: skip
