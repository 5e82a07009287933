"""``make demo``'s feedback loop: a bandit route learns from thumbs up and down which model to send each
kind of request to, and its traffic shifts while the demo watches.

The demo plays the users: each answer gets a thumbs up when the simulated model was up to the question
(:func:`modelrouter.local.skills.answer_quality`, the hidden rule the model server answers by; the
router never sees it) and a thumbs down otherwise, sent to ``POST /v1/feedback``. Every answer passes
the route's checks, so the implicit outcome alone says every model is fine: only the feedback tells the
models apart. The shares of each model per round are printed, and drawn to a PNG.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from modelrouter.cli.render import table
from modelrouter.local.models import PROFILES
from modelrouter.local.skills import GOOD_QUALITY, answer_quality

__all__ = ["BANDIT_TENANT", "ROUNDS", "BanditRun", "questions", "shifted", "show_bandit"]

BANDIT_TENANT = "helpdesk-lab"
"""The tenant whose requests the local policy's bandit route takes."""
TASK_KEY = "task"
"""The request ``metadata`` key the bandit route segments by."""
ROUNDS = 10
"""Rounds of requests; each round sends :data:`PER_ROUND` requests per task."""
PER_ROUND = 10
"""Requests per task and round."""
PARALLEL = 4
"""Requests in flight at once (the local stack runs several router containers)."""
_MAX_TOKENS = 60
_SEED = 13

_PHRASES = ("where is the station", "good morning", "the bill, please", "I am lost", "how much is this",
            "see you tomorrow", "the meeting is at noon", "my phone is broken", "is this seat free",
            "thank you for your help")  # fmt: skip
_LANGUAGES = ("Spanish", "French", "German", "Italian", "Portuguese")
_TASKS = ("reverses a linked list", "parses an ISO date", "merges two sorted lists", "debounces a callback",
          "counts words in a file", "validates an email address", "retries a request with backoff",
          "flattens a nested dictionary")  # fmt: skip
_CODE_LANGUAGES = ("Python", "JavaScript", "Go", "Rust", "Java")


def questions(task: str, count: int, rng: random.Random) -> list[str]:
    """``count`` varied questions of ``task`` (``translation`` or ``code``)."""
    if task == "translation":
        return [f"Translate '{rng.choice(_PHRASES)}' into {rng.choice(_LANGUAGES)}." for _ in range(count)]
    return [
        f"Write a {rng.choice(_CODE_LANGUAGES)} function that {rng.choice(_TASKS)}, and explain the bug "
        f"you would test for first (case {rng.randrange(1000)})."
        for _ in range(count)
    ]


@dataclass
class BanditRun:
    """What the demo saw: per task and round, how many requests each model answered, and the bandit's
    probabilities of each model (its ``choice`` distribution, averaged over the round's requests)."""

    shares: dict[str, list[Counter[str]]] = field(default_factory=dict)
    """Task to one counter of answering models per round."""
    probabilities: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    """Task to, per round, each model's mean probability of being drawn."""
    priors: dict[str, dict[str, float]] = field(default_factory=dict)
    """Task to the probabilities of its first request, sent before any feedback: where learning starts."""
    feedback_sent: int = 0
    """Feedback accepted by ``POST /v1/feedback``."""
    feedback_failed: int = 0
    """Feedback refused (should stay 0)."""
    errors: int = 0
    """Chat requests that did not get an answer."""
    problems: Counter[str] = field(default_factory=Counter)
    """What went wrong, counted: chat errors by status and code, feedback refusals by status."""


MIN_SHIFT = 0.2
"""The share of a round's traffic that must have moved off the models drawn before any feedback."""

Call = Callable[[Any, dict[str, Any]], dict[str, Any]]
"""Sends a chat body with a client: ``{"router", "usage", "answer"}``, or ``{"status", "error"}``."""


Asked = tuple[str | None, bool | None, dict[str, float], str | None]
"""The answering model, whether its feedback landed, the bandit's distribution for the request, and
what went wrong (None when nothing did)."""


def _ask(client: Any, call: Call, task: str, question: str) -> Asked:
    """Ask, rate the answer, send the rating."""
    body = {
        "model": "auto",
        "max_tokens": _MAX_TOKENS,
        "messages": [{"role": "user", "content": question}],
        "metadata": {TASK_KEY: task},
    }
    outcome = call(client, body)
    if "error" in outcome:
        error = outcome["error"].get("error", outcome["error"]) if isinstance(outcome["error"], dict) else {}
        return None, None, {}, f"chat {outcome.get('status')} {error.get('code') or error.get('message')}"
    router = outcome["router"]
    model = str(router["model"])
    good = answer_quality(PROFILES[model], question) >= GOOD_QUALITY
    response = client.post(
        "/feedback",
        body={"request_id": router["request_id"], "thumbs": "up" if good else "down"},
        cast_to=httpx.Response,
    )
    choice = router.get("choice") or {}
    landed = response.status_code == 200
    problem = None if landed else f"feedback {response.status_code} {response.text[:120]}"
    return model, landed, dict(choice.get("probabilities") or {}), problem


