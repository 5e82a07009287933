"""Every provenance record of a time window, across tenants, through the ``by_time`` index.

One ``Query`` per hour and shard of the window (:func:`~modelrouter.provenance_index.time_buckets_between`),
each bounded on the sort key (:func:`~modelrouter.provenance_index.window_sort_keys`) and paginated: a
window of ``h`` started hours costs ``8 h`` queries plus one per extra 1 MB page. The index is
eventually consistent (a record written a moment ago may be missing) and projects no prompt
(:data:`~modelrouter.provenance_index.PROJECTED_ATTRIBUTES`).

**A cap** (``max_records``) bounds the work: each bucket may read its fair share of what is left
(what is left divided by the buckets left, so a bucket that holds less passes the rest on), and what
the buckets cut short left unread is read in further rounds while the cap allows. So a window under the
cap is read whole, and a capped one is sampled across all its hours rather than cut after the first
ones (within a bucket, the earliest records first). When the cap stopped a read before its end,
:attr:`WindowQuery.truncated` says so (one query of one item per unfinished bucket finds out).

Items are decoded with boto3's deserializer (numbers as ``Decimal``); an item that does not decode is
counted in :attr:`WindowQuery.unreadable`, never raised on. A failing call raises
:class:`WindowReadError`, whose message names the table, the index and the bucket.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from modelrouter.aws import client_error_code, describe_aws_error
from modelrouter.provenance_index import (
    BY_TIME_INDEX,
    TIME_BUCKET_ATTRIBUTE,
    time_buckets_between,
    window_sort_keys,
)

__all__ = ["MISSING_INDEX_HINT", "WindowQuery", "WindowReadError"]

MISSING_INDEX_HINT: Final = (
    f"(does the table exist, with its {BY_TIME_INDEX} index? deploy the current template.yaml)"
)
"""Added to the message of a table or index that is not found."""
_NOT_FOUND: Final = frozenset({"ResourceNotFoundException", "ValidationException"})
_SORT_KEY: Final = "sort_key"


class WindowReadError(RuntimeError):
    """A window could not be read; the message says which table, index and bucket, and why."""


def _projection(attributes: Sequence[str]) -> tuple[str, dict[str, str]]:
    """A ``ProjectionExpression`` of dotted attribute paths, every name a placeholder (reserved words)."""
    names: dict[str, str] = {}
    paths = []
    for path in attributes:
        parts = []
        for part in path.split("."):
            placeholder = f"#p{len(names)}"
            names[placeholder] = part
            parts.append(placeholder)
        paths.append(".".join(parts))
    return ", ".join(paths), names


@dataclass
class _Cursor:
    """Where the read of one bucket is."""

    bucket: str
    """The bucket."""
    arguments: dict[str, Any] | None
    """The next page's query (None: the bucket is read)."""


@dataclass
class WindowQuery:
    """The records of tenants' requests started in ``[since, until)`` (see the module's docstring)."""

    client: Any
    """A boto3 DynamoDB client."""
    table: str
    """The provenance table."""
    since: datetime
    """Start of the window (included)."""
    until: datetime
    """End of the window (excluded)."""
    max_records: int | None = None
    """Read at most this many records (None: all)."""
    attributes: Sequence[str] | None = None
    """Only these attributes (dotted paths into maps allowed); None: all the index projects."""
    queries: int = field(default=0, init=False)
    """Queries made so far (pages included)."""
    items_read: int = field(default=0, init=False)
    """Items read so far."""
    unreadable: int = field(default=0, init=False)
    """Items that did not decode (left out)."""
    truncated: bool = field(default=False, init=False)
    """The cap stopped the read before every record was read."""

    def records(self) -> Iterator[dict[str, Any]]:
        """The window's records: every bucket in turn (hours oldest first, then shards); with a cap,
        what a bucket left unread over its share is read in later rounds while the cap allows.

        Raises:
            WindowReadError: a query failed.
        """
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        pending = [
            _Cursor(bucket, self._arguments(bucket))
            for bucket in time_buckets_between(self.since, self.until)
        ]
        remaining = self.max_records
        while pending and (remaining is None or remaining > 0):
            unfinished = []
            for index, cursor in enumerate(pending):
                share = None if remaining is None else -(-remaining // (len(pending) - index))
                for item in self._read(cursor, share):
                    if remaining is not None:
                        remaining -= 1
                    try:
                        record = {name: deserializer.deserialize(value) for name, value in item.items()}
                    except (TypeError, ValueError, ArithmeticError, RecursionError):
                        self.unreadable += 1
                        continue
                    yield record
                if cursor.arguments is not None:
                    unfinished.append(cursor)
            pending = unfinished
        # The cap stopped the read: was anything left? (a page that ended at the cap may have been the last)
        self.truncated = any(self._query({**cursor.arguments, "Limit": 1}, cursor.bucket).get("Items")
                             for cursor in pending if cursor.arguments is not None)  # fmt: skip

    def _arguments(self, bucket: str) -> dict[str, Any]:
        low, high = window_sort_keys(self.since, self.until)
        names = {"#bucket": TIME_BUCKET_ATTRIBUTE, "#sort": _SORT_KEY}
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_TIME_INDEX,
            "KeyConditionExpression": "#bucket = :bucket AND #sort BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":bucket": {"S": bucket}, ":low": {"S": low}, ":high": {"S": high}},
        }
        if self.attributes:
            projection, projected = _projection(self.attributes)
            arguments["ProjectionExpression"] = projection
            names.update(projected)
        arguments["ExpressionAttributeNames"] = names
        return arguments

    def _read(self, cursor: _Cursor, share: int | None) -> Iterator[dict[str, Any]]:
        """A bucket's next items: every page (``share`` None), or up to ``share`` items. Leaves the cursor
        at the next page, or finished (``arguments`` None)."""
        read = 0
        while cursor.arguments is not None and (share is None or read < share):
            arguments = cursor.arguments if share is None else {**cursor.arguments, "Limit": share - read}
            page = self._query(arguments, cursor.bucket)
            items = page.get("Items", [])
            read += len(items)
            self.items_read += len(items)
            last = page.get("LastEvaluatedKey")
            cursor.arguments = None if last is None else {**cursor.arguments, "ExclusiveStartKey": last}
            yield from items

    def _query(self, arguments: dict[str, Any], bucket: str) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        self.queries += 1
        try:
            page: dict[str, Any] = self.client.query(**arguments)
        except (BotoCoreError, ClientError) as error:
            hint = f" {MISSING_INDEX_HINT}" if client_error_code(error) in _NOT_FOUND else ""
            raise WindowReadError(
                f"cannot read provenance table {self.table} (index {BY_TIME_INDEX}, bucket {bucket}): "
                f"{describe_aws_error(error)}{hint}"
            ) from None
        return page
