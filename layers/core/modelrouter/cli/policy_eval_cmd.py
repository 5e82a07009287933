"""``modelrouter policy evaluate`` and ``policy promote``: a policy's value on logged traffic, and a weighted
route's challenger promoted by evidence.

``evaluate`` replays a candidate policy (and optionally the current one) on logged outcomes and prints SNIPS
and doubly robust estimates of its mean quality and cost next to the logged means
(:mod:`modelrouter.training.ope_report`). ``promote`` estimates a route's champion and challenger
(:mod:`modelrouter.training.ope_promote`); when the route's ``promote_when`` holds, it swaps the two
variants' models in the policy text (comments kept, :mod:`modelrouter.cli.policy_rewrite`) and pushes it
through the code ``policy push`` runs (:func:`modelrouter.cli.push_cmd.push_policy`), unless ``--dry-run``
or ``--out``. Every expected failure is one line (or one line per unmet condition) on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrouter.cli.aws_target import BUCKET_ENV, KEY_ENV, add_local_option, aws_target, describe_aws_error
from modelrouter.cli.learn_cmd import EXTRA_HINT, LEARN_MODULES
from modelrouter.cli.push_cmd import push_policy

if TYPE_CHECKING:
    from modelrouter.cli.aws_target import AwsTarget
    from modelrouter.training.ope_promote import PromotionEvidence
    from modelrouter.training.ope_replay import Replay
    from modelrouter.training.outcomes import Outcome

__all__ = ["add_parsers", "run_evaluate", "run_promote"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
DEFAULT_CONFIDENCE = 0.95
"""``--confidence`` of ``policy evaluate`` when not given."""


def _confidence(text: str) -> float:
    value = float(text)
    if not 0.5 < value < 1.0:
        raise argparse.ArgumentTypeError("must be above 0.5 and below 1")
    return value


def add_parsers(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy evaluate`` and ``policy promote`` to the ``policy`` command's actions."""
    evaluate = actions.add_parser(
        "evaluate", help="estimate a candidate policy's quality and cost on logged traffic (off-policy)"
    )
    evaluate.add_argument("--policy", required=True, type=Path, metavar="NEW.yaml", help="candidate policy")
    evaluate.add_argument(
        "--outcomes", required=True, type=Path, metavar="LOGGED.jsonl", help="logged outcomes"
    )
    current = evaluate.add_mutually_exclusive_group()
    current.add_argument("--current", type=Path, metavar="CURRENT.yaml", help="replay the current policy too")
    current.add_argument(
        "--local",
        action="store_true",
        help="replay the running local stack's active policy as the current one",
    )
    evaluate.add_argument(
        "--router", type=Path, metavar="ROUTER.json", help="learned router: DR's reward model for quality"
    )
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    evaluate.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw quality against cost (learn extra)"
    )
    evaluate.add_argument(
        "--confidence",
        type=_confidence,
        default=DEFAULT_CONFIDENCE,
        metavar="P",
        help="interval level (0.95)",
    )

    promote = actions.add_parser(
        "promote", help="promote a weighted route's challenger when its promote_when evidence holds"
    )
    promote.add_argument("route", metavar="ROUTE", help="a weighted route with promote_when")
    promote.add_argument(
        "--outcomes", required=True, type=Path, metavar="LOGGED.jsonl", help="logged outcomes"
    )
    promote.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="policy file (rewritten, then pushed); else the active policy",
    )
    add_local_option(promote)
    promote.add_argument("--bucket", help=f"policy bucket (default: ${BUCKET_ENV})")
    promote.add_argument("--key", help=f"policy object key (default: ${KEY_ENV})")
    promote.add_argument("--endpoint-url", help="S3 endpoint (MinIO, moto server)")
    output = promote.add_mutually_exclusive_group()
    output.add_argument(
        "--out", type=Path, metavar="FILE", help="write the promoted policy here; push nothing"
    )
    output.add_argument("--dry-run", action="store_true", help="print the change; write and push nothing")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_REJECTED


def _read_logged(path: Path) -> list[Outcome]:
    from modelrouter.training.outcomes import read_outcomes

    return read_outcomes([path])


def run_evaluate(args: argparse.Namespace) -> int:
    """Run ``policy evaluate``; returns the exit code.

    Raises:
        PolicyError: a policy that cannot be read or is invalid (the CLI prints its problems).
        LocalEnvError: ``--local`` and no local stack is running.
    """
    from modelrouter.learned import ArtifactError
    from modelrouter.training.ope import EstimatorError
    from modelrouter.training.outcomes import OutcomesError

    try:
        return _evaluate(args)
    except (OutcomesError, EstimatorError, ArtifactError) as error:
        return _fail(str(error) if not isinstance(error, ArtifactError) else error.message)
    except ImportError as error:
        if (error.name or "").split(".")[0] not in LEARN_MODULES:
            raise
        return _fail(f"{error.name} is not installed: --plot needs it; {EXTRA_HINT}")


