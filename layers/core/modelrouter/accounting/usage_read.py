"""Reading a tenant's usage and its month breakdown: the one read path of ``modelrouter usage`` and
``GET /v1/usage?breakdown=true``.

For one tenant and one month it reads the current month item (``GetItem``) and that month's if another
was asked for, the open holds (``Query``), the month's ledger items (``Query`` on ``ledger#YYYY-MM#``,
consistent, only the attributes used) and the provenance records of requests started in the month (a
``Query`` of the base table on the tenant and the month's sort-key range, only ``route``, ``model``,
``outcome`` and ``feedback``); then :func:`~modelrouter.accounting.usage.usage_from_items` and
:func:`~modelrouter.accounting.usage_breakdown.month_breakdown` compute the figures.

Cost: the ledger is about 250 bytes a request (some 4,000 requests per 1 MB page); provenance records a
few KB each, and DynamoDB charges a ``Query`` by the size of the items it reads, not what it returns.
The API therefore reads the breakdown only when asked for, stops at :data:`API_MAX_PAGES` pages of each
table (:class:`~modelrouter.audit.errors.ReadLimitExceededError`) and keeps each tenant's answer for
:data:`BREAKDOWN_CACHE_S` per container (:class:`BreakdownCache`), so a tenant polling its breakdown costs
one month of reads a minute per container, not one per call; the CLI has no cap and no cache.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from modelrouter.accounting.items import item_key
from modelrouter.accounting.periods import budget_sort_key, ledger_prefix, month_key, next_month_start, to_utc
from modelrouter.accounting.usage import BudgetReader, TenantUsage, usage_from_items
from modelrouter.accounting.usage_breakdown import MonthUsage, month_breakdown
from modelrouter.audit.errors import ReadLimitExceededError
from modelrouter.audit.store import ProvenanceReader, WindowQuery

if TYPE_CHECKING:
    from modelrouter.policy.tenants import Tenant

__all__ = [
    "API_MAX_PAGES",
    "BREAKDOWN_CACHE_S",
    "LEDGER_ATTRIBUTES",
    "MAX_CACHED_BREAKDOWNS",
    "RECORD_ATTRIBUTES",
    "BreakdownCache",
    "UsageReport",
    "read_usage",
]

API_MAX_PAGES: Final = 64
"""Pages (1 MB each at most) of ledger items, and of provenance records, one ``GET /v1/usage`` breakdown
may read: about 8,000 read request units and a few seconds at most."""
BREAKDOWN_CACHE_S: Final = 60.0
"""How long a container keeps a tenant's ``GET /v1/usage`` breakdown of a month."""
MAX_CACHED_BREAKDOWNS: Final = 64
"""Breakdowns a container keeps at most (the oldest go first)."""
LEDGER_ATTRIBUTES: Final = ("actual_usd", "route", "model", "day", "settled_at")
"""What the breakdown reads of each ledger item."""
RECORD_ATTRIBUTES: Final = ("sort_key", "route", "model", "outcome", "feedback")
"""What the breakdown reads of each provenance record (never a prompt)."""


@dataclass(frozen=True)
class UsageReport:
    """A tenant's usage now and its breakdown of one month."""

    usage: TenantUsage
    """Today and this month (``GET /v1/usage``'s fields)."""
    month: MonthUsage
    """The month asked for, by day, route and model."""

    def as_json(self) -> dict[str, Any]:
        """``GET /v1/usage``'s object with a ``breakdown`` of the month."""
        return {**self.usage.as_json(), "breakdown": self.month.as_json()}


def _month_item(store: BudgetReader, tenant_id: str, moment: datetime) -> dict[str, Any] | None:
    found = store.call(
        "get_item",
        TableName=store.table_name,
        Key=item_key(tenant_id, budget_sort_key(moment)),
        ConsistentRead=True,
    )
    item: dict[str, Any] | None = found.get("Item")
    return item


