"""Distributed ``max_concurrency`` per model: leases on one HealthTable item, a conditional counter.

A model's item (pk ``lease#<model>``, sk ``leases``) holds ``held`` and one attribute ``l_<token>`` per
lease (its expiry, epoch ms); every write changes both together, so ``held`` always equals the number of
lease attributes. Taking a lease is one conditional ``UpdateItem`` (``held < cap`` and not taken already,
so a retried write is recognised as ours); giving it back is one more (``REMOVE`` it, ``ADD -1``,
conditional on it still being there, so a second release changes nothing). A lease outlives its call's
longest possible duration by :data:`LEASE_MARGIN_S`: a container killed mid-call frees its lease by
expiry — the next caller that finds every lease taken removes the expired ones (conditionally, so two
callers never remove one twice) and tries again.

A full cap raises :class:`~modelrouter.execution.limiter.SlotUnavailableError` (the call is skipped, the
breaker learns nothing) and counts ``ConcurrencyCapRefusals``. A store error lets the call go without
a lease (counted as ``HealthStoreFailures``; the container's own limiter still applies): the cap guards
a provider's capacity, and a failing table must not take the router down with it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from modelrouter.execution.limiter import SlotUnavailableError
from modelrouter.health.items import LEASE_ATTR_PREFIX, HealthSignal, epoch_ms, lease_key
from modelrouter.health.store import failed_condition
from modelrouter.telemetry_names import Metric

__all__ = [
    "LEASE_ITEM_TTL_S",
    "LEASE_MARGIN_S",
    "MAX_ACQUIRE_TRIES",
    "MAX_RECLAIMED",
    "ConcurrencyLeases",
    "Lease",
    "LeaseCount",
]

LEASE_MARGIN_S: Final = 15.0
"""A lease outlives the longest its call may take by this much (then anyone may reclaim it)."""
LEASE_ITEM_TTL_S: Final = 86_400
"""The lease item expires a day after the last lease was taken (far beyond any lease)."""
MAX_ACQUIRE_TRIES: Final = 3
"""Conditional writes at most to take a lease (each after reclaiming expired ones)."""
MAX_RECLAIMED: Final = 25
"""Expired leases removed by one write at most."""


@dataclass(frozen=True, slots=True)
class Lease:
    """One lease taken (or possibly taken: a write whose answer was lost is released all the same)."""

    model: str
    """The model it counts against."""
    attribute: str
    """Its attribute on the lease item (``l_<token>``)."""
    until_ms: int
    """When it expires (epoch ms)."""


@dataclass(frozen=True, slots=True)
class LeaseCount:
    """What a model's lease item says at one moment."""

    held: int
    """The counter."""
    leases: dict[str, int]
    """Each lease attribute and its expiry (epoch ms)."""


