"""Feedback in DynamoDB: find the caller's record of a request, and write the feedback onto it.

Finding it takes a ``Query`` of the provenance table's ``by_request_id`` index (keys only) filtered to
the caller's tenant, so another tenant's keys never leave the table; then a consistent ``GetItem`` of
the attributes feedback reads. Writing is one ``TransactWriteItems`` (:func:`~modelrouter.feedback.update
.plan_write`): when other feedback for the same request got there between the read and the write, its
condition fails and the record is read and written again, up to :data:`MAX_RETRIES` times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from modelrouter import timeouts
from modelrouter.accounting.dynamo import (
    CANCELED,
    CONDITION_FAILED,
    RETRYABLE_REASONS,
    cancellation_codes,
    client_error_code,
)
from modelrouter.feedback.errors import FeedbackConflictError, FeedbackStoreError, RequestNotFoundError
from modelrouter.feedback.model import FeedbackRequest
from modelrouter.feedback.update import RECORD_ATTRIBUTES, StoredRecord, plan_write, stored_record

__all__ = ["BY_REQUEST_ID", "MAX_INDEX_PAGES", "MAX_RETRIES", "FeedbackResult", "FeedbackStore", "RecordKey"]

BY_REQUEST_ID: Final = "by_request_id"
"""The provenance table's index of records by request id (``template.yaml``; keys only)."""
MAX_RETRIES: Final = timeouts.FEEDBACK_MAX_RETRIES
"""Times a write whose condition failed (concurrent feedback) is read and tried again before a 503."""
MAX_INDEX_PAGES: Final = 4
"""Pages of the index read for one request id (one record per request: the first page has it)."""
_NOT_FOUND: Final = "no request with this id for your API key's tenant"


@dataclass(frozen=True, slots=True)
class RecordKey:
    """Where a provenance record is: the table's key."""

    tenant_id: str
    """Partition key."""
    sort_key: str
    """Sort key (``<started>#<request id>``)."""


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What storing one feedback did."""

    request_id: str
    """The request rated."""
    route: str | None
    """Its route."""
    model: str | None
    """The model that answered it (else the one chosen first)."""
    reward: float
    """Its reward from now on: the feedback's."""
    replaced: bool
    """Earlier feedback for the request was replaced."""
    comment_stored: bool
    """The comment was stored (the tenant's ``store_prompts`` allows text)."""
    learning_adjusted: bool
    """A bandit's learning state moved by the difference with the reward it had counted."""

    def as_json(self) -> dict[str, Any]:
        """The answer of ``POST /v1/feedback``."""
        return {
            "object": "router.feedback",
            "request_id": self.request_id,
            "route": self.route,
            "model": self.model,
            "reward": self.reward,
            "replaced": self.replaced,
            "comment_stored": self.comment_stored,
            "learning_adjusted": self.learning_adjusted,
        }


class FeedbackStore:
    """Reads provenance records and writes feedback onto them (and onto the learning state)."""

    def __init__(self, provenance_table: str, client: Any, learning_table: str | None = None) -> None:
        self.provenance_table = provenance_table
        """The provenance table's name."""
        self.learning_table = learning_table
        """The learning table's name; None: no bandit learning in this deployment."""
        self._client = client

    def submit(
        self, tenant_id: str, request: FeedbackRequest, *, store_comment: bool, now: datetime
    ) -> FeedbackResult:
        """Store ``request`` on the tenant's record of ``request.request_id``.

        Raises:
            RequestNotFoundError: the tenant has no record with that id.
            FeedbackConflictError: concurrent feedback kept winning the race.
            FeedbackStoreError: a table could not be used.
        """
        key = self.find(tenant_id, request.request_id)
        for _ in range(1 + MAX_RETRIES):
            record = self.read(key)
            plan = plan_write(
                record,
                request,
                store_comment=store_comment,
                now=now,
                provenance_table=self.provenance_table,
                learning_table=self.learning_table,
            )
            if self._transact(plan.items):
                return FeedbackResult(
                    request_id=record.request_id or request.request_id,
                    route=record.route,
                    model=record.model,
                    reward=plan.reward,
                    replaced=record.revision is not None,
                    comment_stored=bool(plan.feedback["comment_stored"]),
                    learning_adjusted=plan.adjusted is not None,
                )
        raise FeedbackConflictError(
            f"other feedback for request {request.request_id} kept changing it; retry"
        )

    def find(self, tenant_id: str, request_id: str) -> RecordKey:
        """The key of the tenant's record of ``request_id`` (the newest, should there be several).

        Raises:
            RequestNotFoundError: the tenant has none (whatever other tenants have).
        """
        query: dict[str, Any] = {
            "TableName": self.provenance_table,
            "IndexName": BY_REQUEST_ID,
            "KeyConditionExpression": "request_id = :request",
            "FilterExpression": "tenant_id = :tenant",
            "ExpressionAttributeValues": {":request": {"S": request_id}, ":tenant": {"S": tenant_id}},
        }
        found: list[str] = []
        for _ in range(MAX_INDEX_PAGES):
            page = self._call("Query", self._client.query, **query)
            found += [item["sort_key"]["S"] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if not found:
            raise RequestNotFoundError(_NOT_FOUND)
        return RecordKey(tenant_id, max(found))

    def read(self, key: RecordKey) -> StoredRecord:
        """The record at ``key``, read consistently.

        Raises:
            RequestNotFoundError: it is gone (expired since it was found).
        """
        from boto3.dynamodb.types import TypeDeserializer

        names = {f"#a{index}": name for index, name in enumerate(RECORD_ATTRIBUTES)}
        answer = self._call(
            "GetItem",
            self._client.get_item,
            TableName=self.provenance_table,
            Key={"tenant_id": {"S": key.tenant_id}, "sort_key": {"S": key.sort_key}},
            ConsistentRead=True,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        )
        item = answer.get("Item")
        if not item:
            raise RequestNotFoundError(_NOT_FOUND)
        deserializer = TypeDeserializer()
        return stored_record({name: deserializer.deserialize(value) for name, value in item.items()})

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """Write ``items``; False when the record changed since it was read (or a retryable conflict)."""
        from botocore.exceptions import ClientError

        try:
            self._call("TransactWriteItems", self._client.transact_write_items, TransactItems=items)
        except FeedbackStoreError as failure:
            error = failure.__cause__
            if not isinstance(error, ClientError) or client_error_code(error) != CANCELED:
                raise
            codes = cancellation_codes(error, len(items))
            if codes[0] == CONDITION_FAILED or any(code in RETRYABLE_REASONS for code in codes):
                return False
            raise
        return True

    def _call(self, operation: str, method: Any, **arguments: Any) -> dict[str, Any]:
        """``method(**arguments)``; a botocore failure is a :class:`FeedbackStoreError` caused by it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer: dict[str, Any] = method(**arguments)
        except (BotoCoreError, ClientError) as error:
            raise self._store_error(operation, error) from error
        return answer

    def _store_error(self, operation: str, error: Exception) -> FeedbackStoreError:
        code = client_error_code(error) or type(error).__name__
        tables = self.provenance_table + (f" / {self.learning_table}" if self.learning_table else "")
        return FeedbackStoreError(f"{operation} on {tables} failed: {code}: {error}")
