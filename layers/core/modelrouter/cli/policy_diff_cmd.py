"""``modelrouter policy diff A B``: what policy version B changes compared with A, semantically.

A and B are each a local policy file, a version id of the policy bucket's upload key (``--key``, else
``POLICY_KEY``, else ``incoming/policy.yaml``; the bucket from ``--bucket``, ``POLICY_BUCKET`` or
``--local``, as ``policy push`` finds them), or ``active``: the version the active pointer
(``control/active.json``) names. Both must be valid policies; the comparison is
:func:`modelrouter.policy.diff.diff_policies` (models, tenants and routes added, removed or changed field
by field, the routes' order, the routes each tenant may take, and the other settings), so formatting,
comments, key order and defaults written out make no difference.

Like ``diff``: exit 0 when they are the same policy, 1 when they differ, 2 when they cannot be compared (a
usage error, a version or file that cannot be read, an invalid policy: the message names which side).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from modelrouter.cli.aws_target import (
    BUCKET_ENV,
    KEY_ENV,
    AwsTarget,
    add_local_option,
    aws_target,
    describe_aws_error,
)
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from modelrouter.errors import PolicyError

if TYPE_CHECKING:
    from modelrouter.policy.diff import Change, PolicyDiff, SectionDiff
    from modelrouter.policy.loader import LoadedPolicy

__all__ = [
    "ACTIVE",
    "EXAMPLES",
    "EXIT_DIFFERENT",
    "SourceError",
    "add_parser",
    "read_side",
    "render_text",
    "run",
    "terminal_safe",
]

ACTIVE: Final = "active"
"""The argument naming the version the active pointer names."""
EXIT_DIFFERENT: Final = EXIT_REJECTED
"""The two policies differ (``diff``'s 1)."""
POLICY_SUFFIXES: Final = (".yaml", ".yml", ".json")
"""An argument ending like this is a file, never a version id."""
_BMP_LAST: Final = 0xFFFF

EXAMPLES: Final = """examples:
  modelrouter policy diff policies/example.yaml policies/local.yaml
  modelrouter policy diff active policies/example.yaml --local     # what pushing it would change
  modelrouter policy diff active 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY --bucket my-policy-bucket
  modelrouter policy diff active policies/example.yaml --local --json | jq .routes.changed
"""
"""Shown at the end of ``modelrouter policy diff --help``."""


class SourceError(Exception):
    """A side cannot be read or is not a valid policy (the message names it)."""


@dataclass(frozen=True, slots=True)
class Side:
    """One policy version, read and validated."""

    label: str
    """Where it came from: the file, ``s3://bucket/key@version``, or ``active: …``."""
    loaded: LoadedPolicy
    """The policy and its digest."""


def add_parser(policy_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy diff`` to the ``policy`` command's subcommands."""
    parser = policy_commands.add_parser(
        "diff",
        help="what a policy version changes: models, tenants, routes, settings (exit 1 when it does)",
        description="A semantic diff of two policies: models, tenants and routes added, removed or "
        "changed (each field, old → new), the routes' order, the routes each tenant may take, and the "
        "other settings. Exit 0: the same policy; 1: they differ; 2: they cannot be compared.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = "a policy file, a version id of the upload key, or 'active'"
    parser.add_argument("old", metavar="A", help=f"the version compared against: {where}")
    parser.add_argument("new", metavar="B", help=f"the version whose changes are shown: {where}")
    parser.add_argument("--json", action="store_true", help="print the diff as JSON")
    parser.add_argument(
        "--bucket", help=f"policy bucket, for version ids and 'active' (default: ${BUCKET_ENV})"
    )
    parser.add_argument(
        "--key", help=f"upload key the version ids are of (default: ${KEY_ENV}, else incoming/policy.yaml)"
    )
    parser.add_argument("--endpoint-url", help="S3 endpoint (MinIO, moto server)")
    add_local_option(parser)


def run(args: argparse.Namespace) -> int:
    """Compare ``args.old`` with ``args.new`` and print what changed; returns the exit code.

    Raises:
        LocalEnvError: ``--local`` and no local stack is running.
    """
    from modelrouter.policy.diff import diff_policies

    target = aws_target(args)
    try:
        old, new = (read_side(spec, target, args.bucket, args.key) for spec in (args.old, args.new))
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    diff = diff_policies(old.loaded.policy, new.loaded.policy)
    if args.json:
        document = {"a": _describe(old), "b": _describe(new), **diff.to_json()}
        print(terminal_safe(json.dumps(document, indent=2, ensure_ascii=False)))
    else:
        print(terminal_safe(render_text(diff, old, new)))
    return EXIT_OK if diff.equal else EXIT_DIFFERENT


def _describe(side: Side) -> dict[str, str]:
    return {"source": side.label, "digest": side.loaded.digest}


def read_side(spec: str, target: AwsTarget, bucket: str | None, key: str | None) -> Side:
    """The policy ``spec`` names (a file, a version id of the upload key, or ``active``), validated.

    Raises:
        SourceError: it cannot be found or read, or it is not a valid policy.
    """
    path = Path(spec)
    if spec != ACTIVE and (path.exists() or "/" in spec or spec.lower().endswith(POLICY_SUFFIXES)):
        return _validated(_read_file(path), str(path))
    from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, PolicyVersion, version_id_problem

    if spec != ACTIVE and version_id_problem(spec) is not None:
        raise SourceError(f"{spec!r} is neither a policy file, a version id nor '{ACTIVE}'")
    location = target.policy_location(bucket, key or target.setting(KEY_ENV) or DEFAULT_UPLOAD_KEY)
    if location is None:
        raise SourceError(f"{spec} is in the policy bucket: pass --bucket, set {BUCKET_ENV} or use --local")
    from botocore.exceptions import BotoCoreError, ClientError

    from modelrouter.activation.control import ControlStore, VersionMissingError
    from modelrouter.policy.loader import MAX_POLICY_BYTES

    store = ControlStore(target.client("s3"), location[0])
    version = PolicyVersion(key=location[1], version_id=spec)
    label = f"s3://{store.bucket}/{version.label()}"
    try:
        if spec == ACTIVE:
            read = store.read_pointer()
            if read.pointer is None:
                why = read.problem or "there is no active version yet"
                raise SourceError(f"active: s3://{store.bucket}/{store.pointer_key}: {why}")
            version = read.pointer.version
            label = f"active: s3://{store.bucket}/{version.label()}"
        body = store.read_version(version, MAX_POLICY_BYTES)
    except VersionMissingError as error:
        raise SourceError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise SourceError(f"{label}: cannot read it: {describe_aws_error(error)}") from None
    return _validated(body, label)


def _read_file(path: Path) -> bytes:
    """At most one byte more than a policy may have (a larger file is refused without reading it all)."""
    from modelrouter.policy.loader import MAX_POLICY_BYTES

    try:
        if not path.is_file():
            raise SourceError(f"{path}: no such policy file" if not path.exists() else f"{path}: not a file")
        with path.open("rb") as file:
            return file.read(MAX_POLICY_BYTES + 1)
    except OSError as error:
        raise SourceError(f"{path}: cannot read it: {error.strerror or error}") from None


def _validated(body: bytes, label: str) -> Side:
    from modelrouter.policy.loader import parse_policy

    try:
        return Side(label, parse_policy(body, label))
    except PolicyError as error:
        problems = "\n".join(f"  {problem}" for problem in error.problems)
        raise SourceError(f"{label}: not a valid policy\n{problems}") from None


# --- Text ------------------------------------------------------------------------------------------


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal could act on (control characters, C1 escapes such as
    CSI, bidirectional overrides) written as a ``\\uXXXX`` escape, line by line: a policy's text reaches
    the screen as text. Inside JSON strings that escape is JSON's own, so JSON stays valid."""
    return "\n".join("".join(map(_printable, line)) for line in text.split("\n"))


def _printable(char: str) -> str:
    if char.isprintable():
        return char
    code = ord(char)
    if code <= _BMP_LAST:
        return f"\\u{code:04x}"
    high, low = divmod(code - _BMP_LAST - 1, 0x400)  # a UTF-16 surrogate pair, as JSON writes it
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def _value(value: Any) -> str:
    from modelrouter.policy.diff import ABSENT

    return "(none)" if value is ABSENT else json.dumps(value, ensure_ascii=False)


def _change_line(change: Change, indent: str) -> str:
    from modelrouter.policy.diff import ABSENT

    if change.old is ABSENT:
        return f"{indent}+ {change.path}: {_value(change.new)}"
    if change.new is ABSENT:
        return f"{indent}- {change.path}: {_value(change.old)}"
    return f"{indent}~ {change.path}: {_value(change.old)} → {_value(change.new)}"


def _section_lines(title: str, section: SectionDiff) -> list[str]:
    if section.empty:
        return []
    lines = [title, *(f"  + {name}" for name in section.added), *(f"  - {name}" for name in section.removed)]
    for name, changes in section.changed.items():
        lines.append(f"  ~ {name}")
        lines.extend(_change_line(change, "      ") for change in changes)
    if section.order is not None:
        before, after = section.order
        moved = [f"{name} {before.index(name) + 1} → {after.index(name) + 1}" for name in after
                 if before.index(name) != after.index(name)]  # fmt: skip
        lines.append(f"  order (first match wins): {', '.join(moved)}")
    return lines


def render_text(diff: PolicyDiff, old: Side, new: Side) -> str:
    """The diff for a terminal: a header naming both sides, then each section that changed."""
    lines = [
        f"--- A: {old.label} ({old.loaded.digest[:19]}…)",
        f"+++ B: {new.label} ({new.loaded.digest[:19]}…)",
    ]
    if diff.equal:
        same = (
            "identical"
            if old.loaded.digest == new.loaded.digest
            else "the same policy (they differ in form only)"
        )
        return "\n".join([*lines, same])
    if diff.settings:
        lines.append("settings")
        lines.extend(_change_line(change, "  ") for change in diff.settings)
    lines += _section_lines("models", diff.models)
    lines += _section_lines("tenants", diff.tenants)
    lines += _section_lines("routes", diff.routes)
    if diff.tenant_routes:
        lines.append("routes per tenant")
        for tenant, routes in diff.tenant_routes.items():
            parts = [f"+ {name}" for name in routes.added] + [f"- {name}" for name in routes.removed]
            parts += [f"~ {name}" for name in routes.changed] + (["reordered"] if routes.reordered else [])
            lines.append(f"  {tenant}: {'; '.join(parts)}")
    return "\n".join(lines)
