"""``modelrouter policy push``: validate a policy file and upload it as the active policy in S3.

The bytes uploaded are the bytes validated (read once, checked by the policy loader's
:func:`~modelrouter.policy.loader.parse_policy`, which is what ``load_policy_file`` runs on a file's
bytes). An invalid policy is never uploaded. The bucket should be versioned (the template's is): the
new object version is printed, and the router picks it up at its next refresh.

The learned routers the policy names are checked where the router will read them, in the bucket: each
must exist (in the pinned version), match its ``sha256`` pin, parse, and know every model the policy maps;
otherwise nothing is uploaded. ``--upload-routers`` first uploads the artifact files next to the policy
file (checked the same way) to their keys.

``--local`` pushes to the running local stack (its bucket, key, endpoint and dummy credentials, from
``.modelrouter/local.env``), which picks the new version up within seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from modelrouter.policy.document import Policy

__all__ = ["BUCKET_ENV", "DEFAULT_KEY", "KEY_ENV", "add_arguments", "print_invalid", "push_policy", "run"]

DEFAULT_KEY = DEFAULT_POLICY_KEY
"""The object key when neither ``--key`` nor ``POLICY_KEY`` is given (the template's default)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``policy push`` to its parser."""
    parser.add_argument("file", type=Path, metavar="FILE", help="policy file (YAML or JSON)")
    parser.add_argument("--bucket", help=f"policy bucket (default: ${BUCKET_ENV})")
    parser.add_argument("--key", help=f"object key (default: ${KEY_ENV}, else {DEFAULT_KEY})")
    parser.add_argument("--endpoint-url", help="S3 endpoint (MinIO, moto server)")
    add_local_option(parser)
    parser.add_argument(
        "--upload-routers",
        action="store_true",
        help="upload the router artifacts the policy names (files relative to the policy file) first",
    )


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
    file: Path = args.file
    try:
        body = file.read_bytes()
    except OSError as error:
        print(f"error: {file}: cannot read policy file: {error.strerror or error}", file=sys.stderr)
        return EXIT_REJECTED
    return push_policy(target, bucket, key, body, file, upload_routers=args.upload_routers)


def push_policy(
    target: AwsTarget, bucket: str, key: str, body: bytes, file: Path | str, *, upload_routers: bool = False
) -> int:
    """Validate ``body`` (the bytes of the policy ``file``) and upload it to ``s3://bucket/key`` after
    checking the artifacts it names in the bucket (uploading ``file``'s neighbours first with
    ``upload_routers``); prints what it did and returns the exit code. What ``policy push`` and ``policy
    promote`` run."""
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
        print("warning: the bucket is not versioned: no version id", file=sys.stderr)
        print("version: none")
    else:
        print(f"version: {version}")
    return EXIT_OK


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