def _ledger(
    store: BudgetReader, tenant_id: str, month: datetime, max_pages: int | None
) -> list[dict[str, Any]]:
    """The month's ledger items (only :data:`LEDGER_ATTRIBUTES`), read consistently, page by page."""
    names = {f"#l{index}": name for index, name in enumerate(LEDGER_ATTRIBUTES)}
    arguments: dict[str, Any] = {
        "TableName": store.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"tenant#{tenant_id}"},
            ":prefix": {"S": ledger_prefix(month_key(month))},
        },
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
        "ConsistentRead": True,
    }
    found: list[dict[str, Any]] = []
    pages = 0
    while True:
        if max_pages is not None and pages >= max_pages:
            raise ReadLimitExceededError(
                f"the ledger of tenant {tenant_id} for {month_key(month)} takes more than {max_pages} "
                "pages of reads"
            )
        page = store.call("query", **arguments)
        pages += 1
        found.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def read_usage(
    store: BudgetReader,
    provenance: ProvenanceReader,
    tenant: Tenant,
    *,
    month: datetime | None = None,
    now: datetime | None = None,
) -> UsageReport:
    """``tenant``'s usage at ``now`` (default: the current time) and its breakdown of the UTC month of
    ``month`` (default: ``now``'s). The provenance reader's ``max_pages`` caps the ledger's pages too.

    Raises:
        BudgetStoreError: the budget table could not be read.
        ProvenanceReadError: the provenance table could not be read.
        ReadLimitExceededError: the month takes more pages than ``provenance.max_pages``.
    """
    moment = to_utc(now) if now is not None else datetime.now(UTC)
    start = to_utc(month if month is not None else moment)
    start = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    holds = store.hold_items(tenant.id)
    current = _month_item(store, tenant.id, moment)
    chosen = current if month_key(start) == month_key(moment) else _month_item(store, tenant.id, start)
    ledger = _ledger(store, tenant.id, start, provenance.max_pages)
    query = WindowQuery(tenant.id, start, next_month_start(start), newest_first=False)
    records = provenance.window(query, attributes=RECORD_ATTRIBUTES).records
    return UsageReport(
        usage=usage_from_items(tenant, current, holds, moment),
        month=month_breakdown(tenant, start, month_item=chosen, holds=holds, ledger=ledger, records=records),
    )


_Entries = dict[tuple[str, str], tuple[float, UsageReport]]


class BreakdownCache:
    """Breakdowns kept for :data:`BREAKDOWN_CACHE_S`, per budget store (so per runtime) and per
    ``(tenant, month)``; at most :data:`MAX_CACHED_BREAKDOWNS` of them per store."""

    def __init__(self, ttl_s: float = BREAKDOWN_CACHE_S, clock: Callable[[], float] = time.monotonic) -> None:
        """A cache whose entries last ``ttl_s`` seconds of ``clock``."""
        self.ttl_s = ttl_s
        """How long an entry is served."""
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: weakref.WeakKeyDictionary[object, _Entries] = weakref.WeakKeyDictionary()

    def report(
        self, owner: object, tenant_id: str, month: str, read: Callable[[], UsageReport]
    ) -> UsageReport:
        """The kept report of ``tenant_id``'s ``month`` (``YYYY-MM``) for ``owner``, else ``read()``'s, kept.

        What ``read`` raises propagates and nothing is kept.
        """
        key, now = (tenant_id, month), self._clock()
        with self._lock:
            found = self._entries.get(owner, {}).get(key)
        if found is not None and now < found[0]:
            return found[1]
        report = read()
        with self._lock:
            kept = {name: entry for name, entry in self._entries.get(owner, {}).items() if entry[0] > now}
            kept[key] = (now + self.ttl_s, report)
            newest = sorted(kept.items(), key=lambda item: item[1][0])[-MAX_CACHED_BREAKDOWNS:]
            self._entries[owner] = dict(newest)
        return report
