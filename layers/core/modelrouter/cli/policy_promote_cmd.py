"""``modelrouter policy promote``: a weighted route's challenger promoted by evidence.

It estimates the route's champion and challenger on logged outcomes (:mod:`modelrouter.training.ope_promote`);
when the route's ``promote_when`` holds, it swaps the two variants' models in the policy text (comments
kept, :mod:`modelrouter.cli.policy_rewrite`) and pushes it through the code ``policy push`` runs
(:func:`modelrouter.cli.push_cmd.push_policy`), unless ``--dry-run`` or ``--out``. Short evidence is
exit 1 with one line per unmet condition on stderr.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modelrouter.cli.aws_target import aws_target, describe_aws_error
from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from modelrouter.cli.push_cmd import push_policy

if TYPE_CHECKING:
    from modelrouter.activation.control import ControlStore
    from modelrouter.cli.aws_target import AwsTarget
    from modelrouter.training.ope_promote import PromotionEvidence
    from modelrouter.training.outcomes import Outcome

__all__ = ["read_logged", "reject", "run_promote"]


def reject(message: str) -> int:
    """Print ``error: message`` on stderr; returns exit code 1 (the input was rejected)."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_REJECTED


def read_logged(path: Path) -> list[Outcome]:
    """The outcome lines of ``path``.

    Raises:
        OutcomesError: a bad line (naming it), or a file that cannot be read or holds none.
    """
    from modelrouter.training.outcomes import read_outcomes

    return read_outcomes([path])


def run_promote(args: argparse.Namespace) -> int:
    """Run ``policy promote``; returns the exit code (1 when the evidence is short, saying why).

    Raises:
        PolicyError: the policy cannot be read or is invalid (before or after the rewrite).
        LocalEnvError: ``--local`` and no local stack is running.
    """
    from modelrouter.cli.policy_rewrite import RewriteError, swap_variant_models
    from modelrouter.policy.loader import parse_policy
    from modelrouter.training.ope import EstimatorError
    from modelrouter.training.ope_promote import PromotionError, failed_conditions, promotion_evidence
    from modelrouter.training.outcomes import OutcomesError

    target = aws_target(args)
    source = _promote_source(args, target)
    if source is None:
        return _usage("no policy: pass --policy FILE, --local, or --bucket (or set POLICY_BUCKET)")
    label, body, active = source
    loaded = parse_policy(body, label)
    try:
        evidence = promotion_evidence(loaded.policy, args.route, read_logged(args.outcomes))
    except (PromotionError, OutcomesError, EstimatorError) as error:
        return reject(f"not promoted: {error}")
    print(_render_evidence(evidence))
    if failed := failed_conditions(evidence):
        print(f"not promoted: route '{args.route}'", file=sys.stderr)
        for condition in failed:
            print(f"  - {condition}", file=sys.stderr)
        return EXIT_REJECTED
    text = body.decode("utf-8")
    rule = evidence.rule
    try:
        promoted = swap_variant_models(text, args.route, rule.champion, rule.challenger)
    except RewriteError as error:
        return reject(f"cannot rewrite {label}: {error}")
    new = parse_policy(promoted.encode("utf-8"), label).policy.route_by_name[args.route]
    arms = {variant.name: tuple(variant.models) for variant in new.variants or ()}
    if (arms[rule.champion], arms[rule.challenger]) != (evidence.challenger_models, evidence.champion_models):
        return reject(f"the rewrite of {label} did not swap the variants' models; nothing written")
    print(
        f"promoted: {rule.champion} now {list(arms[rule.champion])}, {rule.challenger} now "
        f"{list(arms[rule.challenger])} (weights unchanged)"
    )
    if args.dry_run:
        sys.stdout.writelines(
            difflib.unified_diff(text.splitlines(True), promoted.splitlines(True), label, label)
        )
        print("dry run: nothing written or pushed")
        return EXIT_OK
    if args.out is not None:
        args.out.write_text(promoted, encoding="utf-8")
        print(f"written to {args.out} (not pushed; `modelrouter policy push {args.out}` activates it)")
        return EXIT_OK
    return _push(args, target, label, promoted.encode("utf-8"), active)


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _promote_source(args: argparse.Namespace, target: AwsTarget) -> tuple[str, bytes, str | None] | None:
    """The policy to promote in: (label, bytes, the active version's label, or None for a file).

    From the bucket it is the version the active pointer names, not the newest upload: a rejected
    upload after it never became active, so it is not what is being promoted.
    """
    from modelrouter.errors import PolicyError
    from modelrouter.problems import Problem

    if args.policy is not None:
        try:
            return str(args.policy), args.policy.read_bytes(), None
        except OSError as error:
            raise PolicyError(
                [Problem("", f"cannot read policy file: {error.strerror or error}")], str(args.policy)
            ) from None
    location = target.policy_location(args.bucket, args.key)
    if location is None:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    from modelrouter.activation.control import VersionMissingError
    from modelrouter.policy.loader import MAX_POLICY_BYTES

    store = _control(target, location[0])
    label = f"s3://{location[0]}/{store.pointer_key}"
    try:
        pointer = store.read_pointer().pointer
        if pointer is None:
            raise PolicyError([Problem("", "no policy is active yet: push one with `policy push`")], label)
        label = f"s3://{location[0]}/{pointer.version.label()}"
        body = store.read_version(pointer.version, MAX_POLICY_BYTES)
    except (BotoCoreError, ClientError) as error:
        raise PolicyError([Problem("", f"cannot read it: {describe_aws_error(error)}")], label) from None
    except VersionMissingError as error:
        raise PolicyError([Problem("", str(error))], label) from None
    return label, body, pointer.version.label()


