"""Tenant API keys in DynamoDB (the template's ``ApiKeyTable``): create, revoke, list, authenticate.

Rows are keyed by ``key_id``; the ``by_tenant`` index (projection ALL) lists a tenant's keys. A row holds
the tenant, a random salt, the HMAC of the secret, timestamps, a description and a status, never the
secret or the token. Keys are revoked, not deleted, so the table is also their audit trail.

Reads are eventually consistent (half the cost, and the authorizer reads on every uncached request): a
revocation takes effect within about a second, plus the authorizer's result cache TTL if one is set.

boto3 is imported on first use, and the client is created once per store (once per Lambda container
when the store is module-level). Every DynamoDB or botocore failure becomes a :class:`KeyStoreError`.
"""

from __future__ import annotations

import builtins
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from modelrouter import timeouts
from modelrouter.keys.errors import InvalidKeyFieldError, KeyStoreError, MalformedKeyError
from modelrouter.keys.format import NewKey, generate_key, hash_secret, parse_token, verify
from modelrouter.keys.model import ACTIVE, REVOKED, Authentication, AuthOutcome, KeyRecord

__all__ = ["MAX_DESCRIPTION_LENGTH", "MAX_TENANT_ID_LENGTH", "TENANT_INDEX", "KeyStore"]

TENANT_INDEX = "by_tenant"
"""The global secondary index on ``tenant_id``."""
MAX_TENANT_ID_LENGTH = 128
MAX_DESCRIPTION_LENGTH = 256
SALT_BYTES = 16
_CREATE_ATTEMPTS = timeouts.KEY_CREATE_ATTEMPTS
"""Key ids are 60 random bits: a collision is improbable, and retried with a new key if it happens."""


class _ConditionFailedError(Exception):
    """A conditional write found the row in the wrong state (internal to this module)."""


