"""Reading provenance records for ``modelrouter audit`` and the usage breakdown.

* **One request** (:meth:`ProvenanceReader.by_request_id`): a ``Query`` of the ``by_request_id`` index
  (keys only) gives the records' keys, then a consistent ``GetItem`` reads each whole record.
* **A tenant's time window** (:meth:`ProvenanceReader.window`): a ``Query`` of the base table on
  ``tenant_id`` and the sort-key range of ``[since, until)``
  (:func:`~modelrouter.provenance_index.window_sort_keys`), newest first, page by page, with the outcome
  and model filters as a server-side ``FilterExpression`` and only the attributes asked for
  (``ProjectionExpression``: a stored prompt never leaves the table unless asked for).

Every botocore failure becomes a :class:`~modelrouter.audit.errors.ProvenanceReadError` naming the
table; a window that needs more pages than ``max_pages`` raises
:class:`~modelrouter.audit.errors.ReadLimitExceededError` instead of reading on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from modelrouter.audit.errors import ProvenanceReadError, ReadLimitExceededError
from modelrouter.feedback.store import BY_REQUEST_ID, MAX_INDEX_PAGES, RecordKey
from modelrouter.provenance_index import window_sort_keys

__all__ = ["OUTCOMES", "PAGE_ITEMS", "Outcome", "ProvenanceReader", "Window", "WindowQuery"]

PAGE_ITEMS: Final = 1000
"""Items a window's ``Query`` evaluates per page (DynamoDB's ``Limit``, counted before the filter)."""

Outcome = Literal["success", "error", "refused"]
"""A record's ``outcome``."""
OUTCOMES: Final[tuple[Outcome, ...]] = ("success", "error", "refused")
"""Every outcome a record can have."""


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """Which records of one tenant to read: a start-time range and optional filters."""

    tenant_id: str
    """The tenant."""
    since: datetime
    """Requests that started at or after this moment."""
    until: datetime
    """Requests that started before this moment."""
    model: str | None = None
    """Only records this model answered or was chosen for (``model`` or ``chosen_model``)."""
    outcome: Outcome | None = None
    """Only records of this outcome."""
    newest_first: bool = True
    """Read from ``until`` back (``ScanIndexForward`` false)."""


@dataclass(frozen=True, slots=True)
class Window:
    """The records of a :class:`WindowQuery` that were read."""

    records: list[dict[str, Any]]
    """The records (plain values), in the order asked for, at most the limit."""
    truncated: bool
    """More records match than the limit let through."""
    pages: int
    """``Query`` pages read."""


class ProvenanceReader:
    """Reads the provenance table (``PROVENANCE_TABLE``)."""

    def __init__(self, table: str, client: Any, *, max_pages: int | None = None) -> None:
        """A reader of ``table``; a window needing more than ``max_pages`` pages is refused (None: no cap)."""
        self.table = table
        """The provenance table's name."""
        self.max_pages = max_pages
        """Most ``Query`` pages one window may take; None: no cap."""
        self._client = client

    def keys(self, request_id: str) -> list[RecordKey]:
        """The keys of every record of ``request_id`` (any tenant), newest first."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_REQUEST_ID,
            "KeyConditionExpression": "request_id = :request",
            "ExpressionAttributeValues": {":request": {"S": request_id}},
        }
        found: list[RecordKey] = []
        for _ in range(MAX_INDEX_PAGES):
            page = self._call("Query", query)
            found += [
                RecordKey(item["tenant_id"]["S"], item["sort_key"]["S"]) for item in page.get("Items", [])
            ]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(found, key=lambda key: key.sort_key, reverse=True)

    def record(self, key: RecordKey) -> dict[str, Any] | None:
        """The whole record at ``key`` (consistent read), or None when it is gone (expired)."""
        from modelrouter.learning.dynamodb_export import item_to_record

        answer = self._call(
            "GetItem",
            {
                "TableName": self.table,
                "Key": {"tenant_id": {"S": key.tenant_id}, "sort_key": {"S": key.sort_key}},
                "ConsistentRead": True,
            },
        )
        item = answer.get("Item")
        return item_to_record(item) if item else None

    def by_request_id(self, request_id: str, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every record of ``request_id`` (only ``tenant_id``'s when given), newest first."""
        keys = [key for key in self.keys(request_id) if tenant_id is None or key.tenant_id == tenant_id]
        records = (self.record(key) for key in keys)
        return [record for record in records if record is not None]

    def window(
        self, query: WindowQuery, *, attributes: Sequence[str] | None = None, limit: int | None = None
    ) -> Window:
        """The records of ``query`` (only ``attributes`` of each when given), at most ``limit`` of them.

        Raises:
            ReadLimitExceededError: more than :attr:`max_pages` pages would be needed.
            ProvenanceReadError: the table could not be read.
        """
        from modelrouter.learning.dynamodb_export import item_to_record

        arguments = self._window_arguments(query, attributes)
        records: list[dict[str, Any]] = []
        pages = 0
        while limit is None or len(records) <= limit:
            if self.max_pages is not None and pages >= self.max_pages:
                raise ReadLimitExceededError(
                    f"the records of tenant {query.tenant_id} from {query.since.isoformat()} to "
                    f"{query.until.isoformat()} take more than {self.max_pages} pages of reads"
                )
            if limit is not None and "FilterExpression" not in arguments:  # read no more than needed
                arguments["Limit"] = min(PAGE_ITEMS, limit + 1 - len(records))
            page = self._call("Query", arguments)
            pages += 1
            records += [item_to_record(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        truncated = limit is not None and len(records) > limit
        return Window(records[:limit] if limit is not None else records, truncated, pages)

    def _window_arguments(self, query: WindowQuery, attributes: Sequence[str] | None) -> dict[str, Any]:
        low, high = window_sort_keys(query.since, query.until)
        names: dict[str, str] = {}
        values: dict[str, Any] = {
            ":tenant": {"S": query.tenant_id},
            ":low": {"S": low},
            ":high": {"S": high},
        }
        filters = []
        if query.outcome is not None:
            names["#outcome"] = "outcome"
            values[":outcome"] = {"S": query.outcome}
            filters.append("#outcome = :outcome")
        if query.model is not None:
            names.update({"#model": "model", "#chosen": "chosen_model"})
            values[":model"] = {"S": query.model}
            filters.append("(#model = :model OR #chosen = :model)")
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "tenant_id = :tenant AND sort_key BETWEEN :low AND :high",
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not query.newest_first,
            "Limit": PAGE_ITEMS,
        }
        if filters:
            arguments["FilterExpression"] = " AND ".join(filters)
        if attributes:
            projected = {f"#p{index}": name for index, name in enumerate(attributes)}
            names.update(projected)
            arguments["ProjectionExpression"] = ", ".join(projected)
        if names:
            arguments["ExpressionAttributeNames"] = names
        return arguments

    def _call(self, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run ``operation``; a botocore failure is a :class:`ProvenanceReadError` naming the table."""
        from botocore.exceptions import BotoCoreError, ClientError

        from modelrouter.accounting.dynamo import client_error_code

        method = getattr(self._client, "query" if operation == "Query" else "get_item")
        try:
            answer: dict[str, Any] = method(**arguments)
        except (BotoCoreError, ClientError) as error:
            code = client_error_code(error) or type(error).__name__
            detail = " ".join(str(error).split())
            raise ProvenanceReadError(
                f"{operation} on provenance table {self.table} failed: {code}: {detail}"
            ) from error
        return answer