def run_rounds(client: Any, call: Call, tasks: tuple[str, ...] = ("translation", "code")) -> BanditRun:
    """Send :data:`ROUNDS` rounds of questions per task, rating every answer."""
    rng = random.Random(_SEED)
    result = BanditRun(shares={task: [] for task in tasks}, probabilities={task: [] for task in tasks})
    with ThreadPoolExecutor(PARALLEL) as pool:
        for _ in range(ROUNDS):
            for task in tasks:
                asked = questions(task, PER_ROUND, rng)
                answers = list(pool.map(lambda q, t=task: _ask(client, call, t, q), asked))
                counts: Counter[str] = Counter(model for model, _, _, _ in answers if model is not None)
                result.shares[task].append(counts)
                result.probabilities[task].append(_mean(choice for _, _, choice, _ in answers))
                if task not in result.priors and answers and answers[0][2]:
                    result.priors[task] = answers[0][2]
                result.errors += sum(1 for model, _, _, _ in answers if model is None)
                result.feedback_sent += sum(1 for _, landed, _, _ in answers if landed)
                result.feedback_failed += sum(1 for _, landed, _, _ in answers if landed is False)
                result.problems.update(problem for _, _, _, problem in answers if problem is not None)
    return result


def _mean(distributions: Iterable[dict[str, float]]) -> dict[str, float]:
    """Each model's mean probability over ``distributions`` (the requests of a round)."""
    given = [distribution for distribution in distributions if distribution]
    models = {model for distribution in given for model in distribution}
    return {model: sum(d.get(model, 0.0) for d in given) / len(given) for model in models} if given else {}


def _share_table(run: BanditRun, task: str, models: list[str]) -> str:
    rows = []
    rounds = zip(run.shares[task], run.probabilities[task], strict=True)
    for number, (counts, probabilities) in enumerate(rounds, 1):
        total = sum(counts.values()) or 1
        rows.append(
            (
                number,
                *(f"{counts[model] / total:4.0%} ({probabilities.get(model, 0.0):4.0%})" for model in models),
            )
        )
    return table(["round", *models], rows)


def plot_shares(run: BanditRun, models: list[str], path: Path) -> Path | None:
    """Draw each task's shares per round to ``path`` (PNG); None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(1, len(run.shares), figsize=(5 * len(run.shares), 4.4), sharey=True)
    for axis, (task, rounds) in zip(list(getattr(axes, "flat", [axes])), run.shares.items(), strict=True):
        served = [PER_ROUND * number for number in range(1, len(rounds) + 1)]
        for model in models:
            shares = [counts[model] / (sum(counts.values()) or 1) for counts in rounds]
            drawn = [probabilities.get(model, 0.0) for probabilities in run.probabilities[task]]
            (line,) = axis.plot(served, drawn, label=f"{model}: probability")
            axis.plot(served, shares, "o", color=line.get_color(), alpha=0.5, label=f"{model}: share served")
        axis.set_title(f"task = {task}")
        axis.set_xlabel(f"requests of this task so far (rounds of {PER_ROUND})")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    first = next(iter(getattr(axes, "flat", [axes])))
    first.set_ylabel("share of the round's requests")
    handles, labels = first.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    figure.suptitle("Bandit route learning from thumbs up/down: each model's probability and share per round")
    figure.tight_layout(rect=(0, 0.14, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def show_bandit(number: int, client: Any, call: Call, png: Path) -> bool:
    """Run the rounds, print the shares per task and the PNG's path; whether traffic shifted towards the
    model the feedback favours in every task, and all feedback landed."""
    print(f"\n[{number}] Learning from feedback: a bandit route's traffic shifts   (tenant {BANDIT_TENANT})")
    run = run_rounds(client, call)
    models = sorted({model for rounds in run.shares.values() for counts in rounds for model in counts})
    for task in run.shares:
        print(f"  task = {task}: each model's share of a round's {PER_ROUND} requests (its mean probability)")
        print("\n".join(f"  {line}" for line in _share_table(run, task, models).splitlines()))
    print(f"  feedback   {run.feedback_sent} thumbs sent, {run.feedback_failed} refused; {run.errors} errors")
    drawn = plot_shares(run, models, png)
    print(f"  chart      {drawn if drawn else 'not drawn (matplotlib is not installed)'}")
    unshifted = [
        task for task, rounds in run.probabilities.items() if not shifted(rounds, run.priors.get(task))
    ]
    for problem, count in run.problems.most_common(5):
        print(f"  problem    {count} × {problem}", file=sys.stderr)
    if unshifted:
        print(f"  not shifted: {', '.join(unshifted)}", file=sys.stderr)
    return run.feedback_failed == 0 and run.errors == 0 and not unshifted


def shifted(rounds: list[dict[str, float]], prior: dict[str, float] | None = None) -> bool:
    """Whether the feedback moved the bandit's traffic: some round's mean distribution is at least
    :data:`MIN_SHIFT` (total variation: the share of traffic that went elsewhere) away from ``prior``,
    the distribution before any feedback, else from the first round's mean.

    Not "the settled leader beats its start": the route's cost weight already leans the prior towards
    the cheap model, and on a task two models are about equally good at the lead can change hands late,
    so the last rounds may end near the start although the traffic moved well away in between."""
    start = prior or (rounds[0] if rounds else {})
    if not start:
        return False
    return any(_distance(mean, start) >= MIN_SHIFT for mean in rounds if mean)


def _distance(one: dict[str, float], other: dict[str, float]) -> float:
    """Total variation distance: half the sum of the absolute differences of each model's probability."""
    return sum(abs(one.get(model, 0.0) - other.get(model, 0.0)) for model in {*one, *other}) / 2
