"""``modelrouter drift report``: the drift function's comparison, on demand, against any provenance table.

The recent window is ``--since``/``--until`` (``--until`` defaults to now, ``--since`` to ``--until``
minus ``--recent``, 1h), the baseline the ``--baseline`` (24h) just before it; the table is ``--table``,
``PROVENANCE_TABLE`` or, with ``--local``, the running local stack's. The records are read through the
``by_time`` index and compared by :func:`modelrouter.drift.run_drift`, as the scheduled function does.

Exit status: 0 no drift, 1 drift found, 2 the report could not be made (a usage error such as a bad or
inverted window, no table, or a table that cannot be read).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from modelrouter import env_names
from modelrouter.cli.aws_target import add_local_option, aws_target, describe_aws_error
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

if TYPE_CHECKING:
    from modelrouter.drift import DriftReport, DriftWindows
    from modelrouter.drift.report import WindowSummary

__all__ = ["EXAMPLES", "EXIT_DRIFT", "TABLE_ENV", "add_parser", "render_report", "run"]

TABLE_ENV: Final = env_names.PROVENANCE_TABLE
"""Environment variable naming the provenance table when ``--table`` is not given."""
EXIT_DRIFT: Final = EXIT_REJECTED
"""Exit status when drift was found (a script can alert on it)."""
EXAMPLES: Final = """examples:
  modelrouter drift report --local                           # the last hour against the day before it
  modelrouter drift report --local --recent 30m --baseline 6h --json
  modelrouter drift report --table my-provenance-table --since 2026-03-02T09:00Z --until 2026-03-02T10:00Z
  PROVENANCE_TABLE=my-provenance-table modelrouter drift report --recent 2h"""
"""Shown at the end of ``modelrouter drift --help`` and ``drift report --help``."""
_MAX_TIME_CHARS: Final = 64
_EARLIEST_YEAR, _LATEST_YEAR = 2000, 2999
"""Times outside these years are refused (the windows before them could not be computed)."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``drift`` command (and its ``report`` action) to ``commands``."""
    drift = commands.add_parser(
        "drift",
        help="routing drift: a recent window of traffic against its baseline",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = drift.add_subparsers(dest="drift_command", required=True, metavar="ACTION")
    report = actions.add_parser(
        "report",
        help="compare a recent window with the baseline before it; exit 1 on drift",
        description="Per route × chosen model × language × difficulty band: routing shares, fallback, "
        "retry and check-failure rates, feedback quality and cost per successful request, recent "
        "against baseline, each a chi-square test at a Bonferroni level (docs/drift.md). Exit 0: no "
        "drift; 1: drift found; 2: the report could not be made.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "--since", metavar="ISO", help="start of the recent window (UTC unless it has an offset)"
    )
    report.add_argument("--until", metavar="ISO", help="end of the recent window (default: now)")
    report.add_argument(
        "--recent", metavar="DURATION", help="length of the recent window without --since (default 1h)"
    )
    report.add_argument(
        "--baseline", metavar="DURATION", default="24h", help="length of the baseline before it (default 24h)"
    )
    report.add_argument("--table", help=f"provenance table name (default: ${TABLE_ENV})")
    report.add_argument(
        "--max-records", metavar="N", help="records read per window at most (default 100000; then sampled)"
    )
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument("--endpoint-url", help="AWS endpoint (DynamoDB Local, moto server)")
    add_local_option(report)
    return drift


class _UsageError(ValueError):
    """An option that cannot be used; the message says which and why."""


def _moment(text: str, option: str) -> datetime:
    if len(text) > _MAX_TIME_CHARS or not text.isprintable():
        raise _UsageError(f"{option}: not an ISO 8601 time ({len(text)} characters)")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _UsageError(f"{option}: not an ISO 8601 time: {text!r} (e.g. 2026-03-02T09:00Z)") from None
    if not _EARLIEST_YEAR <= moment.year <= _LATEST_YEAR:
        raise _UsageError(f"{option}: {text!r} is outside the years {_EARLIEST_YEAR}-{_LATEST_YEAR}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _duration(text: str, option: str) -> timedelta:
    from modelrouter.drift import parse_duration

    if len(text) > _MAX_TIME_CHARS or not text.isprintable():
        raise _UsageError(f"{option}: not a duration ({len(text)} characters; e.g. 1h, 30m, 1d12h)")
    try:
        return parse_duration(text)
    except ValueError as error:
        raise _UsageError(f"{option}: {error}") from None


def _windows(args: argparse.Namespace, now: datetime) -> DriftWindows:
    """The windows the options name.

    Raises:
        _UsageError: a bad time or duration, --since with --recent, or an inverted or too long window.
    """
    from modelrouter.drift import DEFAULT_RECENT, DriftWindows, Window

    if args.since is not None and args.recent is not None:
        raise _UsageError("give --since or --recent, not both (--since starts the recent window)")
    until = _moment(args.until, "--until") if args.until is not None else now
    baseline = _duration(args.baseline, "--baseline")
    recent = _duration(args.recent, "--recent") if args.recent is not None else DEFAULT_RECENT
    since = _moment(args.since, "--since") if args.since is not None else until - recent
    if since >= until:
        raise _UsageError(
            f"the window is inverted: --since {since.isoformat()} is not before --until {until.isoformat()}"
        )
    try:
        return DriftWindows.before(Window.between(since, until), baseline)
    except ValueError as error:
        raise _UsageError(str(error).splitlines()[-1].strip()) from None


def _max_records(text: str | None) -> int:
    from modelrouter.drift.settings import MAX_RECORDS_PER_WINDOW

    if text is None:
        return MAX_RECORDS_PER_WINDOW
    if not text.isdigit() or not 1 <= int(text) <= 10_000_000:
        raise _UsageError(f"--max-records: not a number from 1 to 10000000: {text[:_MAX_TIME_CHARS]!r}")
    return int(text)


def run(args: argparse.Namespace, now: datetime | None = None) -> int:
    """Compare the windows and print the report; returns the exit status (see the module's docstring)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from modelrouter.drift import ATTRIBUTES_READ, Window, run_drift
    from modelrouter.local.local_env import LocalEnvError
    from modelrouter.provenance_window import WindowQuery, WindowReadError

    try:
        windows = _windows(args, now or datetime.now(UTC))
        cap = _max_records(args.max_records)
        target = aws_target(args)
        table = args.table or target.setting(TABLE_ENV)
        if not table:
            raise _UsageError(f"no provenance table: pass --table, set {TABLE_ENV} or use --local")
        client = target.client("dynamodb")

        def open_window(window: Window) -> WindowQuery:
            return WindowQuery(client, table, window.since, window.until, cap, ATTRIBUTES_READ)

        report: DriftReport = run_drift(open_window, windows)
    except (_UsageError, LocalEnvError, WindowReadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot read the provenance table: {describe_aws_error(error)}", file=sys.stderr)
        return EXIT_USAGE
    print(report.model_dump_json(indent=2) if args.json else render_report(report))
    return EXIT_DRIFT if report.drifted else EXIT_OK


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"${value:.6f}" if digits < 0 else f"{value:.{digits}g}"


def render_report(report: DriftReport) -> str:
    """The report as text: the windows, what was compared and skipped, each finding, each route."""
    from modelrouter.cli.render import table

    def window_line(name: str, summary: WindowSummary) -> str:
        window = summary.window
        sampled = " (capped: sampled)" if summary.truncated else ""
        bounds = f"{window.since.isoformat()} to {window.until.isoformat()}"
        return f"{name}: {bounds}: {summary.records} records, {summary.queries} queries{sampled}"

    lines = [window_line("recent  ", report.recent), window_line("baseline", report.baseline)]
    level = f"each at {report.test_alpha:.2g}" if report.test_alpha is not None else "none run"
    lines.append(
        f"segments: {report.segments_compared} compared, {report.segments_skipped} skipped as thin (fewer "
        f"than {report.thresholds.min_records} requests in a window); {report.tests} tests, family level "
        f"{report.thresholds.family_alpha:g} ({level})"
    )
    for name, summary in (("recent", report.recent), ("baseline", report.baseline)):
        for reason, count in summary.skipped.items():
            lines.append(f"skipped {count} {name} records: {reason}")
    if report.findings:
        lines += ["", f"DRIFT: {len(report.findings)} shifts past the threshold"]
        rows = [
            [f.segment.label(), f.metric.value + (f" ({f.detail})" if f.detail else ""),
             _number(f.baseline, 4), _number(f.recent, 4), f"{f.baseline_count}/{f.recent_count}",
             f"{f.statistic:.1f}", f"{f.threshold:.1f}", f"{f.p_value:.2g}"]
            for f in report.findings
        ]  # fmt: skip
        headers = ["segment", "metric", "baseline", "recent", "n", "statistic", "threshold", "p-value"]
        lines.append(table(headers, rows))
    else:
        lines += ["", "no drift"]
    if report.routes:
        route_rows: list[list[object]] = [
            [r.route, r.recent_records, _number(r.spend_usd, -1), r.successful_outcomes,
             _number(r.cost_per_successful_outcome, -1), r.tests, r.findings, _number(r.drift_score, 3)]
            for r in report.routes
        ]  # fmt: skip
        headers = ["route", "recent", "spend", "successful", "per success", "tests", "drifted", "drift score"]
        lines += ["", "routes (recent window; drift score: largest statistic / threshold):"]
        lines.append(table(headers, route_rows))
    return "\n".join(lines)
