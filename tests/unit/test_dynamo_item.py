"""``to_dynamo_item``: the same low-level item boto3's TypeSerializer makes, in one pass."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.accounting.records import _plain, to_dynamo_item

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.sets(st.text(min_size=1, max_size=5), min_size=1, max_size=3),
    st.sets(st.integers(min_value=0, max_value=100), min_size=1, max_size=3),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=20,
)


def boto3_item(record: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {str(key): serializer.serialize(_plain(value)) for key, value in record.items()}


def outcome(serialize: Any, record: dict[str, Any]) -> Any:
    """The item, or the type of the error a number DynamoDB cannot hold raises."""
    try:
        return serialize(record)
    except (TypeError, ArithmeticError) as error:
        return type(error)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_the_item_is_the_one_boto3_makes(record: dict[str, Any]) -> None:
    # Given any JSON-like record (floats, NaN, Decimals, nested lists, tuples, maps, sets, bytes)
    # When it is serialised; Then the item equals boto3's TypeSerializer's of the plain record (or both
    # fail alike on a number DynamoDB cannot hold)
    assert outcome(to_dynamo_item, record) == outcome(boto3_item, record)


@pytest.mark.parametrize("value", [Decimal("Infinity"), Decimal("NaN"), Decimal("1" * 40)])
def test_numbers_dynamodb_cannot_hold_fail_as_boto3s_do(value: Decimal) -> None:
    expected = outcome(boto3_item, {"n": value})
    assert isinstance(expected, type)
    assert outcome(to_dynamo_item, {"n": value}) is expected


def test_other_objects_become_strings() -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing"

    assert to_dynamo_item({"x": Thing()}) == {"x": {"S": "thing"}} == boto3_item({"x": Thing()})
