"""``modelrouter outcomes export``: logged traffic as outcomes JSON Lines, from provenance and feedback.

The records come from the provenance table (``--table``, ``PROVENANCE_TABLE`` or, with ``--local``, the
running local stack's), one ``Query`` per tenant over the time range: ``--tenant``, else every tenant of
the policy (``--policy FILE``, else the active one in the policy bucket), else a ``Scan`` of the whole
table. At scale, ``--export`` reads a DynamoDB export of the table instead (a local directory or
``s3://bucket/prefix``). Either way each record goes through
:func:`~modelrouter.learning.export.write_outcomes` (the quality rule: feedback, else the implicit
reward), and a summary says what was written and skipped, and why.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrouter import env_names
from modelrouter.cli.aws_target import AwsTarget, add_local_option, aws_target, describe_aws_error
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from modelrouter.learning.dynamodb_export import DynamoDBExport
    from modelrouter.learning.export import ExportSummary, RecordFilter

__all__ = ["TABLE_ENV", "add_parser", "run"]

TABLE_ENV = env_names.PROVENANCE_TABLE
"""Environment variable naming the provenance table when ``--table`` is not given."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``outcomes`` command (and its ``export`` action) to ``commands``."""
    outcomes = commands.add_parser("outcomes", help="logged traffic as outcomes JSON Lines")
    actions = outcomes.add_subparsers(dest="outcomes_command", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write outcomes JSON Lines from provenance records and feedback",
        description="One outcome line per provenance record with a reward (its feedback, else its implicit "
        "outcome) and a stored prompt: model = the chosen model, with its propensity, for learn fit and "
        "off-policy evaluation. Records without a reward or a prompt are counted by reason.",
    )
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="the outcomes file to write")
    export.add_argument("--tenant", help="only this tenant (default: every tenant of the policy)")
    export.add_argument("--route", help="only records of this route")
    export.add_argument("--since", type=_moment, metavar="ISO", help="requests started at or after (UTC)")
    export.add_argument("--until", type=_moment, metavar="ISO", help="requests started before (UTC)")
    export.add_argument("--table", help=f"provenance table name (default: ${TABLE_ENV})")
    export.add_argument(
        "--export",
        metavar="DIR_OR_S3_URI",
        help="read a DynamoDB export of the provenance table (DynamoDB JSON) instead of the table",
    )
    export.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="the tenants to read come from this policy (default: the policy in the policy bucket)",
    )
    export.add_argument("--endpoint-url", help="AWS endpoint (DynamoDB Local, moto server)")
    add_local_option(export)
    return outcomes


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2025-01-31T12:00Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    """Write the outcomes file; returns the exit code.

    Raises:
        LocalEnvError: ``--local`` and no local stack is running.
        PolicyError: the policy naming the tenants cannot be read or is invalid.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from modelrouter.learning.dynamodb_export import ExportReadError
    from modelrouter.learning.export import RecordFilter

    if args.since is not None and args.until is not None and args.since >= args.until:
        print("error: --since must be before --until", file=sys.stderr)
        return EXIT_USAGE
    target = aws_target(args)
    record_filter = RecordFilter(args.tenant, args.route, args.since, args.until)
    try:
        source = _records(args, target, record_filter)
        if source is None:
            return EXIT_USAGE
        records, export = source
        summary = _write(args.out, records, record_filter)
    except ExportReadError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot read the records: {describe_aws_error(error)}", file=sys.stderr)
        return EXIT_REJECTED
    if export is not None:
        print(f"read {export.items_read} records from {export.files_read} data files of {args.export}")
        for name in export.checksum_mismatches:
            print(f"warning: {name}: its MD5 differs from the manifest's (a changed or partial copy?)")
    print(_summary(summary, args.out))
    return EXIT_OK


def _records(
    args: argparse.Namespace, target: AwsTarget, record_filter: RecordFilter
) -> tuple[Iterator[dict[str, Any]], DynamoDBExport | None] | None:
    """The records to export, and the export they come from (None: the table); None after a usage
    error was printed."""
    from modelrouter.learning.dynamodb_export import DynamoDBExport, table_records

    if args.export is not None:
        s3 = target.client("s3") if args.export.startswith("s3://") else None
        export = DynamoDBExport(args.export, s3)
        return export.records(), export
    table = args.table or target.setting(TABLE_ENV)
    if not table:
        print(f"error: no provenance table: pass --table or --export, set {TABLE_ENV} or use --local",
              file=sys.stderr)  # fmt: skip
        return None
    tenants: list[str] | None = [args.tenant] if args.tenant else None
    if tenants is None:
        active = target.policy(args.policy)
        if active is not None:
            tenants = [tenant.id for tenant in active[0].policy.tenants]
        else:
            print("note: no policy names the tenants (--policy, POLICY_BUCKET): scanning the whole table",
                  file=sys.stderr)  # fmt: skip
    return table_records(target.client("dynamodb"), table, record_filter, tenants), None


def _write(out: Path, records: Iterator[dict[str, Any]], record_filter: RecordFilter) -> ExportSummary:
    """Write the lines to a file next to ``out``, renamed into place once complete."""
    from modelrouter.learning.export import write_outcomes

    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            summary = write_outcomes(records, stream, record_filter)
        os.replace(partial, out)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return summary


def _summary(summary: ExportSummary, out: Path) -> str:
    sources = ", ".join(f"{source} {count}" for source, count in sorted(summary.sources.items()))
    lines = [
        f"wrote {summary.written} outcome lines to {out}" + (f" (quality from {sources})" if sources else "")
    ]
    if summary.skipped:
        lines.append(f"skipped {sum(summary.skipped.values())} records:")
        width = max(len(reason) for reason in summary.skipped)
        for reason, count in sorted(summary.skipped.items()):
            lines.append(f"  {reason.ljust(width)}  {count}")
    if summary.without_prompts:
        tenants = ", ".join(sorted(summary.without_prompts))
        lines.append(f"  tenants without store_prompts (their text is not kept, so not exported): {tenants}")
    if summary.outside:
        lines.append(f"left out by --tenant/--route/--since/--until: {summary.outside} records")
    return "\n".join(lines)
