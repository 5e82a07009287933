"""The embedded AWS: moto's server on a chosen port, storing numbers as DynamoDB does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.local.aws import EmbeddedAws
from modelrouter.local.moto_patches import canonical_number
from modelrouter.local.stack import LocalModeError, LocalStack, StackOptions


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    aws = EmbeddedAws()
    aws.start()
    try:
        client = aws.client("dynamodb")
        client.create_table(
            TableName="t",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName="ledger",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
    finally:
        aws.stop()


def _add(dynamodb: Any, amount: str) -> str:
    updated = dynamodb.update_item(
        TableName="t",
        Key={"pk": {"S": "tenant#a"}},
        UpdateExpression="ADD month_usd :amount",
        ExpressionAttributeValues={":amount": {"N": amount}},
        ReturnValues="ALL_NEW",
    )
    value: str = updated["Attributes"]["month_usd"]["N"]
    return value


def test_a_total_back_to_zero_is_stored_as_zero_and_can_be_added_to(dynamodb: Any) -> None:
    # Given a hold of $0.000123456789 taken and given back (moto stored "0E-12", then failed every ADD)
    assert _add(dynamodb, "0.000123456789") == "0.000123456789"
    # When it is subtracted again, Then the total is DynamoDB's "0"
    assert _add(dynamodb, "-0.000123456789") == "0"
    # And the next reservation adds to it
    assert _add(dynamodb, "0.5") == "0.5"
    assert _add(dynamodb, "-0.25") == "0.25"


@pytest.mark.parametrize(
    ("written", "stored"),
    [("0E-9", "0"), ("-0", "0"), ("1.50", "1.5"), ("1E+2", "100"), ("0.000", "0"), ("-12.3400", "-12.34")],
)
def test_numbers_are_canonical(written: str, stored: str) -> None:
    assert canonical_number(written) == stored


def test_the_embedded_aws_port_can_be_chosen_and_a_taken_one_is_one_line() -> None:
    # Given a free port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When the embedded AWS starts on it, Then it serves there
    aws = EmbeddedAws(port=port)
    try:
        assert aws.start() == f"http://127.0.0.1:{port}"
        assert aws.client("s3").list_buckets()["Buckets"] == []
        # And a stack asking for the same port is refused with one line naming it
        with pytest.raises(LocalModeError, match=f"port {port} is in use"):
            LocalStack(StackOptions(port=None, models_port=0, aws_port=port, containers=0)).start()
    finally:
        aws.stop()


def _ledger_items(dynamodb: Any) -> dict[str, str]:
    items = dynamodb.scan(TableName="ledger", ConsistentRead=True)["Items"]
    return {item["sk"]["S"]: item["amount"]["N"] for item in items}


def _ledger_put(entry: str, amount: str, **condition: str) -> dict[str, Any]:
    item = {"pk": {"S": "a"}, "sk": {"S": entry}, "amount": {"N": amount}}
    return {"Put": {"TableName": "ledger", "Item": item, **condition}}


def _total_add(amount: str, limit: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": "tenant#a"}},
            "UpdateExpression": "ADD month_usd :amount",
            "ConditionExpression": "month_usd < :limit",
            "ExpressionAttributeValues": {":amount": {"N": amount}, ":limit": {"N": limit}},
        }
    }


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    # Given a total and a ledger with one entry
    _add(dynamodb, "1.5")
    dynamodb.transact_write_items(TransactItems=[_ledger_put("ledger#1", "1")])
    new_entry = {"ConditionExpression": "attribute_not_exists(sk)"}

    # When a transaction's second condition fails after its first write was applied
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[_ledger_put("ledger#2", "2", **new_entry), _total_add("2", "1")]
        )
    # Then neither write is left behind
    assert _ledger_items(dynamodb) == {"ledger#1": "1"}
    assert _add(dynamodb, "0") == "1.5"

    # When its conditions hold, Then it applies both writes
    dynamodb.transact_write_items(
        TransactItems=[_ledger_put("ledger#2", "2", **new_entry), _total_add("2", "10")]
    )
    assert _ledger_items(dynamodb) == {"ledger#1": "1", "ledger#2": "2"}
    assert _add(dynamodb, "0") == "3.5"

    # When a transaction names one item twice, Then it is refused without a trace
    twice = [
        _ledger_put("ledger#3", "3"),
        {"Delete": {"TableName": "ledger", "Key": {"pk": {"S": "a"}, "sk": {"S": "ledger#3"}}}},
    ]
    with pytest.raises(dynamodb.exceptions.ClientError):
        dynamodb.transact_write_items(TransactItems=twice)
    assert _ledger_items(dynamodb) == {"ledger#1": "1", "ledger#2": "2"}
