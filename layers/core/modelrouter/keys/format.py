"""The API key format, its parsing and its hashing: pure functions, no I/O.

A token is ``mr_<key_id>_<secret>``:

- ``key_id``: 12 characters of lowercase RFC 4648 base32 (``a``–``z``, ``2``–``7``), 60 random bits.
  It is not secret: it names the key's row in the key table, and it is what logs and the CLI show.
- ``secret``: 32 random bytes (256 bits), URL-safe base64 without padding, so exactly 43 characters.
  Only a salted hash of it is ever stored.

The secret alphabet contains ``_``, so a token is split at fixed offsets, never at underscores.
:func:`parse_token` checks the length before anything else and then looks at each character once:
hostile input costs at most one pass over 59 characters, whatever its size.

Hashing: HMAC-SHA256 keyed with a per-key random salt. Password hashes (bcrypt, scrypt, Argon2) are
deliberately slow to stretch low-entropy human passwords against brute force. A key secret carries
256 bits from ``secrets``: no amount of stretching is needed to make guessing it hopeless, while a
deliberately slow hash would add tens of milliseconds (and a lot of memory, for scrypt) to every
authorizer call, i.e. to every API request. A fast salted hash is the right tool for random tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from modelrouter.keys.errors import MalformedKeyError

__all__ = [
    "KEY_ID_ALPHABET",
    "KEY_ID_LENGTH",
    "SECRET_BYTES",
    "SECRET_LENGTH",
    "TOKEN_LENGTH",
    "TOKEN_PREFIX",
    "NewKey",
    "generate_key",
    "generate_key_id",
    "hash_secret",
    "parse_token",
    "verify",
]

TOKEN_PREFIX = "mr_"
"""Every token starts with this (it makes leaked keys easy to recognise by secret scanners)."""
KEY_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
"""Lowercase RFC 4648 base32."""
KEY_ID_LENGTH = 12
SECRET_BYTES = 32
SECRET_LENGTH = 43
"""URL-safe base64 of :data:`SECRET_BYTES` bytes, without ``=`` padding."""
TOKEN_LENGTH = len(TOKEN_PREFIX) + KEY_ID_LENGTH + 1 + SECRET_LENGTH

_KEY_ID_CHARS = frozenset(KEY_ID_ALPHABET)
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_KEY_ID_START = len(TOKEN_PREFIX)
_SEPARATOR_AT = _KEY_ID_START + KEY_ID_LENGTH
_SECRET_START = _SEPARATOR_AT + 1


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key. ``secret`` and ``token`` are kept out of ``repr`` (and so out of logs)."""

    key_id: str
    secret: str = field(repr=False)
    token: str = field(repr=False)


def generate_key_id() -> str:
    """A new random key id (12 base32 characters)."""
    return "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(KEY_ID_LENGTH))


def generate_key() -> NewKey:
    """A new key: random key id and secret, and the token that joins them."""
    key_id = generate_key_id()
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode("ascii")
    return NewKey(key_id=key_id, secret=secret, token=f"{TOKEN_PREFIX}{key_id}_{secret}")


def parse_token(token: str) -> tuple[str, str]:
    """Split a token into ``(key_id, secret)``, checking every character.

    Raises:
        MalformedKeyError: wrong length, prefix or separator, a character outside the alphabets, or a
            secret that is not the canonical encoding of 32 bytes. The message never holds the token.
    """
    if len(token) != TOKEN_LENGTH:
        raise MalformedKeyError(f"an API key has {TOKEN_LENGTH} characters, this one has {len(token)}")
    if not token.startswith(TOKEN_PREFIX):
        raise MalformedKeyError(f"an API key starts with '{TOKEN_PREFIX}'")
    if token[_SEPARATOR_AT] != "_":
        raise MalformedKeyError("an API key has '_' between its key id and its secret")
    key_id = token[_KEY_ID_START:_SEPARATOR_AT]
    secret = token[_SECRET_START:]
    if not _KEY_ID_CHARS.issuperset(key_id):
        raise MalformedKeyError("an API key's key id is lowercase base32 (a-z, 2-7)")
    if not _SECRET_CHARS.issuperset(secret):
        raise MalformedKeyError("an API key's secret is URL-safe base64 (A-Z, a-z, 0-9, '-', '_')")
    # 43 characters hold 258 bits for 256: the last one has two spare bits, which must be zero, or
    # several spellings would decode to the same secret.
    decoded = base64.urlsafe_b64decode(secret + "=")
    if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode("ascii") != secret:
        raise MalformedKeyError("an API key's secret is not a canonical encoding of 32 bytes")
    return key_id, secret


def hash_secret(secret: str, salt: bytes) -> str:
    """Hex HMAC-SHA256 of ``secret`` keyed with ``salt`` (see the module docstring for why not bcrypt)."""
    return hmac.new(salt, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def verify(secret: str, salt: bytes, expected_hash: str) -> bool:
    """Whether ``secret`` hashes to ``expected_hash`` under ``salt``, compared in constant time."""
    actual = hash_secret(secret, salt).encode("ascii")
    return hmac.compare_digest(actual, expected_hash.encode("utf-8", "surrogatepass"))
