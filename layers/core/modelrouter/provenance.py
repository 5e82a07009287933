"""Provenance: one record per request saying what was decided, tried, checked and charged, and why.

``ignored_fields`` are the request fields the answering call (or, without an answer, the last call)
left out, as in the response's ``router`` block; each attempt carries its own. ``compliance`` is the
router block's (:func:`~modelrouter.selection.compliance.compliance_block`): the classification and
why, the answering model's residency and deployment mode (None without an answer), the models
excluded for compliance reasons.

Every record carries the feedback loop's fields (:func:`outcome_fields`): the chosen model (the
decision's primary), its ``propensity`` and the ``choice`` distribution it was drawn from, a bandit
route's ``bandit`` block, the ``implicit`` outcome, and the ``reward`` (its value, where it came from and
the learning-state item it was added to, if any).

Records hold no prompt text (only its SHA-256, unless the tenant's ``store_prompts`` allows more: then
``prompt`` and ``metadata``) and no PII values: free-text fields that could quote a prompt (provider
error messages) are scrubbed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from modelrouter.execution.records import Attempt
from modelrouter.features.pii import scan_text
from modelrouter.learning.implicit import ImplicitOutcome, refused_outcome
from modelrouter.learning.state import StateKey
from modelrouter.policy.tenants import Tenant
from modelrouter.provenance_index import TIME_BUCKET_ATTRIBUTE, time_bucket_for
from modelrouter.request import ChatRequest
from modelrouter.selection.compliance import compliance_block
from modelrouter.selection.decision import Decision

__all__ = [
    "build_record",
    "fallback_record",
    "learned_fields",
    "outcome_fields",
    "prompt_sha256",
    "refusal_record",
    "reward_block",
    "scrub",
    "without_applied_reward",
]

DEFAULT_RETENTION_DAYS = 30
"""Retention of records of requests whose tenant is not in the policy."""


def prompt_sha256(request: ChatRequest) -> str:
    """SHA-256 of the canonical JSON of the messages (the same prompt always gives the same hash)."""
    messages = [message.model_dump(mode="json", exclude_none=True) for message in request.messages]
    canonical = json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def scrub(text: str | None) -> str | None:
    """``text`` with any personal data replaced by its kind (``[email]``)."""
    if not text:
        return text
    findings = sorted(scan_text(text), key=lambda finding: finding[1])
    if not findings:
        return text
    pieces, cursor = [], 0
    for kind, start, end in findings:
        pieces += [text[cursor:start], f"[{kind.value}]"]
        cursor = end
    return "".join([*pieces, text[cursor:]])


def learned_fields(decision: Decision) -> dict[str, Any]:
    """What learned routing contributed to ``decision``: ``learned`` (the router's digest and objective)
    and ``tier_difficulty`` (the difficulty a threshold route's tier was picked by, and its source);
    only the ones that apply. Each candidate carries its own ``predicted_quality``."""
    fields: dict[str, Any] = {}
    if decision.learned is not None:
        fields["learned"] = decision.learned.model_dump(mode="json")
    if decision.tier_difficulty is not None:
        fields["tier_difficulty"] = decision.tier_difficulty.model_dump(mode="json", exclude_none=True)
    return fields


def reward_block(reward: float | None, applied_to: StateKey | None) -> dict[str, Any]:
    """A record's ``reward`` before any feedback: the implicit reward, and the learning-state item it was
    added to (None: counted nowhere)."""
    return {
        "value": reward,
        "source": "implicit" if reward is not None else None,
        "applied_to": applied_to.as_json() if applied_to is not None else None,
    }


def outcome_fields(
    decision: Decision | None, implicit: ImplicitOutcome, applied_to: StateKey | None
) -> dict[str, Any]:
    """The feedback loop's fields of a record: ``chosen_model``, ``propensity``, ``choice``, ``bandit``
    (bandit routes only), ``implicit`` and ``reward`` (None where no decision was made)."""
    fields: dict[str, Any] = {
        "chosen_model": decision.primary.model if decision is not None else None,
        "propensity": decision.propensity if decision is not None else None,
        "choice": decision.choice.model_dump(mode="json") if decision and decision.choice else None,
        "implicit": implicit.as_json(),
        "reward": reward_block(implicit.reward, applied_to),
    }
    if decision is not None and decision.bandit is not None:
        fields["bandit"] = decision.bandit.model_dump(mode="json")
    return fields


def without_applied_reward(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` saying its reward was counted nowhere (the learning update did not land)."""
    reward = record.get("reward")
    if not isinstance(reward, dict) or reward.get("applied_to") is None:
        return record
    return {**record, "reward": {**reward, "applied_to": None}}


def _attempt(attempt: Attempt) -> dict[str, Any]:
    record = attempt.model_dump(mode="json")
    record["error_message"] = scrub(record["error_message"])
    for check in record["checks"]:
        check["detail"] = scrub(check["detail"])
    return record


def build_record(
    *,
    tenant: Tenant,
    request: ChatRequest,
    decision: Decision,
    attempts: tuple[Attempt, ...],
    started: datetime,
    latency_ms: float,
    outcome: str,
    error_code: str | None,
    answered_by: str | None,
    reserved_usd: float,
    streamed: bool,
    implicit: ImplicitOutcome,
    applied_to: StateKey | None = None,
    overage_usd: float = 0.0,
    stream: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance record of one request, as plain JSON-able values (one DynamoDB item).

    ``implicit`` is the request's implicit outcome; ``applied_to`` the learning-state item its reward
    is added to by the settlement (bandit routes with a learning table)."""
    final = next((a for a in reversed(attempts) if a.outcome == "success"), None)
    last_call = final or next((a for a in reversed(attempts) if a.called), None)
    features = decision.features
    policy = {"name": decision.policy, "version": decision.policy_version}
    record: dict[str, Any] = {
        **_envelope(tenant.id, decision.request_id, started, tenant.retention_days, policy),
        "route": decision.route,
        "matched_by": decision.matched_by.value,
        "strategy": decision.strategy.value,
        "tier": decision.tier,
        "variant": decision.variant,
        "classification": decision.classification.value,
        "compliance": compliance_block(decision, answered_by),
        "required_capabilities": list(decision.required_capabilities),
        "features": {
            "prompt_tokens": features.prompt_tokens,
            "messages": features.message_count,
            "images": features.image_count,
            "image_bytes": features.image_bytes,
            "image_max_pixels": features.image_max_pixels,
            "documents": features.document_count,
            "document_pages": features.document_pages,
            "tools": features.tool_count,
            "response_format": features.response_format,
            "language": features.language.code,
            "pii_kinds": sorted(kind.value for kind in features.pii_kinds),
            "difficulty": features.difficulty.score,
            "topic": features.topic.model_dump(mode="json") if features.topic is not None else None,
        },
        "candidates": [c.model_dump(mode="json") for c in decision.candidates],
        "exclusions": [e.model_dump(mode="json") for e in decision.exclusions],
        **learned_fields(decision),
        **outcome_fields(decision, implicit, applied_to),
        "notes": list(decision.notes),
        "attempts": [_attempt(a) for a in attempts],
        "outcome": outcome,
        "error_code": error_code,
        "model": answered_by,
        "reported_model": final.reported_model if final else None,
        "input_tokens": sum(a.input_tokens + a.cache_read_tokens + a.cache_write_tokens for a in attempts),
        "output_tokens": sum(a.output_tokens for a in attempts),
        "cost_usd": sum(a.cost_usd for a in attempts),
        "reserved_usd": reserved_usd,
        "overage_usd": overage_usd,
        "usage_estimated": any(a.usage_estimated for a in attempts),
        "latency_ms": round(latency_ms, 3),
        "checks": [c.model_dump(mode="json") for c in final.checks] if final else [],
        "ignored_fields": list(last_call.ignored_fields) if last_call else [],
        "stream": streamed,
        "prompt_sha256": prompt_sha256(request),
    }
    if stream is not None:
        record["streaming"] = stream
    if tenant.store_prompts:
        record["prompt"] = [m.model_dump(mode="json", exclude_none=True) for m in request.messages]
        if request.metadata:
            record["metadata"] = dict(request.metadata)
    return record


def _envelope(
    tenant_id: str, request_id: str, started: datetime, retention_days: int, policy: dict[str, str]
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "sort_key": f"{started.isoformat(timespec='milliseconds')}#{request_id}",
        "request_id": request_id,
        "created_at": started.isoformat(timespec="milliseconds"),
        TIME_BUCKET_ATTRIBUTE: time_bucket_for(started, request_id),
        "expires_at": int((started + timedelta(days=retention_days)).timestamp()),
        "policy": policy,
    }


def refusal_record(
    *,
    tenant_id: str,
    tenant: Tenant | None,
    request_id: str,
    request: ChatRequest,
    decision: Decision | None,
    policy: dict[str, str],
    started: datetime,
    latency_ms: float,
    error_code: str,
    reason: str,
    route: str | None,
) -> dict[str, Any]:
    """The record of a request refused before any model call (403, 422, 429 …): zero cost, and why."""
    record = _envelope(
        tenant_id, request_id, started, tenant.retention_days if tenant else DEFAULT_RETENTION_DAYS, policy
    )
    record.update(
        {
            "route": decision.route if decision else route,
            "outcome": "refused",
            "error_code": error_code,
            "reason": scrub(reason[:500]),
            "classification": decision.classification.value if decision else None,
            "compliance": compliance_block(decision, None) if decision else None,
            "candidates": [c.model_dump(mode="json") for c in decision.candidates] if decision else [],
            "exclusions": [e.model_dump(mode="json") for e in decision.exclusions] if decision else [],
            **(learned_fields(decision) if decision else {}),
            **outcome_fields(decision, refused_outcome(decision.primary.model if decision else None), None),
            "attempts": [],
            "model": None,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
            "reserved_usd": 0.0,
            "latency_ms": round(latency_ms, 3),
            "stream": request.stream,
            "prompt_sha256": prompt_sha256(request),
        }
    )
    return record


def fallback_record(
    *,
    tenant_id: str,
    request_id: str,
    started: datetime,
    policy: dict[str, str],
    attempts: tuple[Attempt, ...],
    outcome: str,
    error_code: str | None,
    reserved_usd: float,
    chosen_model: str | None = None,
    propensity: float | None = None,
    implicit: ImplicitOutcome | None = None,
) -> dict[str, Any]:
    """A minimal record for when building the full one failed: who, what was called, what it cost, and
    the chosen model's implicit outcome where it is known (its reward counted nowhere)."""
    record = _envelope(tenant_id, request_id, started, DEFAULT_RETENTION_DAYS, policy)
    record.update(
        {
            "outcome": outcome,
            "error_code": error_code,
            "record_incomplete": True,
            "attempts": [
                {"model": a.model, "outcome": a.outcome, "cost_usd": a.cost_usd, "error_code": a.error_code}
                for a in attempts
            ],
            "cost_usd": sum(a.cost_usd for a in attempts),
            "reserved_usd": reserved_usd,
            "chosen_model": chosen_model,
            "propensity": propensity,
            "implicit": implicit.as_json() if implicit is not None else None,
            "reward": reward_block(implicit.reward if implicit is not None else None, None),
        }
    )
    return record