class KeyStore:
    """The key table, through a low-level boto3 DynamoDB client.

    Args:
        table_name: Name of the key table.
        client: A DynamoDB client to use (tests, local mode); by default one is created on first use,
            with short timeouts because the authorizer sits in front of every request.
        endpoint_url: DynamoDB endpoint of the client created on first use (DynamoDB Local, moto
            server); ignored when ``client`` is given. boto3 also reads ``AWS_ENDPOINT_URL_DYNAMODB``.
    """

    def __init__(self, table_name: str, client: Any = None, endpoint_url: str | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self._endpoint_url = endpoint_url
        self._lock = threading.Lock()

    def create(self, tenant_id: str, description: str = "", *, key: NewKey | None = None) -> NewKey:
        """Create an active key for ``tenant_id``; the returned token is the only copy of the secret.
        ``key``: store this key instead of a random one (local mode's ``--dev-keys``); tried once.

        Raises:
            InvalidKeyFieldError: the tenant id or the description is not acceptable.
            KeyStoreError: the table could not be written (or ``key``'s id is taken).
        """
        _check_field("tenant id", tenant_id, MAX_TENANT_ID_LENGTH, required=True)
        _check_field("description", description, MAX_DESCRIPTION_LENGTH, required=False)
        given = key
        for _ in range(_CREATE_ATTEMPTS if given is None else 1):
            key = given or generate_key()
            salt = secrets.token_bytes(SALT_BYTES)
            item = {
                "key_id": {"S": key.key_id},
                "tenant_id": {"S": tenant_id},
                "salt": {"S": salt.hex()},
                "hash": {"S": hash_secret(key.secret, salt)},
                "created_at": {"S": _now()},
                "description": {"S": description},
                "status": {"S": ACTIVE},
            }
            try:
                self._call(
                    "put_item",
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression="attribute_not_exists(key_id)",
                )
            except _ConditionFailedError:
                continue
            return key
        if given is not None:
            raise KeyStoreError(f"key id {given.key_id} is already in the table")
        raise KeyStoreError(f"could not find a free key id in {_CREATE_ATTEMPTS} attempts")

    def revoke(self, key_id: str) -> bool:
        """Mark a key revoked; ``False`` if there is no such key. Revoking twice keeps the first time.

        Raises:
            KeyStoreError: the table could not be written.
        """
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key={"key_id": {"S": key_id}},
                UpdateExpression="SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :now)",
                ConditionExpression="attribute_exists(key_id)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":revoked": {"S": REVOKED}, ":now": {"S": _now()}},
            )
        except _ConditionFailedError:
            return False
        return True

    def list(self, tenant_id: str | None = None) -> builtins.list[KeyRecord]:
        """Every key of ``tenant_id`` (through the tenant index), or of every tenant (a table scan).

        Sorted by tenant, then creation time. The index is eventually consistent: a key created a
        moment ago may be missing from a tenant's list. Fine for an admin CLI, not for a hot path.

        Raises:
            KeyStoreError: the table could not be read.
        """
        if tenant_id is None:
            operation = "scan"
            arguments: dict[str, Any] = {"TableName": self.table_name}
        else:
            operation = "query"
            arguments = {
                "TableName": self.table_name,
                "IndexName": TENANT_INDEX,
                "KeyConditionExpression": "tenant_id = :tenant",
                "ExpressionAttributeValues": {":tenant": {"S": tenant_id}},
            }
        records: builtins.list[KeyRecord] = []
        while True:
            page = self._call(operation, **arguments)
            records.extend(self._record(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                break
            arguments["ExclusiveStartKey"] = last
        return sorted(records, key=lambda record: (record.tenant_id, record.created_at, record.key_id))

    def lookup(self, key_id: str) -> KeyRecord | None:
        """The row of ``key_id``, or ``None`` (eventually consistent read).

        Raises:
            KeyStoreError: the table could not be read, or the row is corrupt.
        """
        response = self._call("get_item", TableName=self.table_name, Key={"key_id": {"S": key_id}})
        item = response.get("Item")
        return None if item is None else self._record(item)

    def check(self, token: str) -> Authentication:
        """Check a token and say why it is accepted or refused.

        The secret is verified before the status is looked at, so ``REVOKED`` is only ever reported
        for someone who holds the real secret of a revoked key.

        Raises:
            KeyStoreError: the table could not be read, or the key's row is corrupt.
        """
        try:
            key_id, secret = parse_token(token)
        except MalformedKeyError:
            return Authentication(AuthOutcome.MALFORMED)
        record = self.lookup(key_id)
        if record is None:
            return Authentication(AuthOutcome.UNKNOWN_KEY, key_id)
        try:
            salt = bytes.fromhex(record.salt)
        except ValueError:
            raise KeyStoreError(f"the row of key '{key_id}' has a salt that is not hex") from None
        if not verify(secret, salt, record.secret_hash):
            return Authentication(AuthOutcome.WRONG_SECRET, key_id)
        if not record.active:
            return Authentication(AuthOutcome.REVOKED, key_id)
        return Authentication(AuthOutcome.OK, key_id, record.tenant_id)

    def authenticate(self, token: str) -> str | None:
        """The tenant id of an active key whose secret verifies, else ``None``.

        Raises:
            KeyStoreError: the table could not be read (callers must fail closed).
        """
        return self.check(token).tenant_id

    def _dynamodb(self) -> Any:
        """The client, created on first use, once."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from modelrouter.aws import aws_client

                    self._client = aws_client("dynamodb", endpoint_url=self._endpoint_url)
        return self._client

    def _call(self, operation: str, **arguments: Any) -> Any:
        """Run one DynamoDB operation, turning its failures into typed errors."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._dynamodb(), operation)(**arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailedError from None
            if code == "ResourceNotFoundException":
                raise KeyStoreError(f"key table '{self.table_name}' does not exist") from None
            raise KeyStoreError(f"DynamoDB {operation} on '{self.table_name}' failed: {code}") from None
        except BotoCoreError as error:
            raise KeyStoreError(f"DynamoDB {operation} on '{self.table_name}' failed: {error}") from None

    def _record(self, item: dict[str, Any]) -> KeyRecord:
        """A row as a :class:`KeyRecord`."""
        try:
            return KeyRecord(
                key_id=item["key_id"]["S"],
                tenant_id=item["tenant_id"]["S"],
                status=item["status"]["S"],
                created_at=item["created_at"]["S"],
                description=item.get("description", {}).get("S", ""),
                salt=item["salt"]["S"],
                secret_hash=item["hash"]["S"],
                revoked_at=item.get("revoked_at", {}).get("S"),
            )
        except (KeyError, TypeError, AttributeError):
            key_id = item.get("key_id", {}).get("S", "?") if isinstance(item.get("key_id"), dict) else "?"
            raise KeyStoreError(f"the row of key '{key_id}' in '{self.table_name}' is incomplete") from None


def _check_field(name: str, value: str, max_length: int, *, required: bool) -> None:
    """Refuse empty (when required), over-long, padded or non-printable values."""
    if required and not value:
        raise InvalidKeyFieldError(f"the {name} is empty")
    if len(value) > max_length:
        raise InvalidKeyFieldError(f"the {name} is longer than {max_length} characters")
    if value != value.strip() or not value.isprintable():
        raise InvalidKeyFieldError(f"the {name} has leading/trailing spaces or non-printable characters")


def _now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
