"""Per-tenant budgets in DynamoDB that hold under concurrency: reserve, settle exactly once, release.

Each tenant has one month item (``sk = budget#YYYY-MM``) with the month's and each UTC day's
committed total in whole nano-dollars, and one item per open hold (``sk = hold#<request id>``); see
:mod:`modelrouter.accounting.items`. A reservation is one ``TransactWriteItems``: add the amount to
the totals on condition every limit still has room, and put the hold item on condition the request
has none. So concurrent containers never overspend together, and no item grows with the number of
open holds. Settlement charges the actual cost and deletes the hold (:mod:`.settlement`), release
gives the hold back, and a hold whose ``hold_until`` has passed is returned by a sweep
(:mod:`.expiry`) — each deletes the hold on condition it exists, so exactly one of them counts.

Expired holds are swept lazily, when a reservation is refused, or by calling :meth:`BudgetStore.sweep`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from modelrouter import timeouts
from modelrouter.accounting.dynamo import (
    CANCELED,
    CONDITION_FAILED,
    CONFLICT,
    RETRYABLE_REASONS,
    cancellation_codes,
    cancellation_reasons,
    client_error_code,
    dynamodb_client,
    store_error,
)
from modelrouter.accounting.errors import BudgetStoreError, BudgetStoreUnavailableError
from modelrouter.accounting.expiry import give_back, return_hold
from modelrouter.accounting.holds import check_hold_seconds, limits_of, new_reservation, refusal, rooms
from modelrouter.accounting.items import hold_put, item_key, number, reservation_from_item, totals_update
from modelrouter.accounting.periods import (
    HOLD_PREFIX,
    MONTH_ATTRIBUTE,
    budget_sort_key,
    day_attribute,
    ledger_prefix,
    to_utc,
)
from modelrouter.accounting.records import Reservation, SettleOutcome, dynamo_number, from_nano, usd
from modelrouter.accounting.settlement import ExtraWrite, Settlement
from modelrouter.policy.tenants import Tenant

__all__ = ["BudgetStore"]

_log = logging.getLogger(__name__)

_ATTEMPTS = timeouts.BUDGET_TRANSACTION_ATTEMPTS
_LAZY_SWEEP_INTERVAL_S = 5


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BudgetStore:
    """The budget ledger of :class:`~modelrouter.service.RouterService`, on the ``BudgetTable``."""

    def __init__(
        self,
        table_name: str,
        client: Any = None,
        *,
        now: Callable[[], datetime] = _utc_now,
        hold_seconds: int = 900,
        function_timeout_s: float | None = None,
    ) -> None:
        """A store on ``table_name``; holds last ``hold_seconds``, at least ``function_timeout_s`` + 60 s."""
        self.table_name = table_name
        """Name of the DynamoDB budget table (keys ``pk``/``sk``, TTL ``expires_at``)."""
        self.hold_seconds = check_hold_seconds(hold_seconds, function_timeout_s)
        """How long a hold lasts before anyone may return it as abandoned."""
        self._client = client
        self._now = now
        self._lock = threading.Lock()
        self._last_sweep: dict[str, float] = {}

    @property
    def client(self) -> Any:
        """The DynamoDB client (created on first use, once per store)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = dynamodb_client()
        return self._client

    def call(self, operation: str, passthrough: frozenset[str] = frozenset(), **arguments: Any) -> Any:
        """Run a client ``operation``; errors other than ``passthrough`` codes become budget store errors."""
        try:
            return getattr(self.client, operation)(**arguments)
        except Exception as error:
            if client_error_code(error) in passthrough:
                raise
            mapped = store_error(error, self.table_name)
            if mapped is None:
                raise
            raise mapped from error

    def transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Write ``items`` in one transaction; None when done, the cancellation reasons if a condition failed.

        Conflicts and throttling are retried after a jittered pause; other failures are budget store errors.
        """
        for attempt in range(_ATTEMPTS):
            try:
                self.call("transact_write_items", frozenset({CANCELED, CONFLICT}), TransactItems=items)
                return None
            except Exception as error:
                code = client_error_code(error)
                if code not in {CANCELED, CONFLICT}:
                    raise
                codes = cancellation_codes(error, len(items))
                if code == CANCELED and CONDITION_FAILED in codes:
                    reasons = cancellation_reasons(error)
                    return reasons + [{"Code": "None"}] * (len(items) - len(reasons))
                if code == CANCELED and not set(codes) <= {"None", *RETRYABLE_REASONS}:
                    raise BudgetStoreError(
                        f"budget table {self.table_name} refused a transaction: {codes}"
                    ) from error
            self.pause(attempt)
        raise BudgetStoreUnavailableError(f"budget table {self.table_name} is under contention; try again")

    def pause(self, attempt: int) -> None:
        """Sleep a jittered, exponentially growing moment before retry ``attempt + 1``."""
        jitter = min(timeouts.BUDGET_PAUSE_JITTER_MAX_S, timeouts.BUDGET_PAUSE_JITTER_BASE_S * 2**attempt)
        time.sleep(timeouts.BUDGET_PAUSE_MIN_S + random.uniform(0, jitter))

    def reserve(self, tenant: Tenant, amount_usd: float, request_id: str) -> Reservation:
        """Hold ``amount_usd`` of ``tenant``'s budget for ``request_id`` (idempotent per request id).

        Raises :class:`BudgetExhaustedError` (with ``available_usd`` and ``limit_usd``) when the hold
        would take the tenant past a limit even after expired holds are returned, and
        :class:`BudgetStoreUnavailableError` when the table cannot be used.
        """
        now = to_utc(self._now())
        amount = usd(amount_usd, round_up=True)
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount ({amount_usd})")
        reservation = new_reservation(tenant.id, request_id, amount, now, self.hold_seconds)
        limits = limits_of(tenant)
        too_big = refusal(tenant, reservation, amount, item=None, limits=limits, now=now)
        if too_big is not None:  # larger than a limit: nothing can make room; quote what is left
            item = self._month_item_quietly(tenant.id, reservation.month_key)
            raise refusal(tenant, reservation, amount, item=item, limits=limits, now=now) or too_big
        swept = False
        for _ in range(_ATTEMPTS):
            items = [
                totals_update(self.table_name, reservation, amount, rooms=rooms(limits, amount)),
                hold_put(self.table_name, reservation, amount),
            ]
            reasons = self.transact(items)
            if reasons is None:
                return reservation
            if reasons[1].get("Code") == CONDITION_FAILED:
                existing = reasons[1].get("Item") or self._get(tenant.id, reservation.hold_key)
                if existing:
                    return reservation_from_item(existing)
                continue
            item = reasons[0].get("Item") or self._get(tenant.id, reservation.month_key)
            refused = refusal(tenant, reservation, amount, item=item, limits=limits, now=now)
            if refused is None:
                continue
            if swept or not self._sweep_lazily(tenant.id, now):
                raise refused
            swept = True
        raise BudgetStoreUnavailableError(f"budget of tenant {tenant.id} is under contention; try again")

    def settle(
        self,
        reservation: Reservation,
        actual_usd: float,
        ledger: dict[str, Any],
        provenance_item: dict[str, Any] | None,
        provenance_table: str | None,
        *,
        extra: ExtraWrite | None = None,
    ) -> SettleOutcome:
        """Charge exactly ``actual_usd`` (not clamped to the hold), write the ledger and provenance, once.

        A repeated call returns ``already_settled=True`` and charges nothing. After the hold expired and
        was returned, the whole actual cost is charged (and is all overage). If only the provenance
        record cannot be stored, the charge and ledger are written without it (``provenance_written``
        False). ``extra`` (a bandit route's learning update) rides in the same transaction, so it lands
        exactly once with the charge (``extra_written``); when only it fails it is dropped and
        ``extra.record_without`` is stored as the record. If nothing can be written, the hold is marked
        with the charge (a sweep charges it later) and :class:`BudgetStoreUnavailableError` or
        :class:`BudgetStoreError` is raised.
        """
        actual = usd(actual_usd)
        if actual < 0:
            raise ValueError(f"cannot charge a negative amount ({actual_usd})")
        return Settlement(self, reservation, actual, to_utc(self._now())).run(
            ledger, provenance_item, provenance_table, extra
        )

    def release(self, reservation: Reservation) -> None:
        """Give the hold back uncharged (no call reached a provider), once; never raises for store failures.

        A hold already settled, released, swept or marked for charging is left alone. When the table
        cannot be used the failure is logged and the hold stays until it expires and is swept.
        """
        try:
            give_back(self, reservation, usd(reservation.amount_usd))
        except BudgetStoreError as error:
            _log.warning("could not release the hold of request %s: %s", reservation.request_id, error)

    def sweep(self, tenant_id: str) -> int:
        """Return the tenant's expired holds: release them, or charge those marked with ``charge_usd``.

        Returns how many this call returned (holds another path returned first are not counted).
        """
        now = to_utc(self._now())
        returned = 0
        for item in self.hold_items(tenant_id, expired_by=now):
            outcome = return_hold(self, item, now)
            if outcome != "gone":
                returned += 1
                _log.warning("%s expired budget hold %s of tenant %s", outcome, item["sk"]["S"], tenant_id)
        return returned

    def state(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's current month: committed month and day spend, open holds, ledger total."""
        now = to_utc(self._now())
        month = budget_sort_key(now)
        item = self._get(tenant_id, month) or {}
        holds = self.hold_items(tenant_id)
        ledger = self._query(tenant_id, ledger_prefix(month.removeprefix("budget#")))
        return {
            "tenant_id": tenant_id,
            "month": month.removeprefix("budget#"),
            "month_usd": float(from_nano(number(item, MONTH_ATTRIBUTE))),
            "day_usd": float(from_nano(number(item, day_attribute(now)))),
            "open_holds": len(holds),
            "held_usd": float(sum((number(hold, "amount_usd") for hold in holds), Decimal(0))),
            "ledger_usd": float(sum((number(entry, "actual_usd") for entry in ledger), Decimal(0))),
            "ledger_entries": len(ledger),
        }

    def _sweep_lazily(self, tenant_id: str, now: datetime) -> bool:
        """Sweep the tenant's expired holds for a refused reservation (at most every few seconds)."""
        moment = now.timestamp()
        with self._lock:
            if moment - self._last_sweep.get(tenant_id, float("-inf")) < _LAZY_SWEEP_INTERVAL_S:
                return False
            self._last_sweep[tenant_id] = moment
        try:
            return self.sweep(tenant_id) > 0
        except BudgetStoreError as error:
            _log.warning("could not sweep the expired holds of tenant %s: %s", tenant_id, error)
            return False

    def _month_item_quietly(self, tenant_id: str, month_key: str) -> dict[str, Any] | None:
        try:
            return self._get(tenant_id, month_key) or {}
        except BudgetStoreError:
            return None

    def _get(self, tenant_id: str, sort_key: str) -> dict[str, Any] | None:
        found = self.call(
            "get_item", TableName=self.table_name, Key=item_key(tenant_id, sort_key), ConsistentRead=True
        )
        item: dict[str, Any] | None = found.get("Item")
        return item

    def hold_items(self, tenant_id: str, *, expired_by: datetime | None = None) -> list[dict[str, Any]]:
        """The tenant's open hold items (low-level), or only those whose ``hold_until`` is ``expired_by``."""
        if expired_by is None:
            return self._query(tenant_id, HOLD_PREFIX)
        due = {":due": dynamo_number(int(expired_by.timestamp()))}
        return self._query(tenant_id, HOLD_PREFIX, "hold_until <= :due", due)

    def _query(
        self, tenant_id: str, prefix: str, condition: str | None = None, values: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"tenant#{tenant_id}"},
                ":prefix": {"S": prefix},
                **(values or {}),
            },
            "ConsistentRead": True,
        }
        if condition is not None:
            arguments["FilterExpression"] = condition
        found: list[dict[str, Any]] = []
        while True:
            page = self.call("query", **arguments)
            found.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
