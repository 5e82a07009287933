"""How the budget store writes and reads numbers, and how long its holds last (pure, no AWS calls).

Regressions for issue 8: a month total that returned to zero was stored by moto as ``0E-9``, which
moto's next ``ADD`` could not parse (503 ``budget_store_unavailable`` for the tenant from then on);
and a hold could expire while its request was still running.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.aws import load_template

from modelrouter.accounting import BudgetExhaustedError, BudgetStore
from modelrouter.accounting.holds import HOLD_MARGIN_S, check_hold_seconds
from modelrouter.accounting.records import dynamo_number, from_nano, nano, parse_number, usd
from modelrouter.settings import Settings

PLAIN = re.compile(r"-?(0|[1-9]\d*)(\.\d*[1-9])?")
money = st.decimals(min_value=-1000, max_value=1000, places=9, allow_nan=False, allow_infinity=False)
any_decimal = st.decimals(allow_nan=False, allow_infinity=False)


@given(any_decimal)
def test_numbers_are_written_without_exponents(value: Decimal) -> None:
    # Given any finite Decimal, in whatever exponent it carries (0E-9, 1E+3, -0)
    # When it is encoded for DynamoDB
    text = dynamo_number(value)["N"]
    # Then it is plain fixed-point notation with no trailing zeros, and the same number
    assert PLAIN.fullmatch(text), text
    assert Decimal(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("0E-9", "0"), ("0E-12", "0"), ("1E-7", "0.0000001"), ("1.5e+3", "1500"), (" 2 ", "2"), ("-0", "0")],
)
def test_numbers_are_read_in_any_notation(text: str, value: str) -> None:
    # Given a number as some store may return it
    # When it is parsed
    # Then it is the exact number
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize("text", ["nan", "Infinity", "abc", ""])
def test_non_numbers_are_refused(text: str) -> None:
    # Given text that is not a finite number
    # When it is parsed
    # Then it is refused
    with pytest.raises(ValueError, match="number"):
        parse_number(text)


@given(money)
def test_nano_dollars_round_trip(amount: Decimal) -> None:
    # Given an amount with nano-dollar precision
    # When it is converted to whole nano-dollars and back
    # Then it is unchanged
    assert from_nano(nano(usd(amount))) == usd(amount)
    assert isinstance(nano(usd(amount)), int)


def moto_add(total: str, value: str) -> str:
    """How moto 5 applies ``ADD`` to a stored number (``DynamoType.__add__``), which stores the result as
    Python prints it: a number without a ``.`` is parsed with ``int()``, so ``0E-9`` cannot be added to."""
    left = Decimal(total) if "." in total else int(total)
    right = Decimal(value) if "." in value else int(value)
    return f"{left + right}"


@given(st.lists(st.tuples(money.filter(lambda a: a > 0), st.booleans()), min_size=1, max_size=30))
def test_totals_back_to_zero_stay_usable_in_moto(holds: list[tuple[Decimal, bool]]) -> None:
    # Given holds added to a running total the way moto applies ADD, some then given back
    total, expected = "0", Decimal(0)
    for amount, released in holds:
        # When each is added (and, if released, subtracted again) as whole nano-dollars
        for step in [amount, -amount] if released else [amount]:
            total = moto_add(total, dynamo_number(nano(usd(step)))["N"])
            expected += usd(step)
        # Then every intermediate total, zero included, is plain, exact, and usable by the next ADD
        assert PLAIN.fullmatch(total), total
        assert from_nano(parse_number(total)) == expected


def test_decimal_totals_were_the_cause() -> None:
    # Given the old encoding: a total in dollars, back to exactly zero
    total = moto_add("0.123456789", "-0.123456789")
    # When moto adds to it again
    # Then it fails: moto stored 0E-9 and cannot parse it (the 503s of issue 8, item 13)
    assert total == "0E-9"
    with pytest.raises(ValueError, match="0E-9"):
        moto_add(total, "0.1")


def test_holds_must_outlast_the_function_timeout() -> None:
    # Given the router function's timeout
    # When hold lengths are checked against it
    # Then a hold must last at least the timeout plus a minute
    assert check_hold_seconds(900) == 900
    assert check_hold_seconds(60 + HOLD_MARGIN_S, function_timeout_s=60) == 120
    with pytest.raises(ValueError, match="function timeout"):
        check_hold_seconds(119, function_timeout_s=60)
    with pytest.raises(ValueError, match="positive"):
        check_hold_seconds(0)
    with pytest.raises(ValueError, match="function timeout"):
        BudgetStore("budget", object(), hold_seconds=900, function_timeout_s=900)


def test_hold_seconds_come_from_the_environment_and_the_template() -> None:
    # Given the settings' default, an override, and the deployed template
    base = {"POLICY_BUCKET": "bucket", "BUDGET_TABLE": "budget", "PROVENANCE_TABLE": "provenance"}
    template = load_template()
    router = template["Resources"]["RouterFunction"]["Properties"]
    longest = template["Parameters"]["RouterTimeout"]["MaxValue"]
    # When the settings are read
    # Then holds default to 15 minutes, follow HOLD_SECONDS, and the template's outlast any timeout
    assert Settings.from_env(base).hold_seconds == 900
    assert Settings.from_env({**base, "HOLD_SECONDS": "1200"}).hold_seconds == 1200
    deployed = int(router["Environment"]["Variables"]["HOLD_SECONDS"])
    assert check_hold_seconds(deployed, function_timeout_s=longest) == deployed


def test_exhausted_errors_carry_what_would_fit() -> None:
    # Given refusals with and without the room left
    plain = BudgetExhaustedError("over", 10, tenant_id="acme", period="daily")
    known = BudgetExhaustedError(
        "over", 10, tenant_id="acme", period="daily", available_usd=-0.5, limit_usd=1.0
    )
    # When their attributes are read
    # Then the room is unknown (None) or never negative
    assert (plain.available_usd, plain.limit_usd) == (None, None)
    assert (known.available_usd, known.limit_usd) == (0.0, 1.0)
