"""Feedback against DynamoDB (moto, tables from ``template.yaml``): replacement moves the learning item by
exactly the difference, concurrent feedback is read again and never counted twice, failures leave the
record as it was, and another tenant's request is not found."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from modelrouter.accounting.records import to_dynamo_item
from modelrouter.feedback import (
    FeedbackConflictError,
    FeedbackRequest,
    FeedbackStore,
    FeedbackStoreError,
    RequestNotFoundError,
)
from modelrouter.feedback.store import MAX_RETRIES
from modelrouter.learning.state import StateKey, reward_update, state_key_for
from tests.aws import create_tables
from tests.helpers import fake_aws_environment

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(minutes=5)
REQUEST_ID = "req-feedback-1"
KEY = state_key_for(
    "bandit#example#support", "en", "small", started=STARTED, window_seconds=3600, horizon_seconds=86_400
)


@dataclass
class Tables:
    """The moto client and the table names feedback uses."""

    client: Any
    provenance: str
    learning: str

    def store(self, client: Any = None, learning: str | None = None) -> FeedbackStore:
        return FeedbackStore(self.provenance, client or self.client, learning or self.learning)

    def record(self) -> dict[str, Any]:
        items = self.client.query(
            TableName=self.provenance,
            KeyConditionExpression="tenant_id = :t",
            ExpressionAttributeValues={":t": {"S": "acme"}},
        )["Items"]
        [item] = items
        return {name: TypeDeserializer().deserialize(value) for name, value in item.items()}

    def learning_item(self) -> dict[str, Decimal]:
        item = self.client.get_item(
            TableName=self.learning, Key={"pk": {"S": KEY.pk}, "sk": {"S": KEY.sk}}, ConsistentRead=True
        )["Item"]
        return {name: Decimal(item[name]["N"]) for name in ("quality_sum", "pulls", "cost_sum")}


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tables]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        names = create_tables(client)
        learning = names.get("LearningTable") or _learning_table(client)
        yield Tables(client, names["ProvenanceTable"], learning)


def _learning_table(client: Any) -> str:
    """The learning table with the contract's keys (``learning.state``), until the template has it."""
    client.create_table(
        TableName="test-LearningTable",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "test-LearningTable"


def _settled(
    tables: Tables, *, tenant: str = "acme", implicit: float | None = 1.0, key: StateKey = KEY
) -> None:
    """A bandit request settled as the closer does: its record, and its implicit reward counted in ``key``."""
    applied = key.as_json() if implicit is not None else None
    record = {
        "tenant_id": tenant,
        "sort_key": f"{STARTED.isoformat(timespec='milliseconds')}#{REQUEST_ID}",
        "request_id": REQUEST_ID,
        "route": "support",
        "model": "small",
        "chosen_model": "small",
        "reward": {
            "value": implicit,
            "source": "implicit" if implicit is not None else None,
            "applied_to": applied,
        },
    }
    items: list[dict[str, Any]] = [{"Put": {"TableName": tables.provenance, "Item": to_dynamo_item(record)}}]
    if implicit is not None:
        items.append(reward_update(tables.learning, key, implicit, 0.002))
    tables.client.transact_write_items(TransactItems=items)


def _rating(**fields: Any) -> FeedbackRequest:
    return FeedbackRequest.model_validate({"request_id": REQUEST_ID, **fields})


def _submit(store: FeedbackStore, tenant: str = "acme", **fields: Any) -> Any:
    return store.submit(tenant, _rating(**fields), store_comment=False, now=NOW)


def test_feedback_replaces_earlier_feedback_and_moves_learning_by_the_difference(tables: Tables) -> None:
    # Given a bandit request whose implicit reward 1.0 was counted once
    _settled(tables)
    store = tables.store()
    assert tables.learning_item() == {"quality_sum": 1, "pulls": 1, "cost_sum": Decimal("0.002")}
    # When a thumbs down arrives, then a score of 0.7 replaces it, then the same score again
    first = _submit(store, thumbs="down")
    after_first = tables.learning_item()
    second = _submit(store, score=0.7)
    after_second = tables.learning_item()
    third = _submit(store, score=0.7)
    # Then each answer says what happened
    assert (first.replaced, first.learning_adjusted, first.reward) == (False, True, 0.0)
    assert (second.replaced, second.learning_adjusted, second.reward) == (True, True, 0.7)
    assert (third.replaced, third.learning_adjusted, third.reward) == (True, False, 0.7)
    # and the learning item moved by exactly the differences: still one pull, now worth 0.7
    assert after_first == {"quality_sum": 0, "pulls": 1, "cost_sum": Decimal("0.002")}
    assert after_second["quality_sum"] == Decimal("0.7")
    assert tables.learning_item() == after_second
    # and the record holds the latest feedback, its revision and the reward counted
    record = tables.record()
    assert record["feedback"]["score"] == Decimal("0.7")
    assert record["feedback"]["revision"] == 3
    assert record["reward"] == {"value": Decimal("0.7"), "source": "feedback", "applied_to": KEY.as_json()}


def test_feedback_on_a_request_that_counted_nothing_adjusts_nothing(tables: Tables) -> None:
    # Given a request whose implicit outcome had no reward (a fallback): nothing counted anywhere
    _settled(tables, implicit=None)
    # When feedback arrives
    result = _submit(tables.store(), score=0.4)
    # Then it is stored, and no learning item exists
    assert (result.learning_adjusted, result.reward) == (False, 0.4)
    assert tables.record()["reward"]["value"] == Decimal("0.4")
    assert "Item" not in tables.client.get_item(
        TableName=tables.learning, Key={"pk": {"S": KEY.pk}, "sk": {"S": KEY.sk}}
    )


def test_feedback_after_the_learning_window_expired_adjusts_nothing(tables: Tables) -> None:
    # Given a request counted in an item whose window and horizon are over by now
    old = StateKey(KEY.pk, KEY.sk, int((NOW - timedelta(seconds=1)).timestamp()))
    _settled(tables, key=old)
    # When feedback arrives
    result = _submit(tables.store(), thumbs="down")
    # Then the record has it, and the expired item was not touched (nor brought back)
    assert result.learning_adjusted is False
    assert tables.learning_item()["quality_sum"] == 1


class _Racing:
    """The moto client, with other feedback written just before each of this store's transactions."""

    def __init__(self, client: Any, before_write: Callable[[], None], times: int) -> None:
        self._client = client
        self._before_write = before_write
        self.times = times
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **arguments: Any) -> Any:
        self.transactions += 1
        if self.transactions <= self.times:
            self._before_write()
        return self._client.transact_write_items(**arguments)


