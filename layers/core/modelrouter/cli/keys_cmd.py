"""``modelrouter keys``: create, revoke and list tenant API keys in the key table.

The table comes from ``--table`` or ``API_KEY_TABLE``. Store failures (no table, no credentials,
throttling) are :class:`~modelrouter.keys.KeyStoreError`, which the entry point prints as one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrouter.keys import KeyStore

__all__ = ["TABLE_ENV", "add_parser", "run"]

TABLE_ENV = "API_KEY_TABLE"
"""Environment variable naming the key table when ``--table`` is not given."""

_EXIT_OK = 0
_EXIT_REJECTED = 1
_EXIT_USAGE = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``keys`` command (and its ``create``, ``revoke``, ``list`` actions) to ``subparsers``."""
    keys = subparsers.add_parser("keys", help="create, revoke and list tenant API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create a key for a tenant; prints its token once")
    create.add_argument("--tenant", required=True, help="tenant id of the policy")
    create.add_argument("--description", default="", help="what the key is for (shown by 'keys list')")
    _table_options(create)

    revoke = actions.add_parser("revoke", help="revoke a key (it stays in the table for audit)")
    revoke.add_argument("key_id", metavar="KEY_ID")
    _table_options(revoke)

    listing = actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    _table_options(listing)
    return keys


def _table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", help=f"key table name (default: ${TABLE_ENV})")
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local, moto server)")


def run(args: argparse.Namespace) -> int:
    """Run a ``keys`` action; returns the exit code.

    Raises:
        KeyStoreError: the table could not be read or written (the caller prints it).
        InvalidKeyFieldError: the tenant id or description is not acceptable.
    """
    from modelrouter.keys import KeyStore

    table = args.table or os.environ.get(TABLE_ENV)
    if not table:
        print(f"error: no key table: pass --table or set {TABLE_ENV}", file=sys.stderr)
        return _EXIT_USAGE
    store = KeyStore(table, endpoint_url=args.endpoint_url)
    if args.keys_command == "create":
        return _create(store, args.tenant, args.description)
    if args.keys_command == "revoke":
        return _revoke(store, args.key_id)
    return _list(store, args.tenant)


def _create(store: KeyStore, tenant: str, description: str) -> int:
    key = store.create(tenant, description)
    print(f"key id: {key.key_id}")
    print(f"tenant: {tenant}")
    print(f"token:  {key.token}")
    print("The token is shown only this once: store it now, it cannot be recovered.", file=sys.stderr)
    return _EXIT_OK


def _revoke(store: KeyStore, key_id: str) -> int:
    if not store.revoke(key_id):
        print(f"error: no key '{key_id}' in table '{store.table_name}'", file=sys.stderr)
        return _EXIT_REJECTED
    print(f"revoked {key_id}")
    return _EXIT_OK


def _list(store: KeyStore, tenant: str | None) -> int:
    from modelrouter.cli.render import table

    records = store.list(tenant)
    if not records:
        print("no keys" + (f" for tenant '{tenant}'" if tenant else ""))
        return _EXIT_OK
    columns = ["key_id", "tenant_id", "status", "created_at", "revoked_at", "description"]
    rows = [[record.public()[column] or "-" for column in columns] for record in records]
    print(table(columns, rows, indent=""))
    return _EXIT_OK
