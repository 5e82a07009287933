"""The direct attribute-value serializer makes the bodies botocore makes."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.serialize import JSONSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.aws import aws_client
from modelrouter.dynamodb_wire import speed_up_attribute_values

scalars = st.one_of(
    st.builds(lambda text: {"S": text}, st.text(max_size=12)),
    st.builds(lambda number: {"N": str(number)}, st.integers()),
    st.builds(lambda data: {"B": data}, st.binary(max_size=8)),
    st.builds(lambda text: {"B": text}, st.text(max_size=8)),
    st.builds(lambda flag: {"BOOL": flag}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda texts: {"SS": texts}, st.lists(st.text(max_size=5), min_size=1, max_size=3)),
    st.builds(
        lambda numbers: {"NS": [str(n) for n in numbers]}, st.lists(st.integers(), min_size=1, max_size=3)
    ),
    st.builds(lambda blobs: {"BS": blobs}, st.lists(st.binary(max_size=4), min_size=1, max_size=3)),
)
attribute_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.builds(lambda members: {"M": members}, st.dictionaries(st.text(max_size=6), children, max_size=4)),
        st.builds(lambda members: {"L": members}, st.lists(children, max_size=4)),
    ),
    max_leaves=25,
)
items = st.dictionaries(st.text(min_size=1, max_size=8), attribute_values, min_size=1, max_size=5)


def client() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@functools.cache
def fast_client() -> Any:
    """One client serialising attribute values directly (clients are slow to make: one per test run)."""
    fast = client()
    fast._serializer = JSONSerializer()  # as aws_client makes it: validation off
    assert speed_up_attribute_values(fast)
    return fast


def bodies(operation: str, parameters: dict[str, Any]) -> tuple[bytes, bytes]:
    fast = fast_client()
    model = fast.meta.service_model.operation_model(operation)
    expected = JSONSerializer().serialize_to_request(parameters, model)["body"]
    return fast._serializer.serialize_to_request(parameters, model)["body"], expected


@settings(max_examples=200, deadline=None)
@given(items, items)
def test_transactions_serialise_byte_for_byte_as_botocore_does(
    item: dict[str, Any], key: dict[str, Any]
) -> None:
    # Given a transaction with a put, a condition on an update and an expression's values
    parameters = {
        "TransactItems": [
            {
                "Put": {
                    "TableName": "provenance",
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": "budgets",
                    "Key": key,
                    "UpdateExpression": "SET #a = :a",
                    "ExpressionAttributeNames": {"#a": "a"},
                    "ExpressionAttributeValues": item,
                }
            },
        ],
        "ClientRequestToken": "token",
    }
    # When both serializers write the request; Then the bodies are the same bytes
    fast, expected = bodies("TransactWriteItems", parameters)
    assert fast == expected


@settings(max_examples=100, deadline=None)
@given(items)
def test_queries_serialise_byte_for_byte_as_botocore_does(values: dict[str, Any]) -> None:
    parameters = {
        "TableName": "t",
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {f":{name}": value for name, value in values.items()},
        "ExclusiveStartKey": values,
        "Limit": 5,
    }
    fast, expected = bodies("Query", parameters)
    assert fast == expected


def test_router_dynamodb_clients_get_it_and_validating_clients_keep_botocores() -> None:
    # Given the router's DynamoDB client and a default (validating) one
    router = aws_client("dynamodb", region_name="us-east-1")
    validating = client()
    # Then only the router's serialises attribute values directly; the other is left as it was
    assert type(router._serializer).__name__ == "AttributeValueSerializer"
    assert not speed_up_attribute_values(validating)
    assert type(validating._serializer).__name__ == "ParamValidationDecorator"
