"""Tenant API keys: the token format (:mod:`.format`), the key headers (:mod:`.bearer`: ``Bearer`` or
``x-api-key``) and the DynamoDB key table (:mod:`.store`). The Lambda authorizer and ``modelrouter
keys`` are thin layers over this package. Importing it does not import boto3.
"""

from __future__ import annotations

from modelrouter.keys.bearer import API_KEY_HEADER, MISSING_KEY, api_key, bearer_token
from modelrouter.keys.errors import ApiKeyError, InvalidKeyFieldError, KeyStoreError, MalformedKeyError
from modelrouter.keys.format import NewKey, generate_key, hash_secret, parse_token, verify
from modelrouter.keys.model import Authentication, AuthOutcome, KeyRecord
from modelrouter.keys.store import KeyStore

__all__ = [
    "API_KEY_HEADER",
    "MISSING_KEY",
    "ApiKeyError",
    "AuthOutcome",
    "Authentication",
    "InvalidKeyFieldError",
    "KeyRecord",
    "KeyStore",
    "KeyStoreError",
    "MalformedKeyError",
    "NewKey",
    "api_key",
    "bearer_token",
    "generate_key",
    "hash_secret",
    "parse_token",
    "verify",
]
