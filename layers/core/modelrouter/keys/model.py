"""What the key table holds and what checking a token concludes: plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["ACTIVE", "REVOKED", "AuthOutcome", "Authentication", "KeyRecord"]

ACTIVE = "active"
"""Status of a key that authenticates."""
REVOKED = "revoked"
"""Status of a key that no longer authenticates (kept for audit, never deleted)."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One row of the key table. It has no secret: only the salt and the hash of the secret."""

    key_id: str
    tenant_id: str
    status: str
    created_at: str
    description: str
    salt: str = field(repr=False)
    """Hex of 16 random bytes, the HMAC key of :func:`~modelrouter.keys.format.hash_secret`."""
    secret_hash: str = field(repr=False)
    """Hex HMAC-SHA256 of the secret."""
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        """Whether the key may authenticate."""
        return self.status == ACTIVE

    def public(self) -> dict[str, str | None]:
        """The fields safe to show an operator (no salt, no hash)."""
        return {
            "key_id": self.key_id,
            "tenant_id": self.tenant_id,
            "status": self.status,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "description": self.description,
        }


class AuthOutcome(StrEnum):
    """Why a token was accepted or refused (for logs; callers only learn yes or no)."""

    OK = "ok"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    WRONG_SECRET = "wrong_secret"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Authentication:
    """The result of checking a token: the outcome, and what is known of the key (never the secret)."""

    outcome: AuthOutcome
    key_id: str | None = None
    """Set once the token parsed, whatever the outcome."""
    tenant_id: str | None = None
    """Set only when the outcome is :attr:`AuthOutcome.OK`."""

    @property
    def ok(self) -> bool:
        """Whether the token authenticates a tenant."""
        return self.outcome is AuthOutcome.OK
