"""Where moto's server differs from AWS in ways local mode cannot live with, and how the embedded AWS
(:class:`~modelrouter.local.aws.EmbeddedAws`) corrects it. Applied once per process, before it serves.

* **Numbers.** DynamoDB stores numbers in a canonical form (``0.001 - 0.001`` is ``0``); moto keeps
  what Python's ``Decimal`` prints (``0E-12``), which its own next ``ADD`` cannot parse.
* **Transactions.** For every ``TransactWriteItems`` moto deep-copies each table the transaction names,
  to roll back on cancellation: its cost grows with the table, and the budget and provenance tables grow
  with every request, so each reservation and settlement was slower than the last (62 ms each after a
  few hundred requests). Only the items the transaction names are copied here, and restored on
  cancellation as before; the embedded AWS applies one request at a time, so nothing else changes
  meanwhile.
* **Routing.** moto lists its package folder on disk for every request to find the backend; the list
  is read once.
"""

from __future__ import annotations

import copy
import threading
from decimal import Context, Decimal, InvalidOperation
from typing import Any

__all__ = ["apply_moto_patches", "canonical_number"]

_NUMBER_CONTEXT = Context(prec=38)
"""DynamoDB numbers have up to 38 significant digits."""
_in_transaction = threading.local()
_applied = threading.Lock()
_done: list[bool] = []


def canonical_number(text: str) -> str:
    """``text`` as DynamoDB stores a number: no exponent, no trailing zeros, ``0`` for any zero."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    if value.is_zero():
        return "0"
    return format(value.normalize(_NUMBER_CONTEXT), "f")


def apply_moto_patches() -> None:
    """Apply every correction (once per process)."""
    with _applied:
        if not _done:
            _canonical_numbers()
            _item_level_transactions()
            _backend_list_read_once()
            _done.append(True)


def _canonical_numbers() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoType.__init__

    def canonical_init(self: DynamoType, type_as_dict: Any) -> None:
        original(self, type_as_dict)
        if self.type == "N" and isinstance(self.value, str):
            self.value = canonical_number(self.value)

    DynamoType.__init__ = canonical_init  # type: ignore[method-assign]


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """``(table, hash, range, copy of the item or None)`` for every item the transaction names."""
    saved = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            source = (op.get("Item") if op_type == "Put" else op.get("Key")) or {}
            key = {name: source.get(name) for name in (table.hash_key_attr, table.range_key_attr) if name}
            if any(value is None for value in key.values()):
                continue  # moto refuses it before writing anything
            hash_value, range_value = backend.get_keys_value(table, key)
            saved.append(
                (table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value)))
            )
    return saved


def _restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_value, range_value, original in reversed(saved):
        items = table.items[hash_value] if table.has_range_key else table.items
        slot = range_value if table.has_range_key else hash_value
        if original is None:
            items.pop(slot, None)
        else:
            items[slot] = original


def _item_level_transactions() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    def table_deepcopy(self: Table, memo: dict[int, Any]) -> Table:
        if getattr(_in_transaction, "active", False):
            return self  # moto's whole-table backup: the items named are saved instead
        reduced = self.__reduce_ex__(4)
        clone: Table = copy._reconstruct(self, memo, *reduced)  # type: ignore[attr-defined]  # as deepcopy does
        return clone

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = _snapshot(self, transact_items)
        _in_transaction.active = True
        try:
            original(self, transact_items)
        except BaseException:
            _restore(saved)
            raise
        finally:
            _in_transaction.active = False

    Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _backend_list_read_once() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
