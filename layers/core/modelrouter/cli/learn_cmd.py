"""``modelrouter learn``: fit a router on outcomes, score requests with it, and evaluate it; fit a topic
classifier on labelled examples (``fit-topics``).

``learn score`` needs only the core package (it runs the router's own scoring code); ``fit``,
``evaluate`` and ``fit-topics`` need the ``learn`` extra (numpy, scikit-learn, scipy, matplotlib), imported
only when they run, so ``modelrouter --help`` and the other commands never load them. Every error — a bad
outcomes or examples line (with its line number), a model the router does not know, an artifact of another
feature version, a missing file, the extra not installed — is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrouter.learned import LearnedRouter
    from modelrouter.training.outcomes import OutcomeTable

__all__ = ["EXTRA_HINT", "LEARN_MODULES", "add_parser", "run"]

EXIT_OK = 0
EXIT_ERROR = 2
LEARN_MODULES = frozenset({"numpy", "scipy", "sklearn", "matplotlib"})
"""Top-level modules of the ``learn`` extra."""
EXTRA_HINT = "install the learn extra: pip install 'modelrouter[learn]'"
"""What a command that needs the extra says when it is missing."""
HASH_BITS_RANGE = (8, 20)
"""Accepted ``--hash-bits`` (the artifact reader accepts the same range)."""
MAX_VOCABULARY = 50_000
"""Largest ``--max-features`` and ``--max-char-features`` accepted."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError("must be at least 2")
    return value


def _hash_bits(text: str) -> int:
    value = int(text)
    low, high = HASH_BITS_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _vocabulary_bound(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_VOCABULARY:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_VOCABULARY:,}")
    return value


