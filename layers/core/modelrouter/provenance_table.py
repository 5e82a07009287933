"""The provenance table as a :class:`~modelrouter.ports.ProvenanceSink`: one ``PutItem`` per record.

Settlements write their records inside the budget transaction; this sink stores the others (requests
refused at admission, requests served while the budget store failed open).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProvenanceTable"]


class ProvenanceTable:
    """Puts provenance records into the ``ProvenanceTable``."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        """The provenance table's name."""
        self._client = client

    def put(self, record: dict[str, Any]) -> None:
        """Store ``record`` (raises the client's error when DynamoDB refuses it)."""
        from modelrouter.accounting.records import to_dynamo_item

        self._client.put_item(TableName=self.table_name, Item=to_dynamo_item(record))
