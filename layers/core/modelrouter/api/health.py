"""``GET /health``: is this deployment serving, under which policy version. Public: no key needed.

The report says only what a load balancer, a status page or a deploy script needs: a status, the
policy version and when it was loaded, how many models it has and how many this container skips now.
Never a tenant, a bucket, a table, an endpoint or a problem's detail. It makes no model call and
does not touch the budget table; at most it refreshes the policy from S3 when that is due.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from modelrouter import __version__
from modelrouter.policy.store import PolicyState

__all__ = ["HEALTH_STATUS", "REFRESH_PROBLEMS", "HealthStatus", "health_report"]

HealthStatus = Literal["ok", "degraded", "unavailable"]
"""``ok``; ``degraded`` (serving, but not as configured); ``unavailable`` (no policy: 503)."""

HEALTH_STATUS: Final[dict[HealthStatus, int]] = {"ok": 200, "degraded": 200, "unavailable": 503}
"""HTTP status of each health status: a degraded router still answers requests."""

REFRESH_PROBLEMS: Final = frozenset({"rejected", "refresh_failed"})
"""Latest policy refreshes that leave the router on its last good (possibly stale) policy."""


def health_report(state: PolicyState, cooling: dict[str, float]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of ``GET /health`` for the store's ``state`` and the models ``cooling``.

    ``degraded`` when the latest policy refresh failed or was rejected (the last good version keeps
    serving), or when every enabled model is cooling down in this container.
    """
    if state.active is None:
        body: dict[str, Any] = {"status": "unavailable", "policy_version": None, "policy_loaded_at": None}
        return HEALTH_STATUS["unavailable"], {**body, "version": __version__}
    enabled = {model.id for model in state.active.policy.models if model.enabled}
    skipped = enabled & set(cooling)
    degraded = state.last_refresh in REFRESH_PROBLEMS or bool(enabled and skipped == enabled)
    status: HealthStatus = "degraded" if degraded else "ok"
    loaded = state.loaded_at
    loaded_at = loaded.isoformat(timespec="seconds").replace("+00:00", "Z") if loaded else None
    body = {
        "status": status,
        "policy_version": state.active.version,
        "policy_loaded_at": loaded_at,
        "policy_refresh": state.last_refresh,
        "models": len(enabled),
        "models_cooling_down": len(skipped),
        "version": __version__,
    }
    return HEALTH_STATUS[status], body
