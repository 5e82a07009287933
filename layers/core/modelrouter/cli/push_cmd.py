"""``modelrouter policy push``: validate a policy file, upload it under ``incoming/`` and wait for the
activator to activate (or reject) that version.

The bytes uploaded are the bytes validated (read once, checked by the policy loader's
:func:`~modelrouter.policy.loader.parse_policy`, which is what ``load_policy_file`` runs on a file's
bytes). An invalid policy is never uploaded. The bucket must be versioned (the template's is): the
upload's version id is printed, then the command waits (``--wait`` seconds, :data:`WAIT_SECONDS` by
default) for the activator's record of that version: ``activated`` (exit 0: routers pick it up at
their next refresh) or ``rejected`` with its problems (exit 1: the previous version stays active), as
the dry run and the bucket's artifacts decide. ``--no-wait`` returns after the upload.

The learned routers the policy names are checked where the router will read them, in the bucket: each
must exist (in the pinned version), match its ``sha256`` pin, parse, and know every model the policy maps;
otherwise nothing is uploaded. ``--upload-routers`` first uploads the artifact files next to the policy
file (checked the same way) to their keys.

``--local`` pushes to the running local stack (its bucket, key, endpoint and dummy credentials, from
``.modelrouter/local.env``), whose activator runs on each upload within seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from modelrouter.cli.aws_target import (
    BUCKET_ENV,
    DEFAULT_POLICY_KEY,
    KEY_ENV,
    AwsTarget,
    add_local_option,
    aws_target,
    describe_aws_error,
)
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from modelrouter.errors import PolicyError

if TYPE_CHECKING:
    from modelrouter.activation.layout import AttemptRecord, PolicyVersion
    from modelrouter.policy.document import Policy

__all__ = [
    "BUCKET_ENV",
    "DEFAULT_KEY",
    "KEY_ENV",
    "POLL_SECONDS",
    "WAIT_SECONDS",
    "add_arguments",
    "print_invalid",
    "push_policy",
    "run",
    "wait_for_record",
]

DEFAULT_KEY = DEFAULT_POLICY_KEY
"""The object key when neither ``--key`` nor ``POLICY_KEY`` is given (the template's default)."""
WAIT_SECONDS: Final = 60.0
"""How long ``policy push`` waits for the activator's record by default."""
POLL_SECONDS: Final = 0.5
"""How often it looks for the record while waiting."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``policy push`` to its parser."""
    parser.add_argument("file", type=Path, metavar="FILE", help="policy file (YAML or JSON)")
    parser.add_argument("--bucket", help=f"policy bucket (default: ${BUCKET_ENV})")
    parser.add_argument(
        "--key", help=f"object key, under incoming/ (default: ${KEY_ENV}, else {DEFAULT_KEY})"
    )
    parser.add_argument("--endpoint-url", help="S3 endpoint (MinIO, moto server)")
    add_local_option(parser)
    parser.add_argument(
        "--upload-routers",
        action="store_true",
        help="upload the router artifacts the policy names (files relative to the policy file) first",
    )
    waiting = parser.add_mutually_exclusive_group()
    waiting.add_argument(
        "--wait",
        type=_seconds,
        default=WAIT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for the activator's verdict (default {WAIT_SECONDS:.0f})",
    )
    waiting.add_argument(
        "--no-wait", action="store_true", help="return after the upload, without waiting for the activator"
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text[:40]!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("between 0 and 3600 seconds")
    return value


def print_invalid(file: Path | str, error: PolicyError) -> None:
    """Print a policy's problems on stderr, as ``policy validate`` does."""
    print(f"{file}: invalid", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Validate ``args.file`` and upload it; returns the exit code (nothing is uploaded unless valid).

    Raises:
        LocalEnvError: ``--local`` and no local stack is running.
    """
    target = aws_target(args)
    location = target.policy_location(args.bucket, args.key)
    if location is None:
        print(f"error: no policy bucket: pass --bucket, set {BUCKET_ENV} or use --local", file=sys.stderr)
        return EXIT_USAGE
    bucket, key = location
    from modelrouter.activation.layout import upload_key_problem

    if (problem := upload_key_problem(key)) is not None:
        print(f"error: --key: {problem}; the activator only activates uploads there", file=sys.stderr)
        return EXIT_USAGE
    file: Path = args.file
    try:
        body = file.read_bytes()
    except OSError as error:
        print(f"error: {file}: cannot read policy file: {error.strerror or error}", file=sys.stderr)
        return EXIT_REJECTED
    wait_s = None if args.no_wait else args.wait
    return push_policy(target, bucket, key, body, file, upload_routers=args.upload_routers, wait_s=wait_s)


def push_policy(
    target: AwsTarget,
    bucket: str,
    key: str,
    body: bytes,
    file: Path | str,
    *,
    upload_routers: bool = False,
    wait_s: float | None = WAIT_SECONDS,
) -> int:
    """Validate ``body`` (the bytes of the policy ``file``) and upload it to ``s3://bucket/key`` after
    checking the artifacts it names in the bucket (uploading ``file``'s neighbours first with
    ``upload_routers``), then wait up to ``wait_s`` seconds (None: not at all) for the activator's
    verdict; prints what it did and returns the exit code (0: uploaded and, when waiting, activated).
    What ``policy push`` and ``policy promote`` run."""
    from modelrouter.policy.loader import parse_policy

    try:
        loaded = parse_policy(body, str(file))
    except PolicyError as error:
        print_invalid(file, error)
        return EXIT_REJECTED
    for warning in loaded.warnings:
        print(f"  warning: {warning}", file=sys.stderr)
    from botocore.exceptions import BotoCoreError, ClientError

    from modelrouter.policy.artifacts import load_routers, load_topics, s3_fetcher

    client = target.client("s3")
    destination = f"s3://{bucket}"
    try:
        if upload_routers:
            _upload_routers(client, bucket, loaded.policy, Path(file))
        routers = load_routers(loaded.policy, s3_fetcher(client, bucket), source=destination)
        load_topics(loaded.policy, s3_fetcher(client, bucket), source=destination)
        destination = f"s3://{bucket}/{key}"
        version = _upload(client, bucket, key, body, loaded.digest)
    except PolicyError as error:
        print_invalid(file, error)
        return EXIT_REJECTED
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot upload to {destination}: {describe_aws_error(error)}", file=sys.stderr)
        return EXIT_REJECTED
    for ref, router in routers.items():
        print(f"router s3://{bucket}/{ref.key}: ok ({len(router.models)} models; {router.digest[:19]}…)")
    print(f"{file}: ok, uploaded to s3://{bucket}/{key} ({loaded.digest[:19]}…)")
    if version is None:
        print(
            "error: the bucket is not versioned: the activator cannot activate this upload", file=sys.stderr
        )
        print("version: none")
        return EXIT_REJECTED
    print(f"version: {version}")
    if wait_s is None:
        print("not waiting: `modelrouter policy history` shows whether it was activated")
        return EXIT_OK
    from modelrouter.activation.layout import PolicyVersion

    return _report(
        wait_for_record(target, bucket, PolicyVersion(key=key, version_id=version), wait_s), wait_s
    )


def wait_for_record(
    target: AwsTarget,
    bucket: str,
    version: PolicyVersion,
    wait_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AttemptRecord | None:
    """The activator's record of ``version`` once it exists, or None after ``wait_s`` seconds."""
    from botocore.exceptions import BotoCoreError, ClientError

    from modelrouter.activation.control import ControlStore

    store = ControlStore(target.client("s3"), bucket, target.pointer_key())
    deadline = clock() + wait_s
    while True:
        try:
            record = store.record_of(version)
        except (BotoCoreError, ClientError) as error:
            print(
                f"warning: cannot read the activation record yet: {describe_aws_error(error)}",
                file=sys.stderr,
            )
            record = None
        if record is not None or clock() >= deadline:
            return record
        sleep(min(POLL_SECONDS, max(0.0, deadline - clock())))


def _report(record: AttemptRecord | None, wait_s: float) -> int:
    """Print the activator's verdict; the exit code (0 only when activated)."""
    if record is None:
        print(
            f"error: no activation record after {wait_s:.0f} s: is the activator deployed (or `serve` "
            "running)? `modelrouter policy history` will show the verdict",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    if record.outcome == "activated":
        print(f"activated: routers load it at their next refresh ({record.digest or ''})")
        return EXIT_OK
    print(f"{record.outcome}: not active", file=sys.stderr)
    for problem in record.problems:
        print(f"  {problem}", file=sys.stderr)
    if record.problem_count > len(record.problems):
        print(f"  … and {record.problem_count - len(record.problems)} more", file=sys.stderr)
    return EXIT_REJECTED


def _upload_routers(client: Any, bucket: str, policy: Policy, file: Path) -> None:
    """PUT each artifact file the policy names (after checking it like the router will) to its key.

    Raises:
        PolicyError: a file is missing, does not match its pin or is not a valid router for the policy.
    """
    from modelrouter.policy.artifacts import load_local_routers, load_local_topics, local_artifact_files

    load_local_routers(policy, file)
    load_local_topics(policy, file)
    for ref, path in local_artifact_files(policy, file):
        if ref.version_id is not None:
            print(f"router {ref.key}: pinned by version id; not uploaded (that version must exist)")
            continue
        client.put_object(Bucket=bucket, Key=ref.key, Body=path.read_bytes(), ContentType="application/json")
        print(f"router {path} → s3://{bucket}/{ref.key}")


def _upload(client: Any, bucket: str, key: str, body: bytes, digest: str) -> str | None:
    """PUT the policy; the new object's version id (``None`` on an unversioned bucket)."""
    content_type = "application/json" if key.lower().endswith(".json") else "application/yaml"
    response = client.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType=content_type,
        Metadata={"policy-digest": digest},
    )
    version: str | None = response.get("VersionId")
    return version