def _evaluate(args: argparse.Namespace) -> int:
    from modelrouter.learned import load_router
    from modelrouter.policy.artifacts import load_local_routers, load_local_topics
    from modelrouter.policy.loader import load_policy_file
    from modelrouter.training.ope_evaluate import (
        MeanQualityModel,
        RouterQualityModel,
        estimate_logged,
        estimate_replay,
        mean_costs,
        router_names,
    )
    from modelrouter.training.ope_replay import check_logged, replay
    from modelrouter.training.ope_report import EvaluationReport, plot_evaluation, render_evaluation

    outcomes = _read_logged(args.outcomes)
    check_logged(outcomes)
    candidate = load_policy_file(args.policy)
    candidate_replay = replay(
        candidate.policy,
        outcomes,
        routers=load_local_routers(candidate.policy, args.policy),
        topics=load_local_topics(candidate.policy, args.policy),
    )
    current = _current(args, outcomes)
    policies = [candidate.policy] + ([current[1]] if current is not None else [])
    quality_model: Any = MeanQualityModel(outcomes)
    if args.router is not None:
        router = load_router(args.router.read_bytes(), str(args.router))
        quality_model = RouterQualityModel(router, router_names(policies), quality_model, str(args.router))
    costs = mean_costs(outcomes)
    level = args.confidence
    report = EvaluationReport(
        outcomes=str(args.outcomes),
        confidence=level,
        logged=estimate_logged(outcomes, confidence=level),
        candidate_source=str(args.policy),
        candidate=estimate_replay(candidate_replay, quality_model, costs, confidence=level),
        quality_model=quality_model.description,
        cost_model="per-model mean of the logged cost (a model never logged: the decision's estimate)",
        current_source=current[0] if current is not None else None,
        current=(
            estimate_replay(current[2], quality_model, costs, confidence=level)
            if current is not None
            else None
        ),
    )
    print(render_evaluation(report))
    if isinstance(quality_model, RouterQualityModel) and quality_model.unknown:
        unknown = ", ".join(sorted(quality_model.unknown))
        print(f"note: the router does not predict {unknown}: their mean logged quality was used")
    if args.plot is not None:
        plot_evaluation(report, args.plot, title=f"{args.policy.name} on {args.outcomes.name}")
        print(f"plot: {args.plot}")
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_json(), indent=1, allow_nan=False) + "\n")
        print(f"report: {args.json}")
    return EXIT_OK


def _current(args: argparse.Namespace, outcomes: list[Outcome]) -> tuple[str, Any, Replay] | None:
    """The current policy replayed: ``--current FILE``, or ``--local``'s active policy with its artifacts."""
    from modelrouter.policy.artifacts import (
        load_local_routers,
        load_local_topics,
        load_routers,
        load_topics,
        s3_fetcher,
    )
    from modelrouter.policy.loader import load_policy_file
    from modelrouter.training.ope_replay import replay

    if args.current is not None:
        loaded = load_policy_file(args.current)
        routers = load_local_routers(loaded.policy, args.current)
        topics = load_local_topics(loaded.policy, args.current)
        source = str(args.current)
    elif args.local:
        target = aws_target(args)
        location = target.policy_location()
        assert location is not None  # the local stack always names its bucket
        bucket, key = location
        loaded = target.active_policy(bucket, key)
        fetch = s3_fetcher(target.client("s3"), bucket)
        routers = load_routers(loaded.policy, fetch, source=f"s3://{bucket}")
        topics = load_topics(loaded.policy, fetch, source=f"s3://{bucket}")
        source = f"s3://{bucket}/{key}"
    else:
        return None
    return source, loaded.policy, replay(loaded.policy, outcomes, routers=routers, topics=topics)


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
    label, body, etag = source
    loaded = parse_policy(body, label)
    try:
        evidence = promotion_evidence(loaded.policy, args.route, _read_logged(args.outcomes))
    except (PromotionError, OutcomesError, EstimatorError) as error:
        return _fail(f"not promoted: {error}")
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
        return _fail(f"cannot rewrite {label}: {error}")
    new = parse_policy(promoted.encode("utf-8"), label).policy.route_by_name[args.route]
    arms = {variant.name: tuple(variant.models) for variant in new.variants or ()}
    if (arms[rule.champion], arms[rule.challenger]) != (evidence.challenger_models, evidence.champion_models):
        return _fail(f"the rewrite of {label} did not swap the variants' models; nothing written")
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
    return _push(args, target, label, promoted.encode("utf-8"), etag)


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _promote_source(args: argparse.Namespace, target: AwsTarget) -> tuple[str, bytes, str | None] | None:
    """The policy to promote in: (label, bytes, the S3 object's ETag or None for a file)."""
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
    bucket, key = location
    from botocore.exceptions import BotoCoreError, ClientError

    label = f"s3://{bucket}/{key}"
    try:
        response = target.client("s3").get_object(Bucket=bucket, Key=key)
    except (BotoCoreError, ClientError) as error:
        raise PolicyError([Problem("", f"cannot read it: {describe_aws_error(error)}")], label) from None
    return label, response["Body"].read(), response.get("ETag")


def _push(args: argparse.Namespace, target: AwsTarget, label: str, body: bytes, etag: str | None) -> int:
    """Push the promoted policy where it came from (a file: the bucket of ``--bucket``/``--local``/
    ``POLICY_BUCKET``, and the file rewritten once the push succeeded)."""
    location = target.policy_location(args.bucket, args.key)
    if location is None:
        return _usage(
            "no policy bucket to push to: pass --bucket, set POLICY_BUCKET, use --local, or --out FILE"
        )
    bucket, key = location
    if etag is not None and _changed_since(target, bucket, key, etag):
        return _fail(f"s3://{bucket}/{key} changed since it was read; nothing pushed (run promote again)")
    code = push_policy(target, bucket, key, body, args.policy if args.policy is not None else label)
    if code == EXIT_OK and args.policy is not None:
        args.policy.write_bytes(body)
        print(f"{args.policy}: rewritten with the promotion")
    return code


def _changed_since(target: AwsTarget, bucket: str, key: str, etag: str) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        current: str | None = target.client("s3").head_object(Bucket=bucket, Key=key).get("ETag")
    except (BotoCoreError, ClientError):
        return True
    return current != etag


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