class ConcurrencyLeases:
    """Takes and gives back leases on a HealthTable (:class:`~modelrouter.execution.limiter.CallLeases`)."""

    def __init__(
        self,
        table_name: str,
        client: Any,
        *,
        wall: Callable[[], float] = time.time,
        signal: HealthSignal | None = None,
    ) -> None:
        self.table_name = table_name
        """The HealthTable's name."""
        self._client = client
        self._wall = wall
        self._signal = signal

    @contextmanager
    def hold(self, model_id: str, cap: int, hold_s: float) -> Iterator[None]:
        """Hold one of ``model_id``'s ``cap`` leases for the block (at most ``hold_s`` plus the margin);
        it is given back however the block ends.

        Raises:
            SlotUnavailableError: every lease is taken (the block does not run).
        """
        lease = self.acquire(model_id, cap, hold_s)
        try:
            yield
        finally:
            self.release(lease)

    def acquire(self, model_id: str, cap: int, hold_s: float) -> Lease:
        """Take a lease (see :meth:`hold`)."""
        attribute = LEASE_ATTR_PREFIX + uuid.uuid4().hex
        for attempt in range(MAX_ACQUIRE_TRIES):
            now_ms = epoch_ms(self._wall())
            lease = Lease(model_id, attribute, now_ms + epoch_ms(hold_s + LEASE_MARGIN_S))
            try:
                self._take(lease, cap, now_ms)
                return lease
            except Exception as error:
                if not failed_condition(error):
                    self._emit(Metric.HEALTH_STORE_FAILURES, model_id, error)
                    return lease  # uncapped this time; released all the same in case the write landed
                old = getattr(error, "response", {}).get("Item") or {}
            if attribute in old:
                return lease  # a retried write of ours: the first one landed
            expired = _expired(old, now_ms)
            if not expired or attempt == MAX_ACQUIRE_TRIES - 1:
                break
            try:
                self._reclaim(model_id, expired)
            except Exception as error:
                self._emit(Metric.HEALTH_STORE_FAILURES, model_id, error)
                return lease
        self._emit(Metric.CAP_LEASE_REFUSED, model_id, None)
        raise SlotUnavailableError(
            f"all {cap} leases of '{model_id}' are held (its max_concurrency)", provider="local"
        )

    def release(self, lease: Lease) -> None:
        """Give ``lease`` back (nothing happens when it was reclaimed, released, or never landed)."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=lease_key(lease.model),
                UpdateExpression="ADD held :minus REMOVE #lease",
                ConditionExpression="attribute_exists(#lease)",
                ExpressionAttributeNames={"#lease": lease.attribute},
                ExpressionAttributeValues={":minus": {"N": "-1"}},
            )
        except Exception as error:
            if not failed_condition(error):  # it expires by itself
                self._emit(Metric.HEALTH_STORE_FAILURES, lease.model, error)

    def count(self, model_id: str) -> LeaseCount:
        """The model's lease item as it is now (a consistent ``GetItem``; tests, the console)."""
        item = self._client.get_item(TableName=self.table_name, Key=lease_key(model_id), ConsistentRead=True)
        found = item.get("Item") or {}
        leases = {
            name: int(value["N"]) for name, value in found.items() if name.startswith(LEASE_ATTR_PREFIX)
        }
        return LeaseCount(int(found.get("held", {}).get("N", "0")), leases)

    def _take(self, lease: Lease, cap: int, now_ms: int) -> None:
        self._client.update_item(
            TableName=self.table_name,
            Key=lease_key(lease.model),
            UpdateExpression="ADD held :one SET #lease = :until, expires_at = :expires",
            ConditionExpression=(
                "attribute_not_exists(#lease) AND (attribute_not_exists(held) OR held < :cap)"
            ),
            ExpressionAttributeNames={"#lease": lease.attribute},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":until": {"N": str(lease.until_ms)},
                ":expires": {"N": str(now_ms // 1000 + LEASE_ITEM_TTL_S)},
                ":cap": {"N": str(cap)},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def _reclaim(self, model_id: str, expired: dict[str, str]) -> None:
        """Remove expired leases, each only if it still has the expiry seen (else someone else did)."""
        names = {f"#e{i}": name for i, name in enumerate(expired)}
        values: dict[str, Any] = {f":v{i}": {"N": until} for i, until in enumerate(expired.values())}
        values[":minus"] = {"N": str(-len(expired))}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=lease_key(model_id),
                UpdateExpression=f"ADD held :minus REMOVE {', '.join(names)}",
                ConditionExpression=" AND ".join(f"{n} = :v{i}" for i, n in enumerate(names)),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as error:
            if not failed_condition(error):
                raise

    def _emit(self, metric: str, model: str, error: BaseException | None) -> None:
        if self._signal is None:
            return
        detail = f"{type(error).__name__}: {str(error)[:200]}" if error is not None else ""
        try:
            self._signal(metric, model, detail)
        except Exception:  # telemetry never breaks a call
            return


def _expired(item: dict[str, Any], now_ms: int) -> dict[str, str]:
    """Lease attributes of ``item`` that expired by ``now_ms`` (at most :data:`MAX_RECLAIMED`)."""
    expired: dict[str, str] = {}
    for name, value in item.items():
        lease = name.startswith(LEASE_ATTR_PREFIX) and isinstance(value, dict) and "N" in value
        if lease and int(value["N"]) <= now_ms and len(expired) < MAX_RECLAIMED:
            expired[name] = str(value["N"])
    return expired
