"""What feedback changes, decided from the record as read: pure, so every rule is tested without a table.

A record's ``reward`` is ``{"value", "source", "applied_to"}``: ``applied_to`` is the learning-state item
its settlement ADDed ``value`` to (bandit routes), or null. Feedback sets ``feedback`` (a new revision)
and ``reward.value`` to the feedback's reward, and moves the learning item by ``new - old`` in the same
transaction, on condition that the record's feedback revision is still the one read; so concurrent or
repeated feedback never counts twice. Nothing is adjusted when nothing was counted (``value`` null, e.g.
a fallback), when the request has no learning item, or when the item's window has expired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from modelrouter.accounting.records import to_dynamo_item
from modelrouter.feedback.model import FeedbackRequest
from modelrouter.learning.reward import feedback_reward
from modelrouter.learning.state import StateKey, reward_adjustment

__all__ = ["RECORD_ATTRIBUTES", "FeedbackWrite", "StoredRecord", "plan_write", "stored_record"]

RECORD_ATTRIBUTES = (
    "tenant_id",
    "sort_key",
    "request_id",
    "route",
    "model",
    "chosen_model",
    "feedback",
    "reward",
)
"""The attributes of a provenance record that feedback reads (not the prompt, not the attempts)."""

_NAMES = {"#sk": "sort_key", "#feedback": "feedback", "#revision": "revision", "#reward": "reward"}


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """The parts of a provenance record feedback needs, as read."""

    tenant_id: str
    """The tenant whose request it was (the table's partition key)."""
    sort_key: str
    """``<started>#<request id>`` (the table's sort key)."""
    request_id: str
    """The request's id."""
    route: str | None
    """The route that served it (None for a refusal before routing)."""
    model: str | None
    """The model that answered, else the one chosen first; None when neither is known."""
    revision: int | None
    """The revision of the feedback already stored; None when there is none."""
    reward_value: float | None
    """The reward counted for the request so far (``reward.value``); None when none was."""
    applied_to: Any
    """``reward.applied_to`` exactly as stored (written back unchanged)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def stored_record(item: Mapping[str, Any]) -> StoredRecord:
    """The record's parts from a deserialized item (numbers as ``Decimal``, as boto3 reads them)."""
    feedback, reward = item.get("feedback"), item.get("reward")
    revision = _number(feedback.get("revision")) if isinstance(feedback, Mapping) else None
    reward = reward if isinstance(reward, Mapping) else {}
    return StoredRecord(
        tenant_id=str(item["tenant_id"]),
        sort_key=str(item["sort_key"]),
        request_id=str(item.get("request_id") or ""),
        route=_text(item.get("route")),
        model=_text(item.get("model")) or _text(item.get("chosen_model")),
        revision=int(revision) if revision is not None else None,
        reward_value=_number(reward.get("value")),
        applied_to=reward.get("applied_to"),
    )


@dataclass(frozen=True, slots=True)
class FeedbackWrite:
    """One feedback write: the transaction's items and what they do."""

    items: list[dict[str, Any]]
    """``TransactItems``: the record's update first, then the learning adjustment when there is one."""
    feedback: dict[str, Any]
    """The feedback stored in the record."""
    reward: float
    """The request's reward from now on."""
    adjusted: StateKey | None
    """The learning item moved by ``delta``; None when none is."""
    delta: float
    """``new - old`` reward added to ``adjusted`` (0 when nothing is adjusted)."""


def plan_write(
    record: StoredRecord,
    request: FeedbackRequest,
    *,
    store_comment: bool,
    now: datetime,
    provenance_table: str,
    learning_table: str | None,
) -> FeedbackWrite:
    """The transaction that stores ``request`` on ``record`` (read just before) and adjusts its learning."""
    comment = request.comment if store_comment else None
    feedback: dict[str, Any] = {
        "score": request.score,
        "thumbs": request.thumbs,
        "label": request.label,
        "comment": comment,
        "comment_stored": comment is not None,
        "at": now.isoformat(timespec="milliseconds"),
        "revision": (record.revision or 0) + 1,
    }
    reward = feedback_reward(feedback)
    if reward is None:  # a validated request always has a score or thumbs
        raise ValueError("feedback without a score or thumbs")
    items = [_record_update(record, feedback, reward, provenance_table)]
    key, old = StateKey.from_json(record.applied_to), record.reward_value
    if learning_table and key is not None and old is not None and key.expires_at > now.timestamp():
        delta = float(Decimal(repr(reward)) - Decimal(repr(old)))  # exact: 0.7 - 1.0 is -0.3
        if delta:
            items.append(reward_adjustment(learning_table, key, delta))
            return FeedbackWrite(items, feedback, reward, key, delta)
    return FeedbackWrite(items, feedback, reward, None, 0.0)


def _record_update(
    record: StoredRecord, feedback: dict[str, Any], reward: float, table: str
) -> dict[str, Any]:
    """The record's update, on condition that its feedback is still the revision read (or none)."""
    values: dict[str, Any] = {
        ":feedback": feedback,
        ":reward": {"value": reward, "source": "feedback", "applied_to": record.applied_to},
    }
    if record.revision is None:
        unchanged = "attribute_not_exists(#feedback.#revision)"
    else:
        unchanged = "#feedback.#revision = :revision"
        values[":revision"] = record.revision
    return {
        "Update": {
            "TableName": table,
            "Key": to_dynamo_item({"tenant_id": record.tenant_id, "sort_key": record.sort_key}),
            "UpdateExpression": "SET #feedback = :feedback, #reward = :reward",
            "ConditionExpression": f"attribute_exists(#sk) AND {unchanged}",
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": to_dynamo_item(values),
        }
    }
