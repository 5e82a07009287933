"""What one feedback writes, decided from the record as read: the record's update and its condition, the
reward, and the learning adjustment by exactly the difference (or none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from modelrouter.feedback.model import FeedbackRequest
from modelrouter.feedback.update import FeedbackWrite, StoredRecord, plan_write, stored_record
from modelrouter.learning.state import StateKey

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
KEY = StateKey("bandit#example#support", "w0000490000#en#small", int((NOW + timedelta(days=7)).timestamp()))
EXPIRED = StateKey(KEY.pk, KEY.sk, int((NOW - timedelta(seconds=1)).timestamp()))


def _item(*, reward: Any = None, feedback: Any = None, **fields: Any) -> dict[str, Any]:
    """A provenance item as boto3 deserializes it (numbers are Decimals)."""
    item: dict[str, Any] = {
        "tenant_id": "acme",
        "sort_key": "2026-03-14T11:59:00.000+00:00#req-1",
        "request_id": "req-1",
        "route": "support",
        "model": "small",
        **fields,
    }
    if reward is not None:
        item["reward"] = reward
    if feedback is not None:
        item["feedback"] = feedback
    return item


def _reward(value: str | None, key: StateKey | None = KEY) -> dict[str, Any]:
    """A record's ``reward`` block, as settlement writes it and boto3 reads it back."""
    applied = None if key is None else {"pk": key.pk, "sk": key.sk, "expires_at": Decimal(key.expires_at)}
    return {"value": None if value is None else Decimal(value), "source": "implicit", "applied_to": applied}


def _plan(
    item: dict[str, Any],
    *,
    learning_table: str | None = "learning",
    store_comment: bool = False,
    **rating: Any,
) -> FeedbackWrite:
    request = FeedbackRequest.model_validate({"request_id": "req-1", **rating})
    return plan_write(
        stored_record(item),
        request,
        store_comment=store_comment,
        now=NOW,
        provenance_table="provenance",
        learning_table=learning_table,
    )


def _update(plan: FeedbackWrite) -> dict[str, Any]:
    update: dict[str, Any] = plan.items[0]["Update"]
    return update


def test_first_feedback_moves_the_counted_implicit_reward_to_the_feedback() -> None:
    # Given a record whose implicit reward 1.0 was counted in a live learning item
    item = _item(reward=_reward("1.0"))
    # When a thumbs down arrives
    plan = _plan(item, thumbs="down")
    # Then the record gets revision 1 on condition that it has no feedback yet
    update = _update(plan)
    assert update["TableName"] == "provenance"
    assert "attribute_not_exists(#feedback.#revision)" in update["ConditionExpression"]
    assert "attribute_exists(#sk)" in update["ConditionExpression"]
    assert plan.feedback["revision"] == 1
    assert update["ExpressionAttributeValues"][":reward"]["M"]["source"] == {"S": "feedback"}
    # and the learning item moves by 0 - 1 in the same transaction, its count unchanged
    assert (plan.reward, plan.delta, plan.adjusted) == (0.0, -1.0, KEY)
    [_, learning] = plan.items
    assert learning["Update"]["TableName"] == "learning"
    assert learning["Update"]["ExpressionAttributeValues"][":delta"] == {"N": "-1"}
    assert "pulls" not in learning["Update"]["UpdateExpression"]


def test_replacing_feedback_adjusts_by_the_difference_with_the_previous_feedback() -> None:
    # Given a record already rated (revision 2, reward 1.0 from a thumbs up)
    item = _item(reward=_reward("1.0"), feedback={"thumbs": "up", "revision": Decimal(2)})
    # When a score of 0.7 replaces it
    plan = _plan(item, score=0.7)
    # Then the write is revision 3, on condition that revision 2 is still the one stored
    update = _update(plan)
    assert "#feedback.#revision = :revision" in update["ConditionExpression"]
    assert update["ExpressionAttributeValues"][":revision"] == {"N": "2"}
    assert plan.feedback["revision"] == 3
    # and the learning item moves by exactly 0.7 - 1.0 (no binary floating-point residue)
    assert plan.delta == pytest.approx(-0.3)
    assert plan.items[1]["Update"]["ExpressionAttributeValues"][":delta"] == {"N": "-0.3"}


