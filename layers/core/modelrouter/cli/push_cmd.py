"""``modelrouter policy push``: validate a policy file and upload it as the active policy in S3.

The bytes uploaded are the bytes validated (read once, checked by the policy loader's
:func:`~modelrouter.policy.loader.parse_policy`, which is what ``load_policy_file`` runs on a file's
bytes). An invalid policy is never uploaded. The bucket should be versioned (the template's is): the
new object version is printed, and the router picks it up at its next refresh.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from modelrouter.errors import PolicyError

__all__ = ["BUCKET_ENV", "DEFAULT_KEY", "KEY_ENV", "add_arguments", "print_invalid", "run"]

BUCKET_ENV = "POLICY_BUCKET"
"""Environment variable naming the policy bucket when ``--bucket`` is not given."""
KEY_ENV = "POLICY_KEY"
"""Environment variable naming the object key when ``--key`` is not given."""
DEFAULT_KEY = "policies/active.yaml"
"""The object key when neither ``--key`` nor ``POLICY_KEY`` is given (the template's default)."""

_EXIT_OK = 0
_EXIT_REJECTED = 1
_EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``policy push`` to its parser."""
    parser.add_argument("file", type=Path, metavar="FILE", help="policy file (YAML or JSON)")
    parser.add_argument("--bucket", help=f"policy bucket (default: ${BUCKET_ENV})")
    parser.add_argument("--key", help=f"object key (default: ${KEY_ENV}, else {DEFAULT_KEY})")
    parser.add_argument("--endpoint-url", help="S3 endpoint (MinIO, moto server)")


def print_invalid(file: Path, error: PolicyError) -> None:
    """Print a policy's problems on stderr, as ``policy validate`` does."""
    print(f"{file}: invalid", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Validate ``args.file`` and upload it; returns the exit code (nothing is uploaded unless valid)."""
    from modelrouter.policy.loader import parse_policy

    bucket = args.bucket or os.environ.get(BUCKET_ENV)
    if not bucket:
        print(f"error: no policy bucket: pass --bucket or set {BUCKET_ENV}", file=sys.stderr)
        return _EXIT_USAGE
    key = args.key or os.environ.get(KEY_ENV) or DEFAULT_KEY
    file: Path = args.file
    try:
        body = file.read_bytes()
    except OSError as error:
        print(f"error: {file}: cannot read policy file: {error.strerror or error}", file=sys.stderr)
        return _EXIT_REJECTED
    try:
        loaded = parse_policy(body, str(file))
    except PolicyError as error:
        print_invalid(file, error)
        return _EXIT_REJECTED
    for warning in loaded.warnings:
        print(f"  warning: {warning}", file=sys.stderr)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        version = _upload(bucket, key, body, loaded.digest, endpoint_url=args.endpoint_url)
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot upload to s3://{bucket}/{key}: {_describe(error)}", file=sys.stderr)
        return _EXIT_REJECTED
    print(f"{file}: ok, uploaded to s3://{bucket}/{key} ({loaded.digest[:19]}…)")
    if version is None:
        print("warning: the bucket is not versioned: no version id", file=sys.stderr)
        print("version: none")
    else:
        print(f"version: {version}")
    return _EXIT_OK


def _upload(bucket: str, key: str, body: bytes, digest: str, *, endpoint_url: str | None) -> str | None:
    """PUT the policy; the new object's version id (``None`` on an unversioned bucket)."""
    import boto3

    content_type = "application/json" if key.lower().endswith(".json") else "application/yaml"
    client = boto3.session.Session().client("s3", endpoint_url=endpoint_url)
    response = client.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType=content_type,
        Metadata={"policy-digest": digest},
    )
    version: str | None = response.get("VersionId")
    return version


def _describe(error: Exception) -> str:
    """One line about a boto3 failure: the AWS error code and message, or the botocore message."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        details = response.get("Error", {})
        code = details.get("Code", "Unknown")
        message = details.get("Message", "")
        return f"{code}: {message}" if message else str(code)
    return " ".join(str(error).split()) or type(error).__name__
