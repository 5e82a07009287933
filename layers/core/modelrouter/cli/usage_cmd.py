"""``modelrouter usage``: tenants' spend today and this month against their budgets, for operators.

The figures are :func:`modelrouter.accounting.usage.tenant_usage`'s, the same computation as
``GET /v1/usage``: settled spend and open holds apart, each period's limit and what remains. The
budget table comes from ``--table``, ``BUDGET_TABLE`` or, with ``--local``, the running local stack;
the budgets from the policy (``--policy FILE``, else the object in the policy bucket:
``POLICY_BUCKET``/``POLICY_KEY`` or the local stack's).
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from modelrouter.cli.aws_target import add_local_option, aws_target, unknown_tenant_message
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

if TYPE_CHECKING:
    from modelrouter.accounting.usage import PeriodUsage, TenantUsage

__all__ = ["EXAMPLES", "TABLE_ENV", "add_parser", "run"]

TABLE_ENV = "BUDGET_TABLE"
"""Environment variable naming the budget table when ``--table`` is not given."""

EXAMPLES = """examples:
  modelrouter usage --local                        # every tenant of the running local stack
  modelrouter usage --tenant acme-support --local  # one tenant
  modelrouter usage --table modelrouter-budgets --policy policies/example.yaml --json
"""
"""Shown at the end of ``modelrouter usage --help``."""

_COLUMNS = ["tenant", "period", "spent", "held", "limit", "remaining", "resets (UTC)"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``usage`` command to ``commands``."""
    usage = commands.add_parser(
        "usage",
        help="tenants' spend today and this month against their budgets",
        description="Spend (settled), open holds (reserved, not yet settled), limit and what remains, "
        "today and this month, per tenant: the figures GET /v1/usage gives each tenant.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    usage.add_argument("--tenant", help="only this tenant (default: every tenant of the policy)")
    usage.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="read the budgets from this policy file (default: the policy in the policy bucket)",
    )
    usage.add_argument("--table", help=f"budget table name (default: ${TABLE_ENV})")
    usage.add_argument("--endpoint-url", help="AWS endpoint (DynamoDB Local, moto server)")
    usage.add_argument("--json", action="store_true", help="print JSON (one object per tenant, in a list)")
    add_local_option(usage)
    return usage


def run(args: argparse.Namespace) -> int:
    """Print the usage of the tenants asked for; returns the exit code.

    Raises:
        BudgetStoreError: the budget table could not be read (the caller prints it).
        LocalEnvError: ``--local`` and no local stack is running.
        PolicyError: the policy could not be read or is invalid.
    """
    from modelrouter.accounting.store import BudgetStore
    from modelrouter.accounting.usage import tenant_usage

    target = aws_target(args)
    table = args.table or target.setting(TABLE_ENV)
    if not table:
        print(f"error: no budget table: pass --table, set {TABLE_ENV} or use --local", file=sys.stderr)
        return EXIT_USAGE
    active = target.policy(args.policy)
    if active is None:
        print("error: no policy for the budgets: pass --policy FILE, set POLICY_BUCKET or use --local",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    loaded, source = active
    tenants = loaded.policy.tenants
    if args.tenant is not None:
        refusal = unknown_tenant_message(args.tenant, loaded, source)
        if refusal is not None:
            print(f"error: {refusal}", file=sys.stderr)
            return EXIT_REJECTED
        tenants = [tenant for tenant in tenants if tenant.id == args.tenant]
    store = BudgetStore(table, target.client("dynamodb"))
    reports = [tenant_usage(store, tenant) for tenant in tenants]
    print(json.dumps([report.as_json() for report in reports], indent=2) if args.json else _table(reports))
    return EXIT_OK


def _money(amount: Decimal | None) -> str:
    from modelrouter.accounting.records import format_usd

    return "-" if amount is None else format_usd(amount)


def _row(tenant_id: str, period: PeriodUsage) -> list[str]:
    resets = period.resets_at.strftime("%Y-%m-%d %H:%M")
    money = [period.spent_usd, period.held_usd, period.limit_usd, period.remaining_usd]
    return [tenant_id, period.label, *(_money(amount) for amount in money), resets]


def _table(reports: list[TenantUsage]) -> str:
    from modelrouter.cli.render import table

    rows = [_row(report.tenant_id, period) for report in reports for period in report.periods.values()]
    return table(_COLUMNS, rows, indent="")