@pytest.mark.parametrize(
    ("reward", "learning_table", "why"),
    [
        (_reward(None), "learning", "nothing was counted (a fallback)"),
        (_reward("1.0", None), "learning", "the request had no learning item"),
        (_reward("1.0", EXPIRED), "learning", "the learning item's window expired"),
        (_reward("1.0"), None, "this deployment has no learning table"),
        (None, "learning", "a record from before rewards were recorded"),
    ],
)
def test_no_adjustment_when_nothing_counted_is_still_live(
    reward: Any, learning_table: str | None, why: str
) -> None:
    # Given a record whose reward is not (or no longer) counted anywhere: see ``why``
    item = _item(reward=reward)
    # When feedback arrives
    plan = _plan(item, learning_table=learning_table, thumbs="down")
    # Then only the record is written
    assert len(plan.items) == 1, why
    assert (plan.adjusted, plan.delta) == (None, 0.0)
    assert plan.reward == 0.0


def test_repeating_the_same_feedback_moves_nothing() -> None:
    # Given a record whose counted reward is already this feedback's (a thumbs up, 1.0)
    item = _item(
        reward={**_reward("1.0"), "source": "feedback"}, feedback={"thumbs": "up", "revision": Decimal(1)}
    )
    # When the same thumbs up arrives again
    plan = _plan(item, thumbs="up")
    # Then the record gets a new revision and the learning state nothing
    assert plan.feedback["revision"] == 2
    assert (len(plan.items), plan.adjusted, plan.delta) == (1, None, 0.0)


def test_the_learning_key_is_written_back_unchanged() -> None:
    # Given a counted record
    reward = _reward("1.0")
    # When feedback is planned
    plan = _plan(_item(reward=reward), score=0.5)
    # Then reward.applied_to is the key as it was stored, and the value is the feedback's
    written = _update(plan)["ExpressionAttributeValues"][":reward"]["M"]
    assert written["applied_to"]["M"]["sk"] == {"S": KEY.sk}
    assert written["applied_to"]["M"]["expires_at"] == {"N": str(KEY.expires_at)}
    assert written["value"] == {"N": "0.5"}


@pytest.mark.parametrize(("store_comment", "stored"), [(True, "Too long."), (False, None)])
def test_the_comment_is_stored_only_where_text_may_be(store_comment: bool, stored: str | None) -> None:
    # Given feedback with a label and a comment
    # When it is planned for a tenant that may (or may not) store text
    plan = _plan(_item(), store_comment=store_comment, thumbs="down", label="verbose", comment="Too long.")
    # Then the label is always kept, the comment only where allowed, and the record says which
    assert plan.feedback["label"] == "verbose"
    assert plan.feedback["comment"] == stored
    assert plan.feedback["comment_stored"] is store_comment
    assert plan.feedback["at"] == "2026-03-14T12:00:00.000+00:00"


def test_the_record_reads_the_answering_model_else_the_chosen_one() -> None:
    # Given a record without an answer (a failure), whose chosen model is known
    record: StoredRecord = stored_record(_item(model=None, chosen_model="large", route=None))
    # Then the model is the chosen one, and a missing route stays unknown
    assert (record.model, record.route, record.revision, record.reward_value) == ("large", None, None, None)


def test_a_malformed_learning_key_adjusts_nothing() -> None:
    # Given a record whose applied_to is not a key (a string)
    item = _item(reward={"value": Decimal("1.0"), "source": "implicit", "applied_to": "bandit#x"})
    # When feedback arrives
    plan = _plan(item, thumbs="down")
    # Then only the record is written, keeping the value it had
    assert len(plan.items) == 1
    assert _update(plan)["ExpressionAttributeValues"][":reward"]["M"]["applied_to"] == {"S": "bandit#x"}
