"""Reads what the local console shows from the embedded AWS: the newest provenance records of every
tenant, each tenant's usage (:func:`~modelrouter.accounting.usage.tenant_usage`, the computation
``GET /v1/usage`` uses) and the active policy, which names the tenants, the models and the cooldown.

One read at a time (the embedded AWS serves one request at a time, and the routers share it): a page
polling every two seconds costs a query per tenant, a ``GetItem`` and a ``Query`` per tenant's usage, one
``Query`` of the shared breakers (HealthTable), and a conditional ``GetObject`` of the policy every
:data:`POLICY_REFRESH_S`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from modelrouter.accounting.errors import BudgetStoreError
from modelrouter.accounting.store import BudgetStore
from modelrouter.accounting.usage import tenant_usage
from modelrouter.health.store import BreakerStore
from modelrouter.local.console_state import console_state, shared_breakers
from modelrouter.policy.store import PolicyStore
from modelrouter.policy.tenants import Tenant

__all__ = ["POLICY_REFRESH_S", "WINDOW", "ConsoleReader", "plain"]

WINDOW = 200
"""Newest records read (across tenants): the routing mix and the breakers are computed over them."""
POLICY_REFRESH_S = 5
"""How often the console re-checks the policy object (a pushed policy shows within this)."""


def plain(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON values: Decimals become ints or floats, sets lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class ConsoleReader:
    """The console's state, read from the stack's tables and policy object."""

    def __init__(
        self,
        *,
        dynamodb: Any,
        s3: Any,
        bucket: str,
        policy_key: str,
        tables: Mapping[str, str],
        containers: Callable[[], Mapping[str, Any]],
        window: int = WINDOW,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._dynamodb = dynamodb
        self._provenance_table = tables["ProvenanceTable"]
        health = tables.get("HealthTable")
        self._health = BreakerStore(health, dynamodb) if health else None
        self._budgets = BudgetStore(tables["BudgetTable"], client=dynamodb)
        self._policies = PolicyStore(bucket, policy_key, POLICY_REFRESH_S, s3_client=s3)
        self._containers = containers
        self._window = window
        self._now = now
        self._lock = threading.Lock()

    def state(self) -> dict[str, Any]:
        """The console document (:func:`~modelrouter.local.console_state.console_state`).

        Raises:
            PolicyUnavailableError: no valid policy is in the bucket.
            botocore errors: the provenance table cannot be read.
        """
        with self._lock:
            active = self._policies.current()
            policy = active.policy
            records = self.records([tenant.id for tenant in policy.tenants])
            return console_state(
                records=records,
                usages=[self._usage(tenant) for tenant in policy.tenants],
                policy={"name": policy.name, "version": active.version},
                models=[model.id for model in policy.models],
                cooldown=policy.execution.cooldown,
                containers=self._containers(),
                now=self._now(),
                shared=self._shared(),
            )

    def records(self, tenants: list[str]) -> list[dict[str, Any]]:
        """The newest :attr:`window` provenance records of ``tenants``, newest first."""
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        found: list[dict[str, Any]] = []
        for tenant in tenants:
            answer = self._dynamodb.query(
                TableName=self._provenance_table,
                KeyConditionExpression="tenant_id = :tenant",
                ExpressionAttributeValues={":tenant": {"S": tenant}},
                ScanIndexForward=False,
                Limit=self._window,
            )
            for item in answer.get("Items", []):
                found.append(plain({name: deserializer.deserialize(value) for name, value in item.items()}))
        found.sort(key=lambda record: str(record.get("sort_key", "")), reverse=True)
        return found[: self._window]

    def _shared(self) -> dict[str, dict[str, Any]] | None:
        """The shared breakers (one ``Query`` of the HealthTable), or None when it cannot be read."""
        if self._health is None:
            return None
        try:
            return shared_breakers(self._health.read_states().values(), self._now())
        except Exception:  # the view falls back to what the provenance says
            return None

    def _usage(self, tenant: Tenant) -> dict[str, Any]:
        try:
            usage: dict[str, Any] = tenant_usage(self._budgets, tenant).as_json()
        except BudgetStoreError as error:
            return {"tenant_id": tenant.id, "error": str(error)}
        return usage
