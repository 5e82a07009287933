"""``modelrouter policy history`` and ``policy rollback``: the activation attempts of a policy bucket,
and the way back to a version that was active.

``history`` reads ``control/history/`` newest first (``--limit``, one listing and a GET per record):
time, version, outcome, digest, what started it and the first problem; ``--json`` prints the records.
``rollback`` runs the activator's own rollback from this machine (with the caller's credentials): the
target (``--to VERSION``, a version id of the upload key, else the version active before the current
one) must have been active before, is checked again (artifacts may have changed since), and becomes the
pointer on condition the pointer did not change meanwhile; its event goes to EventBridge (a failure
there is a warning). Both take ``--bucket``/``--local``/``--endpoint-url`` as ``policy push`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Final

from modelrouter.cli.aws_target import BUCKET_ENV, add_local_option, aws_target, describe_aws_error
from modelrouter.cli.examples import EXAMPLES_HEADING
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

__all__ = ["COMMANDS", "DEFAULT_LIMIT", "MAX_LIMIT", "add_parsers", "run"]

DEFAULT_LIMIT: Final = 20
"""Records ``policy history`` shows by default."""
MAX_LIMIT: Final = 1000
"""Most records one ``policy history`` shows."""
PROBLEM_CHARS: Final = 80
"""The first problem is cut to this many characters in the table."""
COMMANDS: Final = ("history", "rollback")
"""The ``policy`` actions this module runs."""

_HISTORY_EXAMPLES = f"""{EXAMPLES_HEADING}
  modelrouter policy history --local                       # the running local stack's attempts
  modelrouter policy history --bucket my-policy-bucket --limit 50
  modelrouter policy history --bucket my-policy-bucket --json > history.json"""
_ROLLBACK_EXAMPLES = f"""{EXAMPLES_HEADING}
  modelrouter policy rollback --local                      # back to the version active before
  modelrouter policy rollback --bucket my-policy-bucket --to 3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"""


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_LIMIT}")
    return value


def _add(policy_commands: Any, name: str, summary: str, examples: str) -> argparse.ArgumentParser:
    """A ``policy`` action with its examples and the bucket options ``policy push`` has."""
    parser: argparse.ArgumentParser = policy_commands.add_parser(
        name, help=summary, epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bucket", help=f"policy bucket (default: ${BUCKET_ENV})")
    parser.add_argument("--endpoint-url", help="S3 endpoint (MinIO, moto server)")
    add_local_option(parser)
    return parser


def add_parsers(policy_commands: Any) -> None:
    """Add ``policy history`` and ``policy rollback`` to the ``policy`` subcommands."""
    history = _add(
        policy_commands, "history", "the activation attempts of uploads, newest first", _HISTORY_EXAMPLES
    )
    history.add_argument(
        "--limit", type=_limit, default=DEFAULT_LIMIT, help=f"records to show (default {DEFAULT_LIMIT})"
    )
    history.add_argument("--json", action="store_true", help="print the records as JSON")
    rollback = _add(
        policy_commands, "rollback", "re-activate a version that was active before (checked again first)",
        _ROLLBACK_EXAMPLES,
    )  # fmt: skip
    rollback.add_argument(
        "--to", metavar="VERSION", help="version id of the upload key (default: the one active before)"
    )
    rollback.add_argument("--key", help="the upload key --to names a version of (default: $POLICY_KEY)")


def run(args: argparse.Namespace) -> int:
    """Run ``policy history`` or ``policy rollback``; returns the exit code.

    Raises:
        LocalEnvError: ``--local`` and no local stack is running.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    target = aws_target(args)
    location = target.policy_location(args.bucket, getattr(args, "key", None))
    if location is None:
        print(f"error: no policy bucket: pass --bucket, set {BUCKET_ENV} or use --local", file=sys.stderr)
        return EXIT_USAGE
    try:
        return (
            _history(target, location[0], args)
            if args.policy_command == "history"
            else _rollback(target, *location, args)
        )
    except (BotoCoreError, ClientError) as error:
        print(f"error: s3://{location[0]}: {describe_aws_error(error)}", file=sys.stderr)
        return EXIT_REJECTED


def _history(target: Any, bucket: str, args: argparse.Namespace) -> int:
    from modelrouter.activation.control import ControlStore
    from modelrouter.cli.render import table

    records, _ = ControlStore(target.client("s3"), bucket, target.pointer_key()).history(args.limit)
    if args.json:
        print(json.dumps([record.model_dump(mode="json") for record in records], indent=2))
        return EXIT_OK
    if not records:
        print(f"no activation attempts in s3://{bucket} yet (push a policy: modelrouter policy push FILE)")
        return EXIT_OK
    rows = [
        (
            record.at,
            record.version_id,
            record.outcome,
            (record.digest or "")[:19],
            record.by,
            (record.problems[0][:PROBLEM_CHARS] if record.problems else ""),
        )
        for record in records
    ]
    print(table(["time", "version", "outcome", "digest", "by", "first problem"], rows))
    return EXIT_OK


def _rollback(target: Any, bucket: str, key: str, args: argparse.Namespace) -> int:
    from modelrouter.activation.activator import Activator, RollbackError
    from modelrouter.activation.control import ControlStore
    from modelrouter.activation.layout import PolicyVersion, upload_key_problem, version_id_problem
    from modelrouter.activation.notify import EventBridgeNotifier

    to = None
    if args.to is not None:
        if (problem := version_id_problem(args.to) or upload_key_problem(key)) is not None:
            print(f"error: --to: {problem}", file=sys.stderr)
            return EXIT_USAGE
        to = PolicyVersion(key=key, version_id=args.to)
    activator = Activator(
        ControlStore(target.client("s3"), bucket, target.pointer_key()),
        notifier=EventBridgeNotifier(target.client("events")),
        log=lambda message, fields: print(f"warning: {message}: {fields.get('error', '')}", file=sys.stderr),
    )
    try:
        record = activator.rollback(to)
    except RollbackError as error:
        print(f"error: not rolled back: {error}", file=sys.stderr)
        return EXIT_REJECTED
    if record.outcome != "rolled_back":
        print(
            f"error: not rolled back: {record.version.label()} does not pass the checks now:", file=sys.stderr
        )
        for problem in record.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_REJECTED
    was = f" (was {record.previous.label()})" if record.previous is not None else ""
    print(f"rolled back: {record.version.label()} is active{was}; routers load it at their next refresh")
    return EXIT_OK
