"""``modelrouter audit``: what the router did with one request, or with a tenant's requests of a time window.

``--request-id ID`` finds the request's records through the provenance table's ``by_request_id`` index
(keys only), reads each whole and prints it readably (decision, candidates and why others were left out,
attempts, checks, cost, latency, feedback) or as JSON. ``--tenant T`` lists the tenant's records of
``[--since, --until)`` (default: the last 24 hours), newest first, filtered by ``--model`` (answered or
chosen) and ``--outcome`` on the server side, at most ``--limit``, with totals. The table comes from
``--table``, ``PROVENANCE_TABLE`` or, with ``--local``, the running local stack.

Exit status: 0 found, 1 no such request (or the table cannot be read), 2 a usage error (a malformed id or
time, no table).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from modelrouter import env_names
from modelrouter.audit.inputs import (
    InputError,
    TimeSpec,
    argument_type,
    identifier,
    resolve,
    shown,
    time_spec,
)
from modelrouter.cli.aws_target import add_local_option, aws_target
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

__all__ = ["DEFAULT_LIMIT", "DEFAULT_SINCE", "EXAMPLES", "MAX_LIMIT", "TABLE_ENV", "add_parser", "run"]

TABLE_ENV: Final = env_names.PROVENANCE_TABLE
"""Environment variable naming the provenance table when ``--table`` is not given."""
DEFAULT_SINCE: Final = timedelta(hours=24)
"""How far back ``--tenant`` looks without ``--since``."""
DEFAULT_LIMIT: Final = 100
"""Records listed without ``--limit``."""
MAX_LIMIT: Final = 10_000
"""Most records one listing may hold."""

EXAMPLES = """examples:
  modelrouter audit --local --request-id 4f1c2b9e-1d2a-4c5b-9e8f-0a1b2c3d4e5f    # one request, whole
  modelrouter audit --local --tenant acme-support --since 1h
  modelrouter audit --local --tenant acme-support --since 7d --outcome error --model gpt-4o-mini --json
  modelrouter audit --table my-provenance-table --tenant acme-support \\
      --since 2025-01-01 --until 2025-02-01 --limit 1000
"""
"""Shown at the end of ``modelrouter audit --help``."""


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InputError(f"not a number of records from 1 to {MAX_LIMIT}: {shown(text)}")
    return int(text)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``audit`` command to ``commands``."""
    audit = commands.add_parser(
        "audit",
        help="what the router did with a request, or a tenant's requests of a time window",
        description="One request's provenance record, whole and readable (--request-id), or a tenant's "
        "records of a time window as a table with totals (--tenant), from the provenance table.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = audit.add_mutually_exclusive_group(required=True)
    which.add_argument("--request-id", type=argument_type(lambda text: identifier(text, "request id")),
                       metavar="ID", help="one request: its whole record")  # fmt: skip
    which.add_argument("--tenant", type=argument_type(lambda text: identifier(text, "tenant")),
                       help="a tenant's records of a time window")  # fmt: skip
    audit.add_argument("--since", type=argument_type(time_spec), metavar="ISO|AGE",
                       help="requests started at or after (ISO 8601, UTC unless an offset; or 1h, 7d …; "
                            "default 24h)")  # fmt: skip
    audit.add_argument("--until", type=argument_type(time_spec), metavar="ISO|AGE",
                       help="requests started before (default: now)")  # fmt: skip
    audit.add_argument("--model", type=argument_type(lambda text: identifier(text, "model")),
                       help="only requests this model answered or was chosen for")  # fmt: skip
    audit.add_argument("--outcome", choices=["refused", "error", "success"], help="only this outcome")
    limits = f"default {DEFAULT_LIMIT}, at most {MAX_LIMIT}"
    audit.add_argument("--limit", type=argument_type(_limit), default=DEFAULT_LIMIT,
                       help=f"most records to list ({limits})")  # fmt: skip
    audit.add_argument("--json", action="store_true", help="print JSON instead of text")
    audit.add_argument("--table", help=f"provenance table name (default: ${TABLE_ENV})")
    audit.add_argument("--endpoint-url", help="AWS endpoint (DynamoDB Local, moto server)")
    add_local_option(audit)
    return audit


def run(args: argparse.Namespace, *, now: datetime | None = None) -> int:
    """Print what was asked for; returns the exit code (``now``: the moment ages count back from).

    Raises:
        LocalEnvError: ``--local`` and no local stack is running.
        ProvenanceReadError: the table could not be read (the caller prints it).
    """
    from modelrouter.audit.store import ProvenanceReader

    target = aws_target(args)
    table = args.table or target.setting(TABLE_ENV)
    if not table:
        print(f"error: no provenance table: pass --table, set {TABLE_ENV} or use --local", file=sys.stderr)
        return EXIT_USAGE
    reader = ProvenanceReader(table, target.client("dynamodb"))
    if args.request_id is not None:
        if any(value is not None for value in (args.since, args.until, args.model, args.outcome)):
            print("error: --since, --until, --model and --outcome go with --tenant, not --request-id",
                  file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        return _one_request(reader, args.request_id, as_json=args.json)
    moment = now if now is not None else datetime.now(UTC)
    since_spec: TimeSpec = args.since if args.since is not None else DEFAULT_SINCE
    since, until = resolve(since_spec, moment), resolve(args.until or timedelta(0), moment)
    if since >= until:
        print(f"error: --since ({since.isoformat()}) must be before --until ({until.isoformat()})",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    return _listing(reader, args, since, until)


def _one_request(reader: Any, request_id: str, *, as_json: bool) -> int:
    from modelrouter.audit.render import render_record

    records = reader.by_request_id(request_id)
    if not records:
        print(f"error: no provenance record of request {shown(request_id)} in table {reader.table}",
              file=sys.stderr)  # fmt: skip
        return EXIT_REJECTED
    if as_json:
        print(json.dumps({"request_id": request_id, "records": records}, indent=2, default=str))
    else:
        print("\n\n".join(render_record(record) for record in records))
    return EXIT_OK


def _listing(reader: Any, args: argparse.Namespace, since: datetime, until: datetime) -> int:
    from modelrouter.audit.listing import LISTING_ATTRIBUTES, totals
    from modelrouter.audit.render import render_listing
    from modelrouter.audit.store import WindowQuery

    query = WindowQuery(args.tenant, since, until, model=args.model, outcome=args.outcome)
    window = reader.window(query, attributes=LISTING_ATTRIBUTES, limit=args.limit)
    summary = totals(window.records)
    if args.json:
        document = {
            "tenant_id": args.tenant,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "filters": {"model": args.model, "outcome": args.outcome},
            "limit": args.limit,
            "truncated": window.truncated,
            "records": window.records,
            "totals": summary.as_json(),
        }
        print(json.dumps(document, indent=2, default=str))
    else:
        span = f"{since.isoformat(timespec='milliseconds')} to {until.isoformat(timespec='milliseconds')}"
        print(f"tenant {args.tenant} · {span}")
        print(render_listing(window.records, summary, truncated=window.truncated))
    return EXIT_OK
