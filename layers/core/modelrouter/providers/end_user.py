"""The end user a request is for, as providers that take an end-user id receive it; pure.

``safety_identifier`` is meant for providers (OpenAI asks for a hashed value) and is sent as it is.
``user`` often holds an e-mail address or a login, so it is sent only as a namespaced SHA-256 digest:
the same user always gets the same id, and the id does not reveal the value.
"""

from __future__ import annotations

import hashlib
from typing import Final

from modelrouter.request import ChatRequest

__all__ = ["END_USER_NAMESPACE", "end_user_id"]

END_USER_NAMESPACE: Final = "modelrouter:end-user:"
"""Prefixed to ``user`` before it is hashed (the id is not a bare SHA-256 of the value)."""


def end_user_id(request: ChatRequest) -> str | None:
    """``safety_identifier`` as sent, else the digest of ``user``, else None."""
    if request.safety_identifier:
        return request.safety_identifier
    if request.user:
        return hashlib.sha256(f"{END_USER_NAMESPACE}{request.user}".encode()).hexdigest()
    return None
