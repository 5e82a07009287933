"""The learning state of bandit routes in DynamoDB: one item per (route, window, segment, model).

Items live in the ``LearningTable`` (``LEARNING_TABLE``; keys ``pk``/``sk``, TTL ``expires_at``):

* ``pk`` = ``bandit#<policy name>#<route>`` (:attr:`BanditChoice.state_key
  <modelrouter.selection.decision.BanditChoice.state_key>`), so one ``Query`` reads a route's state;
* ``sk`` = ``w<window, 10 digits>#<segment>#<model>``, the window being ``floor(epoch seconds /
  window_seconds)`` of the request's start, so a range of windows is a ``BETWEEN`` on the sort key;
* ``quality_sum`` (Σ reward in [0, 1]), ``pulls`` (outcomes counted), ``cost_sum`` (Σ USD): only ever
  changed with atomic ``ADD``, so containers never overwrite each other's counts.

A request's implicit outcome is added by its settlement transaction (:func:`reward_update`), exactly once
with the charge; feedback later adds the difference between the new reward and the one counted
(:func:`reward_adjustment`), in one transaction with the provenance record's update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "StateKey",
    "parse_sort_key",
    "reward_adjustment",
    "reward_update",
    "state_key_for",
    "window_of",
    "windows_between",
]

_SK_WINDOW_DIGITS = 10
_AFTER_SEPARATOR = "$"
"""The character after ``#``: ``w<last>$`` sorts after every key of window ``last``."""


def window_of(moment: datetime, window_seconds: int) -> int:
    """The window number ``moment`` falls in."""
    return int(moment.timestamp()) // window_seconds


@dataclass(frozen=True, slots=True)
class StateKey:
    """Where one (route, window, segment, model) count lives."""

    pk: str
    """``bandit#<policy>#<route>``."""
    sk: str
    """``w<window>#<segment>#<model>``."""
    expires_at: int
    """Epoch seconds after which DynamoDB may delete the item (window end + horizon)."""

    def as_json(self) -> dict[str, Any]:
        """The key as recorded in provenance (``reward.applied_to``)."""
        return {"pk": self.pk, "sk": self.sk, "expires_at": self.expires_at}

    @classmethod
    def from_json(cls, value: Any) -> StateKey | None:
        """The key recorded in provenance (JSON, or as boto3 reads it), or None when absent or malformed."""
        if not isinstance(value, dict):
            return None
        pk, sk, expires = value.get("pk"), value.get("sk"), value.get("expires_at")
        if not isinstance(pk, str) or not isinstance(sk, str) or isinstance(expires, bool):
            return None
        if not isinstance(expires, (int, float, str, Decimal)):  # Decimal: as boto3 reads it back
            return None
        try:
            return cls(pk, sk, int(expires))
        except ValueError:
            return None


def state_key_for(
    state_key: str, segment: str, model: str, *, started: datetime, window_seconds: int, horizon_seconds: int
) -> StateKey:
    """The item a request that started at ``started`` counts into."""
    window = window_of(started, window_seconds)
    sk = f"{_window_prefix(window)}#{segment}#{model}"
    return StateKey(state_key, sk, (window + 1) * window_seconds + horizon_seconds)


def _window_prefix(window: int) -> str:
    return f"w{window:0{_SK_WINDOW_DIGITS}d}"


def windows_between(first: int, last: int) -> tuple[str, str]:
    """The sort-key bounds (for ``sk BETWEEN``) of every item of windows ``first`` to ``last``."""
    return _window_prefix(first), _window_prefix(last) + _AFTER_SEPARATOR


def parse_sort_key(sk: str) -> tuple[int, str, str] | None:
    """``(window, segment, model)`` of a sort key written by :func:`state_key_for`; None for any other."""
    head, _, rest = sk.partition("#")
    segment, _, model = rest.rpartition("#")
    if not head.startswith("w") or not head[1:].isdigit() or not segment or not model:
        return None
    return int(head[1:]), segment, model


def _number(value: float) -> dict[str, str]:
    # 12 significant digits: exact enough for sums of rewards, and never an exponent DynamoDB rejects.
    return {"N": format(Decimal(repr(float(value))).quantize(Decimal("1e-12")).normalize(), "f")}


def reward_update(table: str, key: StateKey, reward: float, cost_usd: float) -> dict[str, Any]:
    """The ``TransactItems`` entry adding one outcome (``reward`` in [0, 1], its cost) to ``key``."""
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": key.pk}, "sk": {"S": key.sk}},
            "UpdateExpression": "SET expires_at = if_not_exists(expires_at, :expires) "
            "ADD quality_sum :reward, pulls :one, cost_sum :cost",
            "ExpressionAttributeValues": {
                ":reward": _number(reward),
                ":one": {"N": "1"},
                ":cost": _number(cost_usd),
                ":expires": {"N": str(key.expires_at)},
            },
        }
    }


def reward_adjustment(table: str, key: StateKey, delta: float) -> dict[str, Any]:
    """The ``TransactItems`` entry moving one counted outcome's reward by ``delta`` (feedback replacing
    the implicit reward, or a newer feedback replacing an older one): the count stays the same."""
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": key.pk}, "sk": {"S": key.sk}},
            "UpdateExpression": "SET expires_at = if_not_exists(expires_at, :expires) ADD quality_sum :delta",
            "ExpressionAttributeValues": {":delta": _number(delta), ":expires": {"N": str(key.expires_at)}},
        }
    }
