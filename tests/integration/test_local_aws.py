"""The embedded AWS: moto's server on a chosen port, storing numbers as DynamoDB does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.local.aws import EmbeddedAws, canonical_number
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