def _control(target: AwsTarget, bucket: str) -> ControlStore:
    from modelrouter.activation.control import ControlStore

    return ControlStore(target.client("s3"), bucket, target.pointer_key())


def _push(args: argparse.Namespace, target: AwsTarget, label: str, body: bytes, active: str | None) -> int:
    """Push the promoted policy where it came from (a file: the bucket of ``--bucket``/``--local``/
    ``POLICY_BUCKET``, and the file rewritten once the push succeeded)."""
    location = target.policy_location(args.bucket, args.key)
    if location is None:
        return _usage(
            "no policy bucket to push to: pass --bucket, set POLICY_BUCKET, use --local, or --out FILE"
        )
    bucket, key = location
    if active is not None and _active_changed(target, bucket, active):
        return reject(f"the active policy of s3://{bucket} changed since {active} was read; nothing pushed"
                      " (run promote again)")  # fmt: skip
    code = push_policy(target, bucket, key, body, args.policy if args.policy is not None else label)
    if code == EXIT_OK and args.policy is not None:
        args.policy.write_bytes(body)
        print(f"{args.policy}: rewritten with the promotion")
    return code


def _active_changed(target: AwsTarget, bucket: str, active: str) -> bool:
    """Whether the pointer no longer names version ``active`` (or cannot be read)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        pointer = _control(target, bucket).read_pointer().pointer
    except (BotoCoreError, ClientError):
        return True
    return pointer is None or pointer.version.label() != active


def _render_evidence(evidence: PromotionEvidence) -> str:
    rule, gain, cost = evidence.rule, evidence.gain, evidence.cost_increase
    excluded = ", ".join(f"{code} {count}" for code, count in evidence.excluded.items())
    level = f"{rule.confidence:.0%}"
    limit = "none" if rule.max_cost_increase_usd is None else f"{rule.max_cost_increase_usd:.6f}"
    return "\n".join(
        [
            f"route {evidence.route}: {rule.champion} {list(evidence.champion_models)} vs {rule.challenger} "
            f"{list(evidence.challenger_models)}",
            f"  {evidence.lines:,} logged lines of the route; {evidence.requests:,} used"
            + (f" (left out, an arm refuses them: {excluded})" if excluded else ""),
            f"  mean quality (SNIPS): {rule.champion} {evidence.champion_quality.value:.4f}, "
            f"{rule.challenger} {evidence.challenger_quality.value:.4f}",
            f"  gain {gain.value:+.4f}, {level} interval [{gain.low:+.4f}, {gain.high:+.4f}] "
            f"(paired, delta method; effective n {gain.effective_n or 0:,.0f})",
            f"  mean cost per request (SNIPS): {rule.champion} {evidence.champion_cost.value:.6f} USD, "
            f"{rule.challenger} {evidence.challenger_cost.value:.6f} USD; increase {cost.value:+.6f} "
            f"[{cost.low:+.6f}, {cost.high:+.6f}]",
            f"  promote_when: min_requests {rule.min_requests}, min_quality_gain "
            f"{rule.min_quality_gain:+.4f}, confidence {level}, max_cost_increase_usd {limit}",
        ]
    )
