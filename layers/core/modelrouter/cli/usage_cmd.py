"""``modelrouter usage``: tenants' spend by day, route and model against their budgets, for operators.

The figures are :func:`modelrouter.accounting.usage_read.read_usage`'s, the same computation as
``GET /v1/usage?breakdown=true``: today and the month (settled spend and open holds apart, each limit and
what remains), then the month (``--month YYYY-MM``, default the current UTC month) by day, by route and
by model, with requests and cost per successful outcome (spend divided by the requests that passed their
checks and, where rated, were rated good: :mod:`modelrouter.outcome_cost`). The budget table comes from
``--table``, ``BUDGET_TABLE`` or, with ``--local``, the running local stack; the provenance table from
``--provenance-table``, ``PROVENANCE_TABLE`` or the local stack; the budgets from the policy
(``--policy FILE``, else the active one in the policy bucket).
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from modelrouter import env_names
from modelrouter.audit.inputs import argument_type, month_start
from modelrouter.cli.aws_target import add_local_option, aws_target, unknown_tenant_message
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

if TYPE_CHECKING:
    from modelrouter.accounting.usage import PeriodUsage
    from modelrouter.accounting.usage_breakdown import DayUsage, GroupUsage
    from modelrouter.accounting.usage_read import UsageReport

__all__ = ["EXAMPLES", "PROVENANCE_TABLE_ENV", "TABLE_ENV", "add_parser", "run"]

TABLE_ENV = env_names.BUDGET_TABLE
"""Environment variable naming the budget table when ``--table`` is not given."""
PROVENANCE_TABLE_ENV = env_names.PROVENANCE_TABLE
"""Environment variable naming the provenance table when ``--provenance-table`` is not given."""

EXAMPLES = """examples:
  modelrouter usage --local                        # every tenant of the running local stack
  modelrouter usage --tenant acme-support --local  # one tenant
  modelrouter usage --tenant acme-support --month 2025-01 --local --json
  modelrouter usage --table modelrouter-budgets --provenance-table modelrouter-provenance \\
      --policy policies/example.yaml --json
"""
"""Shown at the end of ``modelrouter usage --help``."""

_DAY_COLUMNS = ["day", "requests", "spent", "held", "limit", "remaining"]
_GROUP_COLUMNS = ["requests", "spent", "successful", "per success"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``usage`` command to ``commands``."""
    usage = commands.add_parser(
        "usage",
        help="tenants' spend by day, route and model against their budgets",
        description="Spend (settled), open holds (reserved, not yet settled), limit and what remains, "
        "today and in the month, per tenant; the month by day, route and model with requests and cost "
        "per successful outcome: the figures GET /v1/usage?breakdown=true gives each tenant.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    usage.add_argument("--tenant", help="only this tenant (default: every tenant of the policy)")
    usage.add_argument("--month", type=argument_type(month_start), metavar="YYYY-MM",
                       help="the month to break down (default: the current UTC month)")  # fmt: skip
    usage.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="read the budgets from this policy file (default: the policy in the policy bucket)",
    )
    usage.add_argument("--table", help=f"budget table name (default: ${TABLE_ENV})")
    usage.add_argument("--provenance-table", help=f"provenance table name (default: ${PROVENANCE_TABLE_ENV})")
    usage.add_argument("--endpoint-url", help="AWS endpoint (DynamoDB Local, moto server)")
    usage.add_argument("--json", action="store_true", help="print JSON (one object per tenant, in a list)")
    add_local_option(usage)
    return usage


def run(args: argparse.Namespace) -> int:
    """Print the usage of the tenants asked for; returns the exit code.

    Raises:
        BudgetStoreError: the budget table could not be read (the caller prints it).
        ProvenanceReadError: the provenance table could not be read (the caller prints it).
        LocalEnvError: ``--local`` and no local stack is running.
        PolicyError: the policy could not be read or is invalid.
    """
    from modelrouter.accounting.store import BudgetStore
    from modelrouter.accounting.usage_read import read_usage
    from modelrouter.audit.store import ProvenanceReader

    target = aws_target(args)
    table = args.table or target.setting(TABLE_ENV)
    records = args.provenance_table or target.setting(PROVENANCE_TABLE_ENV)
    if not table:
        print(f"error: no budget table: pass --table, set {TABLE_ENV} or use --local", file=sys.stderr)
        return EXIT_USAGE
    if not records:
        print(f"error: no provenance table: pass --provenance-table, set {PROVENANCE_TABLE_ENV} or use "
              "--local", file=sys.stderr)  # fmt: skip
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
    client = target.client("dynamodb")
    store, provenance = BudgetStore(table, client), ProvenanceReader(records, client)
    reports = [read_usage(store, provenance, tenant, month=args.month) for tenant in tenants]
    if args.json:
        print(json.dumps([report.as_json() for report in reports], indent=2))
    else:
        print("\n\n".join(_text(report) for report in reports))
    return EXIT_OK


def _money(amount: Decimal | None) -> str:
    from modelrouter.accounting.records import format_usd

    return "-" if amount is None else format_usd(amount)


def _figures(name: str, period: PeriodUsage) -> str:
    resets = period.resets_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"  {name} {period.label}: spent {_money(period.spent_usd)}, held {_money(period.held_usd)}, "
        f"limit {_money(period.limit_usd)}, remaining {_money(period.remaining_usd)} (resets {resets} UTC)"
    )


def _groups(kind: str, groups: tuple[GroupUsage, ...]) -> list[str]:
    from modelrouter.cli.render import table

    if not groups:
        return []
    rows = [
        [group.name or "(none)", group.requests, _money(group.spent_usd), group.successful_outcomes,
         _money(group.cost_per_successful_outcome_usd)]
        for group in groups
    ]  # fmt: skip
    return ["", table([kind, *_GROUP_COLUMNS], rows)]


def _day_row(day: DayUsage) -> list[object]:
    figures = day.figures
    money = (figures.spent_usd, figures.held_usd, figures.limit_usd, figures.remaining_usd)
    return [figures.label, day.requests, *(_money(amount) for amount in money)]


def _text(report: UsageReport) -> str:
    from modelrouter.cli.render import table

    usage, month = report.usage, report.month
    lines = [f"{usage.tenant_id} · {month.figures.label} (as of {usage.as_of:%Y-%m-%d %H:%M} UTC)"]
    today = usage.periods["daily"]
    if today.label.startswith(month.figures.label):
        lines.append(_figures("today", today))
    lines.append(_figures("month", month.figures))
    lines.append(
        f"  {month.requests} requests settled, {month.refused} refused · {month.successful_outcomes} "
        f"successful outcomes · {_money(month.cost_per_successful_outcome_usd)} per successful outcome"
    )
    if month.ledger_gap_usd:
        lines.append(
            f"  warning: the month's spend and its ledger items differ by {_money(month.ledger_gap_usd)}"
        )
    if month.days:
        lines += ["", table(_DAY_COLUMNS, [_day_row(day) for day in month.days])]
    return "\n".join([*lines, *_groups("route", month.routes), *_groups("model", month.models)])
