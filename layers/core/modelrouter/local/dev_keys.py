"""``serve --dev-keys``: API keys derived from tenant names, the same on every start.

Local mode's keys are random and, like everything in the embedded AWS, gone when ``serve`` stops. A
script that calls the local router wants a key it can hard-code: :func:`dev_key` derives one per tenant
from the tenant's name and a fixed secret written below, in the ordinary key format
(``mr_<key id>_<secret>``, :mod:`modelrouter.keys.format`). The key id starts with ``dev`` so such keys
are recognisable in logs and in ``keys list``.

The secret is public (it is in this file), so anyone can compute every dev key: they must never be
stored anywhere but the embedded AWS. :func:`seed_dev_keys` refuses a key table whose endpoint is not
on this machine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from modelrouter.errors import ModelRouterError
from modelrouter.keys.format import KEY_ID_ALPHABET, KEY_ID_LENGTH, TOKEN_PREFIX, NewKey

if TYPE_CHECKING:
    from modelrouter.keys import KeyStore

__all__ = ["DEV_KEY_ID_PREFIX", "DevKeysError", "dev_key", "seed_dev_keys"]

DEV_KEY_SECRET: Final = b"modelrouter local mode dev keys: public, never for a deployed stack"
"""The fixed HMAC key every dev key is derived with (public on purpose: see the module docstring)."""
DEV_KEY_ID_PREFIX: Final = "dev"
"""How every dev key's key id starts."""
DEV_KEY_DESCRIPTION: Final = "local mode dev key (derived from the tenant name; serve --dev-keys)"
LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
"""Endpoint hosts taken as this machine's embedded AWS."""
_BITS_PER_CHARACTER: Final = 5


class DevKeysError(ModelRouterError):
    """Dev keys were asked for against a key table that is not local mode's embedded AWS."""

    code = "dev_keys_refused"


def _derive(purpose: str, tenant_id: str) -> bytes:
    return hmac.new(DEV_KEY_SECRET, f"{purpose}\0{tenant_id}".encode(), hashlib.sha256).digest()


def dev_key(tenant_id: str) -> NewKey:
    """The dev key of ``tenant_id``: the same for the same name, on any machine, on every start."""
    digest = int.from_bytes(_derive("key id", tenant_id), "big")
    length = KEY_ID_LENGTH - len(DEV_KEY_ID_PREFIX)
    key_id = DEV_KEY_ID_PREFIX + "".join(
        KEY_ID_ALPHABET[(digest >> (_BITS_PER_CHARACTER * n)) % len(KEY_ID_ALPHABET)] for n in range(length)
    )
    secret = base64.urlsafe_b64encode(_derive("secret", tenant_id)).rstrip(b"=").decode("ascii")
    return NewKey(key_id=key_id, secret=secret, token=f"{TOKEN_PREFIX}{key_id}_{secret}")


def _endpoint_host(client: Any) -> str:
    endpoint = str(getattr(getattr(client, "meta", None), "endpoint_url", "") or "")
    return urlsplit(endpoint).hostname or endpoint


def seed_dev_keys(keys: KeyStore, client: Any, tenants: Iterable[str]) -> dict[str, str]:
    """Store each tenant's dev key in ``keys`` (whose DynamoDB client is ``client``); tenant → token.

    Raises:
        DevKeysError: ``client`` does not talk to an endpoint on this machine (dev keys are public).
        KeyStoreError: the table could not be written.
    """
    host = _endpoint_host(client)
    if host not in LOCAL_HOSTS:
        raise DevKeysError(
            f"refusing to store dev keys in the key table at {host or 'the default AWS endpoint'}: "
            "dev keys are derived from a public secret and are only for local mode's embedded AWS"
        )
    return {tenant: keys.create(tenant, DEV_KEY_DESCRIPTION, key=dev_key(tenant)).token for tenant in tenants}