def _add_fit_topics(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    topics = actions.add_parser(
        "fit-topics", help="fit a topic classifier on labelled examples (JSON Lines) and write its artifact"
    )
    topics.add_argument("examples", nargs="+", type=Path, metavar="EXAMPLES.jsonl")
    topics.add_argument("--out", required=True, type=Path, metavar="TOPICS.json", help="artifact to write")
    topics.add_argument(
        "--keywords", type=Path, metavar="KEYWORDS.yaml", help="keyword baseline to compare against"
    )
    topics.add_argument("--json", type=Path, metavar="FILE", help="write the cross-validation report as JSON")
    topics.add_argument("--cv", type=_positive, default=5, metavar="K", help="stratified folds (5)")
    topics.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the folds (0)")
    topics.add_argument("--max-features", type=_vocabulary_bound, metavar="N", help="word terms kept (2,000)")
    topics.add_argument(
        "--max-char-features", type=_vocabulary_bound, metavar="N", help="character n-grams kept (4,000)"
    )
    topics.add_argument(
        "--min-confidence", type=_probability, metavar="P", help="default threshold of a guess (0.5)"
    )


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``learn`` command (``fit``, ``score``, ``evaluate``, ``fit-topics``) to ``subparsers``."""
    learn = subparsers.add_parser("learn", help="fit, score and evaluate learned routers (docs/learning.md)")
    actions = learn.add_subparsers(dest="learn_command", required=True, metavar="ACTION")

    fit = actions.add_parser("fit", help="fit a router on outcomes JSON Lines and write its artifact")
    fit.add_argument("outcomes", nargs="+", type=Path, metavar="OUTCOMES.jsonl")
    fit.add_argument("--out", required=True, type=Path, metavar="ROUTER.json", help="artifact to write")
    fit.add_argument("--cv", type=_positive, default=5, metavar="K", help="folds for calibration (5)")
    fit.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the folds (0)")
    fit.add_argument("--hash-bits", type=_hash_bits, metavar="B", help="2**B text buckets (14)")

    score = actions.add_parser("score", help="predicted quality per model for each request (JSON Lines)")
    score.add_argument("--router", required=True, type=Path, metavar="ROUTER.json")
    score.add_argument(
        "requests", metavar="REQUESTS.jsonl", help="request_id + prompt or messages; - for stdin"
    )

    evaluate = actions.add_parser("evaluate", help="replay counterfactual outcomes: the cost–quality curve")
    evaluate.add_argument("outcomes", nargs="+", type=Path, metavar="OUTCOMES.jsonl")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--router", type=Path, metavar="ROUTER.json", help="evaluate this fitted router")
    source.add_argument("--cv", type=_positive, metavar="K", help="fit on K-1 folds, score the held-out one")
    evaluate.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the folds (0)")
    evaluate.add_argument("--plot", type=Path, metavar="FILE.png", help="draw the curves")
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="write the whole report as JSON")
    _add_fit_topics(actions)
    return learn


def run(args: argparse.Namespace) -> int:
    """Run a ``learn`` action; every expected failure is one line on stderr and exit code 2."""
    from modelrouter.learned import ArtifactError

    actions = {"fit": _fit, "score": _score, "evaluate": _evaluate, "fit-topics": _fit_topics}
    try:
        return actions[args.learn_command](args)
    except ArtifactError as error:
        return _fail(error.message)
    except ImportError as error:
        if (error.name or "").split(".")[0] not in LEARN_MODULES:
            raise
        return _fail(f"{error.name} is not installed; {EXTRA_HINT}")
    except (ValueError, OSError) as error:  # OutcomesError, EvaluationError, the fit's ValueErrors
        return _fail(_describe(error))


def _describe(error: Exception) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return str(error)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _load_router(path: Path) -> LearnedRouter:
    from modelrouter.learned import ArtifactError, load_router

    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ArtifactError(f"{path}: cannot read the router: {error.strerror or error}") from None
    return load_router(raw, str(path))


def _table(paths: list[Path]) -> OutcomeTable:
    from modelrouter.training.outcomes import read_outcomes, tabulate

    return tabulate(read_outcomes(paths))


def _fit(args: argparse.Namespace) -> int:
    from modelrouter.cli.learn_report import render_fit
    from modelrouter.learned import FeatureRecipe, load_router
    from modelrouter.training.fit import fit_router

    table = _table(args.outcomes)
    recipe = FeatureRecipe(hash_bits=args.hash_bits) if args.hash_bits is not None else None
    sources = [path.name for path in args.outcomes]
    document = fit_router(table, recipe=recipe, cv_folds=args.cv, seed=args.seed, sources=sources)
    raw = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    router = load_router(raw, str(args.out))  # what is written must load
    args.out.write_bytes(raw)
    print(render_fit(router, str(args.out), len(raw)))
    return EXIT_OK


def _score(args: argparse.Namespace) -> int:
    from modelrouter.features import extract_features
    from modelrouter.learned import request_text
    from modelrouter.training.outcomes import read_scoring_requests

    router = _load_router(args.router)
    out = sys.stdout
    for item in read_scoring_requests(args.requests):
        scores = router.score(request_text(item.request), extract_features(item.request))
        out.write(json.dumps({"request_id": item.request_id, "scores": scores}, ensure_ascii=False) + "\n")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from modelrouter.cli.learn_report import render_evaluation
    from modelrouter.training.evaluate import check_counterfactual, evaluate_table
    from modelrouter.training.fit import cross_validate, predict

    table = _table(args.outcomes)
    check_counterfactual(np.asarray(table.quality, dtype=float), table.models, table.request_ids)
    if args.router is not None:
        router = _load_router(args.router)
        try:
            predictions = predict(router, table)
        except ValueError as error:  # a model of the outcomes the router does not know
            return _fail(f"{args.router}: {error}")
        how = f"router {args.router} ({router.digest[:19]}…)"
    else:
        predictions = cross_validate(table, args.cv, seed=args.seed)
        how = f"{args.cv}-fold cross-validation by request id (seed {args.seed})"
    report = evaluate_table(table, predictions)
    print(render_evaluation(report, how))
    if args.plot is not None:
        from modelrouter.training.plot import plot_report

        plot_report(report, args.plot, title=_title(args))
        print(f"\nplot: {args.plot}")
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=1, allow_nan=False) + "\n")
        print(f"report: {args.json}")
    return EXIT_OK


def _title(args: argparse.Namespace) -> str:
    names = ", ".join(path.stem for path in args.outcomes)
    how = f"router {args.router.name}" if args.router is not None else f"{args.cv}-fold CV"
    return f"{names} ({how})"


def _fit_topics(args: argparse.Namespace) -> int:
    from modelrouter.cli.topics_report import render_topic_fit
    from modelrouter.learned.topics import load_topic_classifier
    from modelrouter.training.topic_cv import TopicFitOptions, fit_topics
    from modelrouter.training.topic_keywords import load_keywords
    from modelrouter.training.topics import read_examples

    examples = [example for path in args.examples for example in read_examples(path)]
    keywords = load_keywords(args.keywords) if args.keywords is not None else None
    defaults = TopicFitOptions()
    options = TopicFitOptions(
        folds=args.cv,
        seed=args.seed,
        max_features=args.max_features or defaults.max_features,
        max_char_features=args.max_char_features or defaults.max_char_features,
        min_confidence=defaults.min_confidence if args.min_confidence is None else args.min_confidence,
        sources=tuple(path.name for path in args.examples),
    )
    fit = fit_topics(examples, keywords, options)
    classifier = load_topic_classifier(fit.raw, str(args.out))  # what is written must load
    args.out.write_bytes(fit.raw)
    print(render_topic_fit(classifier, str(args.out), len(fit.raw)))
    if args.json is not None:
        args.json.write_text(json.dumps(fit.report, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
        print(f"report: {args.json}")
    return EXIT_OK
