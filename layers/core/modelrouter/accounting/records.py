"""Values the budget store hands out, and the exact money and item encoding it stores.

Money is :class:`~decimal.Decimal` quantized to nano-dollars (1e-9 USD) and travels to DynamoDB as
number strings, so sums in the table are exact: no float drift between holds, charges and the ledger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    Clamped,
    Context,
    Decimal,
    Inexact,
    Overflow,
    Rounded,
    Underflow,
)
from typing import Any

__all__ = [
    "NANO",
    "Reservation",
    "SettleOutcome",
    "dynamo_number",
    "format_usd",
    "from_nano",
    "nano",
    "parse_number",
    "to_dynamo_item",
    "usd",
]

NANO = Decimal("0.000000001")
"""The money quantum: one nano-dollar."""


@dataclass(frozen=True)
class Reservation:
    """An open hold on a tenant's budget, to be settled or released exactly once."""

    tenant_id: str
    """Tenant charged."""
    request_id: str
    """Request the hold is for (its idempotency key)."""
    amount_usd: float
    """Amount held (the request's worst case)."""
    month_key: str
    """Sort key of the month item the hold is counted in: ``budget#YYYY-MM``."""
    day_attribute: str
    """Day attribute of the month item the hold is counted in: ``day_DD_nano_usd``."""
    hold_key: str
    """Sort key of the hold's own item: ``hold#<request id>``."""
    expires_at: int
    """Epoch seconds after which the hold counts as abandoned and may be returned by anyone."""


@dataclass(frozen=True)
class SettleOutcome:
    """What settling a reservation did."""

    charged_usd: float
    """Amount charged by this call: the actual cost (0 when the reservation had already been settled)."""
    provenance_written: bool
    """Whether the provenance record was stored with the charge."""
    already_settled: bool
    """True when an earlier call settled this request; this call changed nothing."""
    overage_usd: float = 0.0
    """Charge beyond what was held: ``max(0, actual - held)``, the whole charge when the hold had expired."""
    extra_written: bool = False
    """Whether the settle call's extra write (a bandit route's learning update) landed with the charge."""


def usd(amount: float | Decimal | str, *, round_up: bool = False) -> Decimal:
    """``amount`` as an exact nano-dollar Decimal (via ``str``, so ``0.1`` stays ``0.1``).

    ``round_up`` rounds toward +infinity (holds and limits must never be under-counted).
    Non-finite amounts are refused with :class:`ValueError`.
    """
    if isinstance(amount, float) and not math.isfinite(amount):
        raise ValueError(f"amount must be finite, got {amount}")
    value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    return value.quantize(NANO, rounding=ROUND_CEILING if round_up else ROUND_HALF_EVEN)


def dynamo_number(amount: Decimal | int) -> dict[str, str]:
    """``amount`` as a low-level DynamoDB number value: shortest fixed-point notation (``0.2``, ``10``).

    Never exponent notation (``0E-9``, ``1E+1``), and zero of any exponent or sign is ``0``.
    """
    value = Decimal(amount)
    if not value:
        return {"N": "0"}
    exact = Context(prec=len(value.as_tuple().digits))  # strips trailing zeros, never rounds
    return {"N": f"{value.normalize(exact):f}"}


def parse_number(text: str) -> Decimal:
    """A DynamoDB number string in any notation (``0.2``, ``0E-9``, ``1.5e+3``) as an exact Decimal.

    Raises :class:`ValueError` for text that is not a finite number.
    """
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def nano(amount: Decimal) -> int:
    """Nano-dollar amount ``amount`` (already quantized by :func:`usd`) as whole nano-dollars.

    Running totals are stored as integers: DynamoDB ``ADD`` of integers is exact in any store, while
    decimal sums may be stored in exponent notation (moto stores ``0.000000002 - 0.000000002`` as
    ``0E-9``, which its next ``ADD`` cannot parse).
    """
    return int(amount.scaleb(9).to_integral_value())


def from_nano(count: int | Decimal) -> Decimal:
    """Whole nano-dollars ``count`` as a nano-dollar USD Decimal (``200000000`` → ``0.2``)."""
    return usd(Decimal(count).scaleb(-9))


def format_usd(amount: Decimal | float) -> str:
    """Money for people: ``$4.98``; below a dollar three significant digits (``$0.015``, ``$0.000123``)."""
    value = Decimal(str(amount))
    if value == 0 or abs(value) >= 1:
        return f"${value:,.2f}"
    decimals = max(2, 2 - value.adjusted())
    text = f"{value:.{decimals}f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int | Decimal | bytes):
        return value
    if isinstance(value, float):
        return Decimal(str(value)) if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return {_plain(item) for item in value}
    return str(value)


def to_dynamo_item(record: dict[str, Any]) -> dict[str, Any]:
    """A JSON-like dict as a low-level DynamoDB item (floats become exact Decimals, NaN a string).

    The same item boto3's ``TypeSerializer`` makes of ``_plain(value)`` (a property test checks), in one
    pass: it runs on every request's provenance record, where boto3's took most of the serialising time.
    """
    return {str(key): _attribute(value) for key, value in record.items()}


def _attribute(value: Any) -> dict[str, Any]:
    # bool before int (bool is an int); numbers through DynamoDB's decimal context, as boto3 does
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, float):
        return {"N": _number(Decimal(str(value)))} if math.isfinite(value) else {"S": str(value)}
    if isinstance(value, dict):
        return {"M": {str(key): _attribute(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_attribute(item) for item in value]}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, set | frozenset):  # rare: boto3's rules for SS/NS/BS and mixed sets
        from boto3.dynamodb.types import TypeSerializer

        serialized: dict[str, Any] = TypeSerializer().serialize(_plain(value))
        return serialized
    return {"S": str(value)}


_DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)
"""DynamoDB's number range and precision, as boto3's ``DYNAMODB_CONTEXT`` (importing boto3 would load
s3transfer and boto3's resource layer, which the router never uses, on every cold start)."""


def _number(value: int | Decimal) -> str:
    number = str(_DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number