def test_concurrent_feedback_is_read_again_and_counted_once(tables: Tables) -> None:
    # Given a counted request, and a thumbs up from elsewhere landing between this store's read and write
    _settled(tables, implicit=0.5)
    other = tables.store()
    racing = _Racing(tables.client, lambda: _submit(other, thumbs="up"), times=1)
    # When a score of 0.2 is submitted
    result = _submit(tables.store(racing), score=0.2)
    # Then its first write lost (condition), the record was read again, and the second write won
    assert racing.transactions == 2
    assert (result.replaced, result.reward, result.learning_adjusted) == (True, 0.2, True)
    record = tables.record()
    assert (record["feedback"]["revision"], record["feedback"]["score"]) == (2, Decimal("0.2"))
    # and the learning item counts the request once, at the reward that won: 0.5 + (1 - 0.5) + (0.2 - 1)
    assert tables.learning_item()["quality_sum"] == Decimal("0.2")
    assert tables.learning_item()["pulls"] == 1


def test_feedback_that_keeps_losing_the_race_is_a_retryable_503(tables: Tables) -> None:
    # Given a counted request whose record other feedback changes before every write of this store
    _settled(tables)
    other = tables.store()
    racing = _Racing(tables.client, lambda: _submit(other, thumbs="down"), times=1 + MAX_RETRIES)
    # When a thumbs up is submitted
    with pytest.raises(FeedbackConflictError) as raised:
        _submit(tables.store(racing), thumbs="up")
    # Then it gave up after the first try and MAX_RETRIES more, with a 503 that says when to retry
    assert racing.transactions == 1 + MAX_RETRIES
    assert (raised.value.http_status, raised.value.retry_after_s) == (503, 1.0)
    # and only the winners were counted: the item holds the other feedback's reward once
    assert tables.record()["feedback"]["revision"] == 1 + MAX_RETRIES
    assert tables.learning_item() == {"quality_sum": 0, "pulls": 1, "cost_sum": Decimal("0.002")}


def test_a_missing_learning_table_fails_the_whole_write(tables: Tables) -> None:
    # Given a counted request, and a store pointed at a learning table that does not exist
    _settled(tables)
    store = tables.store(learning="test-NoSuchTable")
    # When feedback arrives
    with pytest.raises(FeedbackStoreError) as raised:
        _submit(store, thumbs="down")
    # Then it is a 503 whose public message names no table, and the record is unchanged
    assert raised.value.http_status == 503
    assert "test-NoSuchTable" in raised.value.message
    assert "NoSuchTable" not in raised.value.public_message
    assert "feedback" not in tables.record()
    assert tables.learning_item()["quality_sum"] == 1


def test_a_record_deleted_before_the_write_is_not_brought_back(tables: Tables) -> None:
    # Given a record that expires (is deleted) between this store's read and its write
    _settled(tables)
    record = tables.record()
    key = {"tenant_id": {"S": "acme"}, "sort_key": {"S": record["sort_key"]}}
    racing = _Racing(
        tables.client, lambda: tables.client.delete_item(TableName=tables.provenance, Key=key), times=1
    )
    # When feedback arrives
    with pytest.raises(RequestNotFoundError):
        _submit(tables.store(racing), thumbs="down")
    # Then no record was created by the update, and the learning item kept its count
    assert "Item" not in tables.client.get_item(TableName=tables.provenance, Key=key)
    assert tables.learning_item()["quality_sum"] == 1


def test_another_tenants_request_is_not_found_like_an_unknown_one(tables: Tables) -> None:
    # Given a request of tenant acme
    _settled(tables)
    store = tables.store()
    # When tenant globex rates it, and rates an id nobody has
    with pytest.raises(RequestNotFoundError) as theirs:
        _submit(store, tenant="globex", thumbs="down")
    with pytest.raises(RequestNotFoundError) as unknown:
        store.submit(
            "globex", FeedbackRequest(request_id="req-nobody", thumbs="down"), store_comment=False, now=NOW
        )
    # Then both answers are the same 404 on request_id, and acme's record and learning are untouched
    assert (theirs.value.message, theirs.value.field) == (unknown.value.message, "request_id")
    assert theirs.value.http_status == 404
    assert "feedback" not in tables.record()
    assert tables.learning_item()["quality_sum"] == 1
