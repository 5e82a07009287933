"""Where ``keys``, ``usage`` and ``policy push`` reach AWS (explicit options, the environment, or the
local stack), and the active policy they check tenants against: the version the active pointer
(``control/active.json``) names, as routers load it.

Without ``--local``, names (``API_KEY_TABLE``, ``POLICY_BUCKET``, ``POLICY_KEY``) come from the
environment and boto3 finds credentials, region and endpoint as usual. With ``--local`` they come from
``.modelrouter/local.env``, which a running ``modelrouter serve`` writes: the embedded AWS endpoint,
its region and dummy credentials, the bucket and table names. Explicit options (``--table``,
``--bucket``, ``--endpoint-url``) win over both.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelrouter import env_names
from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY
from modelrouter.aws import describe_aws_error  # re-exported: the CLI's commands import it from here

if TYPE_CHECKING:
    from pathlib import Path

    from modelrouter.policy.loader import LoadedPolicy

__all__ = [
    "BUCKET_ENV",
    "DEFAULT_POLICY_KEY",
    "KEY_ENV",
    "POINTER_ENV",
    "AwsTarget",
    "add_local_option",
    "aws_target",
    "describe_aws_error",
    "unknown_tenant_message",
]

BUCKET_ENV = env_names.POLICY_BUCKET
"""Variable naming the policy bucket."""
KEY_ENV = env_names.POLICY_KEY
"""Variable naming the key policies are uploaded to (under ``incoming/``)."""
DEFAULT_POLICY_KEY = DEFAULT_UPLOAD_KEY
"""The upload key when ``POLICY_KEY`` is not set (the template's default)."""
POINTER_ENV = env_names.POLICY_POINTER_KEY
"""Variable naming the active pointer's key (default ``control/active.json``)."""
_ENDPOINT = env_names.AWS_ENDPOINT_URL
_REGION = env_names.AWS_REGION
_ACCESS_KEY = env_names.AWS_ACCESS_KEY_ID
_SECRET_KEY = env_names.AWS_SECRET_ACCESS_KEY


def add_local_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--local``: use the running local stack (``.modelrouter/local.env``)."""
    parser.add_argument(
        "--local",
        action="store_true",
        help="use the local stack of a running `modelrouter serve` (.modelrouter/local.env): its "
        "endpoint, region, dummy credentials, bucket and tables",
    )


@dataclass(frozen=True, slots=True)
class AwsTarget:
    """The AWS a command talks to."""

    endpoint_url: str | None
    """The endpoint every client uses (``--endpoint-url``, or the local stack's); ``None``: boto3's."""
    local: Mapping[str, str] | None = field(default=None)
    """The local stack's variables (``--local``); ``None``: the environment and boto3's defaults."""

    def setting(self, name: str) -> str | None:
        """A variable of the local stack with ``--local``, else of the environment."""
        source = self.local if self.local is not None else os.environ
        return source.get(name) or None

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` (with the local stack's region and credentials under
        ``--local``)."""
        import boto3

        if self.local is None:
            return boto3.session.Session().client(service, endpoint_url=self.endpoint_url)
        session = boto3.session.Session(
            aws_access_key_id=self.local.get(_ACCESS_KEY),
            aws_secret_access_key=self.local.get(_SECRET_KEY),
            region_name=self.local.get(_REGION),
        )
        return session.client(service, endpoint_url=self.endpoint_url)

    def policy_location(self, bucket: str | None = None, key: str | None = None) -> tuple[str, str] | None:
        """The policy bucket and the key uploads go to (explicit ones first); ``None`` when no bucket is
        known."""
        bucket = bucket or self.setting(BUCKET_ENV)
        if bucket is None:
            return None
        return bucket, key or self.setting(KEY_ENV) or DEFAULT_POLICY_KEY

    def pointer_key(self) -> str:
        """The active pointer's key."""
        return self.setting(POINTER_ENV) or POINTER_KEY

    def active_policy(self, bucket: str) -> LoadedPolicy:
        """The active policy of ``bucket`` (the version its pointer names), checked.

        Raises:
            PolicyError: there is no active policy, it cannot be read, or it is not valid.
        """
        return self._active(bucket)[0]

    def _active(self, bucket: str) -> tuple[LoadedPolicy, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        from modelrouter.activation.control import ControlStore, VersionMissingError
        from modelrouter.errors import PolicyError
        from modelrouter.policy.loader import MAX_POLICY_BYTES, parse_policy
        from modelrouter.problems import Problem

        store = ControlStore(self.client("s3"), bucket, self.pointer_key())
        source = f"s3://{bucket}/{store.pointer_key}"
        try:
            read = store.read_pointer()
            if read.pointer is None:
                why = read.problem or "no policy is active yet: push one with `modelrouter policy push FILE`"
                raise PolicyError([Problem("", why)], source)
            source = f"s3://{bucket}/{read.pointer.version.label()}"
            body = store.read_version(read.pointer.version, MAX_POLICY_BYTES)
        except (BotoCoreError, ClientError) as error:
            raise PolicyError([Problem("", f"cannot read it: {describe_aws_error(error)}")], source) from None
        except VersionMissingError as error:
            raise PolicyError([Problem("", str(error))], source) from None
        return parse_policy(body, source), source

    def policy(self, file: Path | None) -> tuple[LoadedPolicy, str] | None:
        """``--policy FILE``, else the active policy of the bucket, with where it came from
        (``s3://bucket/key@version``); ``None`` when there is neither.

        Raises:
            PolicyError: it cannot be read, or it is not a valid policy.
        """
        if file is not None:
            from modelrouter.policy.loader import load_policy_file

            return load_policy_file(file), str(file)
        location = self.policy_location()
        if location is None:
            return None
        return self._active(location[0])


def unknown_tenant_message(tenant: str, loaded: LoadedPolicy, source: str) -> str | None:
    """Why ``tenant`` is refused (not in the policy ``loaded`` from ``source``, with the closest
    tenant), or ``None`` when the policy has it."""
    tenants = [t.id for t in loaded.policy.tenants]
    if tenant in tenants:
        return None
    from modelrouter.suggest import did_you_mean

    known = ", ".join(tenants)
    return f"unknown tenant '{tenant}'{did_you_mean(tenant, tenants)}; tenants: {known} (policy {source})"


def aws_target(args: argparse.Namespace) -> AwsTarget:
    """The target of a command's ``--local`` and ``--endpoint-url`` options.

    Raises:
        LocalEnvError: ``--local`` and no local stack is running.
    """
    local: dict[str, str] | None = None
    if getattr(args, "local", False):
        from modelrouter.local.local_env import read_local_env

        local = read_local_env()
    endpoint = getattr(args, "endpoint_url", None) or (local.get(_ENDPOINT) if local else None)
    return AwsTarget(endpoint, local)
