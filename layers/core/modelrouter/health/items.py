"""The HealthTable's items: their keys, the shared breaker state read from them, and shared constants.

Layout (see ``docs/health.md``):

- pk ``health``, sk ``state#<model>``: a model's shared breaker — ``open_until`` / ``opened_at`` (epoch
  ms; absent while closed), the half-open probe lease ``probe_by`` / ``probe_until``, and ``gen``, the
  number of times the breaker closed (it names the failure counters, so a close starts counting anew).
  One partition and one sk prefix, so one ``Query`` reads every model's state and nothing else.
- pk ``health``, sk ``count#<model>#<gen>#<window start ms>``: retryable failures of ``model`` in one
  ``cooldown.window_s`` window, counted with an atomic ``ADD`` (never read by the ``Query``).
- pk ``lease#<model>``, sk ``leases``: distributed ``max_concurrency`` leases — ``held`` and one
  attribute ``l_<token>`` (its expiry, epoch ms) per lease, always changed together.

Every item has ``expires_at`` (epoch seconds, the table's TTL attribute); readers never rely on TTL
deletion (it can lag by days), they compare the times themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from modelrouter import timeouts

__all__ = [
    "ALL_MODELS",
    "COUNT_PREFIX",
    "HEALTH_PK",
    "LEASE_ATTR_PREFIX",
    "LEASE_SK",
    "PROBE_MARGIN_S",
    "PROBING_WAIT_S",
    "STATE_PREFIX",
    "STATE_TTL_S",
    "HealthSignal",
    "SharedState",
    "count_key",
    "epoch_ms",
    "lease_key",
    "state_key",
    "window_start_ms",
]

HEALTH_PK: Final = "health"
"""Partition of every model's breaker state and failure counters."""
STATE_PREFIX: Final = "state#"
"""Sort-key prefix of breaker states (the cache's ``Query`` reads exactly these)."""
COUNT_PREFIX: Final = "count#"
"""Sort-key prefix of failure counters."""
LEASE_SK: Final = "leases"
"""Sort key of a model's lease item (its partition is ``lease#<model>``)."""
LEASE_ATTR_PREFIX: Final = "l_"
"""Prefix of one lease's attribute on the lease item (``l_<token>`` = its expiry, epoch ms)."""
STATE_TTL_S: Final = 86_400
"""A breaker state item lives a day past its last change (its ``gen`` must outlive the counters)."""
PROBE_MARGIN_S: Final = 5.0
"""A probe lease outlives the probe call's longest possible duration by this much."""
PROBING_WAIT_S: Final = timeouts.HEALTH_PROBING_WAIT_S
"""``cooling()``'s wait for a model some container is probing: its answer decides, a second is the soonest."""
ALL_MODELS: Final = "all"
"""``model`` dimension of a ``HealthStoreFailures`` that concerns every model (the cache's ``Query``)."""

HealthSignal = Callable[[str, str, str], None]
"""Reports a health metric (a :class:`~modelrouter.telemetry_names.Metric` name) for a model, with a
detail for the log (why the store failed; empty otherwise)."""


def epoch_ms(seconds: float) -> int:
    """Epoch seconds as the whole milliseconds the items store."""
    return math.floor(seconds * 1000)


def state_key(model_id: str) -> dict[str, Any]:
    """DynamoDB key of ``model_id``'s breaker state item."""
    return {"pk": {"S": HEALTH_PK}, "sk": {"S": STATE_PREFIX + model_id}}


def window_start_ms(now_s: float, window_s: float) -> int:
    """Start (epoch ms) of the fixed ``window_s`` window that contains ``now_s``."""
    width = max(1, epoch_ms(window_s))
    return epoch_ms(now_s) // width * width


def count_key(model_id: str, gen: int, window_start: int) -> dict[str, Any]:
    """DynamoDB key of ``model_id``'s failure counter for one window of breaker generation ``gen``."""
    return {"pk": {"S": HEALTH_PK}, "sk": {"S": f"{COUNT_PREFIX}{model_id}#{gen}#{window_start}"}}


def lease_key(model_id: str) -> dict[str, Any]:
    """DynamoDB key of ``model_id``'s lease item."""
    return {"pk": {"S": f"lease#{model_id}"}, "sk": {"S": LEASE_SK}}


def _number(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    if not isinstance(value, Mapping) or "N" not in value:
        return None
    try:
        return int(value["N"])
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class SharedState:
    """One model's breaker as the HealthTable holds it (times in epoch ms)."""

    model: str
    """The catalog model id."""
    gen: int = 0
    """How many times the shared breaker closed after a probe (names the failure counters)."""
    open_until: int | None = None
    """While open: when one probe may try the model again (None: closed)."""
    opened_at: int | None = None
    """When it last opened."""
    probe_by: str | None = None
    """The token of the probe lease holder (half-open), if any."""
    probe_until: int | None = None
    """When that probe lease expires (a probe whose container died frees it then)."""

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> SharedState | None:
        """The state a DynamoDB item describes, or None when it is not a state item."""
        key = item.get("sk", {}).get("S", "") if isinstance(item.get("sk"), Mapping) else ""
        if not key.startswith(STATE_PREFIX) or len(key) == len(STATE_PREFIX):
            return None
        probe_by = item.get("probe_by")
        return cls(
            model=key[len(STATE_PREFIX) :],
            gen=_number(item, "gen") or 0,
            open_until=_number(item, "open_until"),
            opened_at=_number(item, "opened_at"),
            probe_by=probe_by.get("S") if isinstance(probe_by, Mapping) else None,
            probe_until=_number(item, "probe_until"),
        )

    def probing(self, now_ms: int) -> bool:
        """Whether a probe lease is held (and not expired) at ``now_ms``."""
        return self.probe_by is not None and self.probe_until is not None and self.probe_until > now_ms

    def wait_s(self, now_ms: int) -> float | None:
        """Seconds until a call may try the model (None: it may now, closed or half-open and free)."""
        if self.open_until is None:
            return None
        if self.open_until > now_ms:
            return (self.open_until - now_ms) / 1000
        return PROBING_WAIT_S if self.probing(now_ms) else None

    def half_open(self, now_ms: int) -> bool:
        """Whether the pause is over and nobody holds the probe lease: one call may take it."""
        return self.open_until is not None and self.open_until <= now_ms and not self.probing(now_ms)
