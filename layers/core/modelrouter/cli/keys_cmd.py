"""``modelrouter keys``: create, revoke and list tenant API keys in the key table.

The table comes from ``--table``, ``API_KEY_TABLE`` or, with ``--local``, the running local stack
(:mod:`modelrouter.cli.aws_target`). Store failures (no table, no credentials, throttling) are
:class:`~modelrouter.keys.KeyStoreError`, which the entry point prints as one line.

``keys create`` refuses a tenant the active policy lacks (a key for it could never be used): the
policy is ``--policy FILE``, else the object in the policy bucket (``POLICY_BUCKET``/``POLICY_KEY``, or
the local stack's with ``--local``). With neither, the tenant is not checked, and a warning says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modelrouter import env_names
from modelrouter.cli.aws_target import add_local_option, aws_target, unknown_tenant_message
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

if TYPE_CHECKING:
    from modelrouter.keys import KeyStore

__all__ = ["TABLE_ENV", "add_parser", "run"]

TABLE_ENV = env_names.API_KEY_TABLE
"""Environment variable naming the key table when ``--table`` is not given."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``keys`` command (and its ``create``, ``revoke``, ``list`` actions) to ``subparsers``."""
    keys = subparsers.add_parser("keys", help="create, revoke and list tenant API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create a key for a tenant; prints its token once")
    create.add_argument("--tenant", required=True, help="tenant id of the active policy")
    create.add_argument("--description", default="", help="what the key is for (shown by 'keys list')")
    create.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="check the tenant against this policy file (default: the policy in the policy bucket)",
    )
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
    parser.add_argument("--endpoint-url", help="AWS endpoint (DynamoDB Local, moto server)")
    add_local_option(parser)


def run(args: argparse.Namespace) -> int:
    """Run a ``keys`` action; returns the exit code.

    Raises:
        KeyStoreError: the table could not be read or written (the caller prints it).
        InvalidKeyFieldError: the tenant id or description is not acceptable.
        LocalEnvError: ``--local`` and no local stack is running.
        PolicyError: the active policy could not be read or is invalid.
    """
    from modelrouter.keys import KeyStore

    target = aws_target(args)
    table = args.table or target.setting(TABLE_ENV)
    if not table:
        print(f"error: no key table: pass --table, set {TABLE_ENV} or use --local", file=sys.stderr)
        return EXIT_USAGE
    client = target.client("dynamodb") if target.local is not None else None  # else created on first use
    store = KeyStore(table, client=client, endpoint_url=target.endpoint_url)
    if args.keys_command == "create":
        active = target.policy(args.policy)
        refusal = unknown_tenant_message(args.tenant, *active) if active is not None else None
        if refusal is not None:
            print(f"error: {refusal}", file=sys.stderr)
            return EXIT_REJECTED
        return _create(store, args.tenant, args.description, checked=active is not None)
    if args.keys_command == "revoke":
        return _revoke(store, args.key_id)
    return _list(store, args.tenant)


def _create(store: KeyStore, tenant: str, description: str, *, checked: bool) -> int:
    key = store.create(tenant, description)
    print(f"key id: {key.key_id}")
    print(f"tenant: {tenant}")
    print(f"token:  {key.token}")
    print("The token is shown only this once: store it now, it cannot be recovered.", file=sys.stderr)
    if not checked:
        print(
            f"warning: tenant '{tenant}' was not checked against a policy (pass --policy FILE, set "
            "POLICY_BUCKET or use --local)",
            file=sys.stderr,
        )
    return EXIT_OK


def _revoke(store: KeyStore, key_id: str) -> int:
    if not store.revoke(key_id):
        print(f"error: no key '{key_id}' in table '{store.table_name}'", file=sys.stderr)
        return EXIT_REJECTED
    print(f"revoked {key_id}")
    return EXIT_OK


def _list(store: KeyStore, tenant: str | None) -> int:
    from modelrouter.cli.render import table

    records = store.list(tenant)
    if not records:
        print("no keys" + (f" for tenant '{tenant}'" if tenant else ""))
        return EXIT_OK
    columns = ["key_id", "tenant_id", "status", "created_at", "revoked_at", "description"]
    rows = [[record.public()[column] or "-" for column in columns] for record in records]
    print(table(columns, rows, indent=""))
    return EXIT_OK
