"""Values the budget store hands out, and the exact money and item encoding it stores.

Money is :class:`~decimal.Decimal` quantized to nano-dollars (1e-9 USD) and travels to DynamoDB as
number strings, so sums in the table are exact: no float drift between holds, charges and the ledger.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

__all__ = [
    "NANO",
    "Reservation",
    "SettleOutcome",
    "dynamo_number",
    "format_usd",
    "hold_attribute",
    "to_dynamo_item",
    "usd",
]

NANO = Decimal("0.000000001")
"""The money quantum: one nano-dollar."""

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_ID = 128


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
    """Sort key of the month item holding the hold: ``budget#YYYY-MM``."""
    day_attribute: str
    """Day attribute the hold was added to: ``day_DD_usd``."""
    hold_attribute: str
    """Name of the map attribute recording the hold: ``hold_<request id>``."""
    expires_at: int
    """Epoch seconds after which the hold counts as abandoned and may be released by anyone."""


@dataclass(frozen=True)
class SettleOutcome:
    """What settling a reservation did."""

    charged_usd: float
    """Amount charged by this call (0 when the reservation had already been settled)."""
    provenance_written: bool
    """Whether the provenance record was stored with the charge."""
    already_settled: bool
    """True when an earlier call settled this request; this call changed nothing."""


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
    """``amount`` as a low-level DynamoDB number value: shortest fixed-point notation (``0.2``, ``10``)."""
    value = Decimal(amount).normalize()
    return {"N": f"{value:f}" if value else "0"}


def format_usd(amount: Decimal | float) -> str:
    """Money for people: ``$4.98``; below a dollar three significant digits (``$0.015``, ``$0.000123``)."""
    value = Decimal(str(amount))
    if value == 0 or abs(value) >= 1:
        return f"${value:,.2f}"
    decimals = max(2, 2 - value.adjusted())
    text = f"{value:.{decimals}f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def hold_attribute(request_id: str) -> str:
    """Attribute name of the hold for ``request_id``: ``hold_<id>``.

    Characters outside ``[A-Za-z0-9_.-]`` become ``_``; when anything was replaced or the id is long,
    a hash of the full id is appended so two different ids never share a hold.
    """
    safe = _SAFE.sub("_", request_id)
    if safe == request_id and 0 < len(request_id) <= _MAX_ID:
        return f"hold_{request_id}"
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:16]
    return f"hold_{safe[:_MAX_ID]}_{digest}"


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
    """A JSON-like dict as a low-level DynamoDB item (floats become exact Decimals, NaN a string)."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {str(key): serializer.serialize(_plain(value)) for key, value in record.items()}
