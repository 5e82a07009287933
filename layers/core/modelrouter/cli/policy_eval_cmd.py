"""``modelrouter policy evaluate`` and ``policy promote``: a policy's value on logged traffic, and a weighted
route's challenger promoted by evidence.

``evaluate`` replays a candidate policy (and optionally the current one) on logged outcomes and prints SNIPS
and doubly robust estimates of its mean quality and cost next to the logged means
(:mod:`modelrouter.training.ope_report`). ``promote`` runs in :mod:`modelrouter.cli.policy_promote_cmd`;
both commands' arguments are defined here. Every expected failure is one line on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrouter.cli.aws_target import BUCKET_ENV, KEY_ENV, add_local_option, aws_target
from modelrouter.cli.exits import EXIT_OK
from modelrouter.cli.learn_cmd import EXTRA_HINT, LEARN_MODULES
from modelrouter.cli.policy_promote_cmd import read_logged, reject, run_promote

if TYPE_CHECKING:
    from modelrouter.training.ope_replay import Replay
    from modelrouter.training.outcomes import Outcome

__all__ = ["add_parsers", "run_evaluate", "run_promote"]

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
        return reject(str(error) if not isinstance(error, ArtifactError) else error.message)
    except ImportError as error:
        if (error.name or "").split(".")[0] not in LEARN_MODULES:
            raise
        return reject(f"{error.name} is not installed: --plot needs it; {EXTRA_HINT}")


def _evaluate(args: argparse.Namespace) -> int:
    from modelrouter.learned import load_router
    from modelrouter.policy.artifacts import load_local_routers, load_local_topics
    from modelrouter.policy.loader import load_policy_file
    from modelrouter.policy.routes import Strategy
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

    outcomes = read_logged(args.outcomes)
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
    if bandits := sorted({r.name for p in policies for r in p.routes if r.strategy is Strategy.BANDIT}):
        print(
            f"note: bandit routes ({', '.join(bandits)}) are replayed on their priors alone (no learning"
            " state): the estimates are of their first draws, not of what they would learn"
        )
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
        loaded = target.active_policy(bucket)  # the version the active pointer names
        fetch = s3_fetcher(target.client("s3"), bucket)
        routers = load_routers(loaded.policy, fetch, source=f"s3://{bucket}")
        topics = load_topics(loaded.policy, fetch, source=f"s3://{bucket}")
        source = f"s3://{bucket}/{key}"
    else:
        return None
    return source, loaded.policy, replay(loaded.policy, outcomes, routers=routers, topics=topics)
