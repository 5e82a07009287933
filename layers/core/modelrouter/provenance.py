"""Provenance: one record per request saying what was decided, tried, checked and charged, and why.

Records hold no prompt text (only its SHA-256, unless the tenant's ``store_prompts`` allows more) and
no PII values: free-text fields that could quote a prompt (provider error messages) are scrubbed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from modelrouter.execution.records import Attempt
from modelrouter.features.pii import scan_text
from modelrouter.policy.tenants import Tenant
from modelrouter.request import ChatRequest
from modelrouter.selection.decision import Decision

__all__ = ["build_record", "prompt_sha256", "scrub"]


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
) -> dict[str, Any]:
    """The provenance record of one request, as plain JSON-able values (one DynamoDB item)."""
    final = next((a for a in reversed(attempts) if a.outcome == "success"), None)
    features = decision.features
    record: dict[str, Any] = {
        "tenant_id": tenant.id,
        "sort_key": f"{started.isoformat(timespec='milliseconds')}#{decision.request_id}",
        "request_id": decision.request_id,
        "created_at": started.isoformat(timespec="milliseconds"),
        "expires_at": int((started + timedelta(days=tenant.retention_days)).timestamp()),
        "policy": {"name": decision.policy, "version": decision.policy_version},
        "route": decision.route,
        "matched_by": decision.matched_by.value,
        "strategy": decision.strategy.value,
        "tier": decision.tier,
        "variant": decision.variant,
        "classification": decision.classification.value,
        "required_capabilities": list(decision.required_capabilities),
        "features": {
            "prompt_tokens": features.prompt_tokens,
            "messages": features.message_count,
            "images": features.image_count,
            "tools": features.tool_count,
            "response_format": features.response_format,
            "language": features.language.code,
            "pii_kinds": sorted(kind.value for kind in features.pii_kinds),
            "difficulty": features.difficulty.score,
        },
        "candidates": [c.model_dump(mode="json") for c in decision.candidates],
        "exclusions": [e.model_dump(mode="json") for e in decision.exclusions],
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
        "latency_ms": round(latency_ms, 3),
        "checks": [c.model_dump(mode="json") for c in final.checks] if final else [],
        "stream": streamed,
        "prompt_sha256": prompt_sha256(request),
    }
    if tenant.store_prompts:
        record["prompt"] = [m.model_dump(mode="json", exclude_none=True) for m in request.messages]
    return record
