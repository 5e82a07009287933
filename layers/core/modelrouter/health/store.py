"""The shared breakers' DynamoDB operations: one ``Query`` for every model's state, an atomic ``ADD`` per
failure, and conditional updates for every transition (open, probe lease, close, re-open, free).

Every transition is a conditional ``UpdateItem``, so when containers race exactly one wins: it gets the
new state back (``ReturnValues ALL_NEW``), the others get None. Errors other than a failed condition
propagate; :class:`~modelrouter.health.breakers.SharedBreakers` counts them and carries on locally.
"""

from __future__ import annotations

from typing import Any, Final

from modelrouter.accounting.dynamo import client_error_code
from modelrouter.health.items import (
    HEALTH_PK,
    STATE_PREFIX,
    STATE_TTL_S,
    SharedState,
    count_key,
    state_key,
)

__all__ = [
    "CONDITION_FAILED_CODE",
    "COUNTER_TTL_MARGIN_S",
    "MAX_STATE_PAGES",
    "BreakerStore",
    "failed_condition",
]

CONDITION_FAILED_CODE: Final = "ConditionalCheckFailedException"
"""Error code of a write whose condition was false (another container got there first)."""
COUNTER_TTL_MARGIN_S: Final = 600
"""A failure counter expires this long after its window ends."""
MAX_STATE_PAGES: Final = 4
"""Pages the state ``Query`` follows at most (one page holds 1 MB: thousands of models)."""


def failed_condition(error: BaseException) -> bool:
    """Whether ``error`` is DynamoDB refusing a write because its condition was false."""
    return client_error_code(error) == CONDITION_FAILED_CODE


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class BreakerStore:
    """Shared breaker items of one HealthTable (see :mod:`modelrouter.health.items`)."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        """The HealthTable's name."""
        self._client = client

    def read_states(self) -> dict[str, SharedState]:
        """Every model's breaker state (a strongly consistent ``Query`` of the state items)."""
        states: dict[str, SharedState] = {}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": HEALTH_PK}, ":prefix": {"S": STATE_PREFIX}},
            "ConsistentRead": True,
        }
        for _ in range(MAX_STATE_PAGES):
            page = self._client.query(**request)
            for item in page.get("Items", []):
                state = SharedState.from_item(item)
                if state is not None:
                    states[state.model] = state
            if not page.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return states

    def count_failure(self, model_id: str, gen: int, window_start: int, window_ms: int) -> int:
        """Add one failure to ``model_id``'s counter of this window and generation; the new count."""
        expires = (window_start + window_ms) // 1000 + COUNTER_TTL_MARGIN_S
        answer = self._client.update_item(
            TableName=self.table_name,
            Key=count_key(model_id, gen, window_start),
            UpdateExpression="ADD failures :one SET expires_at = :expires",
            ExpressionAttributeValues={":one": _n(1), ":expires": _n(expires)},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer.get("Attributes", {}).get("failures", {}).get("N", "0"))

    def open(self, model_id: str, gen: int, now_ms: int, pause_ms: int) -> SharedState | None:
        """Open the breaker for ``pause_ms`` unless it is open already or closed since ``gen``
        (a probe lease in progress is cancelled: this is fresh failure evidence)."""
        return self._update(
            model_id,
            "SET open_until = :until, opened_at = :now, expires_at = :expires, "
            "gen = if_not_exists(gen, :gen) REMOVE probe_by, probe_until",
            "(attribute_not_exists(gen) OR gen = :gen) "
            "AND (attribute_not_exists(open_until) OR open_until <= :now)",
            {":until": _n(now_ms + pause_ms), ":now": _n(now_ms), ":gen": _n(gen),
             ":expires": _n((now_ms + pause_ms) // 1000 + STATE_TTL_S)},
        )  # fmt: skip

    def take_probe(self, model_id: str, token: str, now_ms: int, until_ms: int) -> SharedState | None:
        """Take the half-open breaker's one probe lease until ``until_ms`` (None: not half-open, or
        another container holds it)."""
        return self._update(
            model_id,
            "SET probe_by = :token, probe_until = :until",
            "open_until <= :now AND (attribute_not_exists(probe_until) OR probe_until <= :now)",
            {":token": {"S": token}, ":until": _n(until_ms), ":now": _n(now_ms)},
        )

    def close(self, model_id: str, token: str, now_ms: int) -> SharedState | None:
        """The probe answered: close the breaker and start a new generation of counters."""
        return self._update(
            model_id,
            "SET gen = if_not_exists(gen, :zero) + :one, expires_at = :expires "
            "REMOVE open_until, opened_at, probe_by, probe_until",
            "probe_by = :token",
            {
                ":zero": _n(0),
                ":one": _n(1),
                ":token": {"S": token},
                ":expires": _n(now_ms // 1000 + STATE_TTL_S),
            },
        )

    def reopen(self, model_id: str, token: str, now_ms: int, pause_ms: int) -> SharedState | None:
        """The probe failed: pause again."""
        return self._update(
            model_id,
            "SET open_until = :until, opened_at = :now, expires_at = :expires REMOVE probe_by, probe_until",
            "probe_by = :token",
            {":until": _n(now_ms + pause_ms), ":now": _n(now_ms), ":token": {"S": token},
             ":expires": _n((now_ms + pause_ms) // 1000 + STATE_TTL_S)},
        )  # fmt: skip

    def free_probe(self, model_id: str, token: str) -> SharedState | None:
        """The probe said nothing about the model: free its lease for the next request."""
        return self._update(
            model_id, "REMOVE probe_by, probe_until", "probe_by = :token", {":token": {"S": token}}
        )

    def _update(
        self, model_id: str, expression: str, condition: str, values: dict[str, Any]
    ) -> SharedState | None:
        try:
            answer = self._client.update_item(
                TableName=self.table_name,
                Key=state_key(model_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except Exception as error:
            if failed_condition(error):
                return None
            raise
        return SharedState.from_item(answer.get("Attributes", {}))
