"""The issue's simulation: a bandit route learns per segment which simulated model is best for its cost,
stays within its exploration bounds, and follows a change of one segment's best model.

Everything is the real code but the table and the models: each step, one request per segment is decided
by :func:`modelrouter.admission.decide_for` with the container cache (:class:`LearningStateCache`, refreshing
every 5 s of a fake clock) over an in-memory learning table, which applies the settlement's own
``learning.state.reward_update`` items (atomic ADDs). The simulated models answer well with a probability
that depends on the segment (their hidden quality); a request's reward is 1 for a good answer, else 0.
The clock advances 2 s per step. Regret is the expected reward (quality - lambda · cost) of each
decision's choice distribution given up against the best model of the segment; since the bounds keep
``1 - max_share`` of the traffic exploring for good, it is also measured against what the bandit converges
to once sure (all of it on the best model, projected onto the bounds).

Run with ``-s`` to see the shares and the cumulative regret.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.helpers import build_policy, chat, features, minimal_policy, model_entry

from modelrouter.admission import decide_for
from modelrouter.bandit.store import LearningStateCache
from modelrouter.bandit.thompson import Arm, project_shares
from modelrouter.learning.state import reward_update, state_key_for
from modelrouter.policy import Policy
from modelrouter.policy.store import ActivePolicy

STEPS = 2_000
"""Requests per segment in each phase."""
TAIL = 300
"""The last requests of a phase whose shares are judged."""
SECONDS_PER_STEP = 2.0
START = 1_800_000_000.0
COST_WEIGHT = 20.0
MIN_SHARE, MAX_SHARE = 0.02, 0.9
COST = {"small": 0.0002, "medium": 0.002, "large": 0.008}
"""What each simulated model's answer costs (USD)."""
QUALITY = {
    "en": {"small": 0.60, "medium": 0.92, "large": 0.95},  # best for its cost: medium (0.88 vs 0.79)
    "de": {"small": 0.35, "medium": 0.60, "large": 0.93},  # best: large (0.77 vs 0.56)
}
"""Each model's chance of a good answer, per segment (language)."""
SHIFTED = {**QUALITY, "de": {"small": 0.35, "medium": 0.95, "large": 0.85}}
"""After the shift: in German, medium got better and large worse (best: medium, 0.91 vs 0.69)."""
TABLE = "learning"


class InMemoryLearningTable:
    """A DynamoDB stand-in for the learning table: ``query`` with ``pk = :pk AND sk BETWEEN``, and the
    settlement's ``Update`` items applied as the ADDs they are."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Decimal]] = {}
        self.queries = 0

    def apply(self, entry: dict[str, Any]) -> None:
        update = entry["Update"]
        key = (update["Key"]["pk"]["S"], update["Key"]["sk"]["S"])
        values = update["ExpressionAttributeValues"]
        item = self.items.setdefault(
            key, {"quality_sum": Decimal(0), "pulls": Decimal(0), "cost_sum": Decimal(0)}
        )
        for name, placeholder in (("quality_sum", ":reward"), ("pulls", ":one"), ("cost_sum", ":cost")):
            item[name] += Decimal(values[placeholder]["N"])

    def query(self, **request: Any) -> dict[str, Any]:
        self.queries += 1
        values = request["ExpressionAttributeValues"]
        pk, first, last = values[":pk"]["S"], values[":first"]["S"], values[":last"]["S"]
        found = [
            {"sk": {"S": sk}, **{name: {"N": str(number)} for name, number in item.items()}}
            for (item_pk, sk), item in sorted(self.items.items())
            if item_pk == pk and first <= sk <= last
        ]
        return {"Items": found}


@dataclass
class Clock:
    """Seconds since the simulation started, as the cache's monotonic and wall clocks."""

    now: float = START

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now


class Healthy:
    """No model is cooling down."""

    def cooling(self) -> dict[str, float]:
        return {}


@dataclass
class Phase:
    """What one phase of one segment saw."""

    chosen: list[str] = field(default_factory=list)
    regret: list[float] = field(default_factory=list)
    """Against the best model, per request."""
    bounded_regret: list[float] = field(default_factory=list)
    """Against the bounded distribution the bandit converges to, per request."""
    shares: list[dict[str, float]] = field(default_factory=list)

    def tail_share(self, model: str) -> float:
        return self.chosen[-TAIL:].count(model) / TAIL


def utility(quality: dict[str, float], model: str) -> float:
    return quality[model] - COST_WEIGHT * COST[model]


def best(quality: dict[str, float]) -> str:
    return max(quality, key=lambda model: utility(quality, model))


def bounded_best(quality: dict[str, float]) -> float:
    """The expected utility of the distribution the bandit converges to once sure of the best model: all
    of it on the best, projected onto the share bounds (the best at max_share, the rest shared)."""
    arms = [Arm(m, 1.0, 1.0, COST[m], min_share=MIN_SHARE, max_share=MAX_SHARE) for m in quality]
    certain = [1.0 if arm.model == best(quality) else 0.0 for arm in arms]
    shares, _ = project_shares(certain, arms)
    return sum(share * utility(quality, arm.model) for arm, share in zip(arms, shares, strict=True))


def halves(values: list[float]) -> tuple[float, float]:
    return sum(values[: STEPS // 2]), sum(values[STEPS // 2 :])


def bandit_policy() -> Policy:
    document = minimal_policy()
    document["models"] = [model_entry(name) for name in COST]
    document["routes"] = [
        {
            "name": "assistant",
            "strategy": "bandit",
            "models": list(COST),
            "bandit": {
                "cost_weight": COST_WEIGHT,
                "segments": {"by": [{"feature": "language", "values": list(QUALITY)}]},
                "min_share": MIN_SHARE,
                "max_share": MAX_SHARE,
                "memory": {"window_seconds": 300, "half_life_seconds": 1800, "horizon_windows": 24},
                "refresh_seconds": 5,
            },
        }
    ]
    return build_policy(document)


def simulate(
    policy: Policy, quality: dict[str, dict[str, float]], steps: int, world: dict[str, Any]
) -> Iterator[tuple[str, Phase]]:
    table: InMemoryLearningTable = world["table"]
    clock: Clock = world["clock"]
    cache: LearningStateCache = world["cache"]
    rng: random.Random = world["rng"]
    phases = {language: Phase() for language in quality}
    active = ActivePolicy(policy, "v1", "etag", "digest")
    for step in range(steps):
        for language, truth in quality.items():
            request_id = f"{world['name']}-{language}-{step}"
            decision = decide_for(active, chat(), features(language=language), Healthy(), tenant_id="t1",
                                  request_id=request_id, bandit_states=cache)  # fmt: skip
            assert decision.bandit is not None
            assert decision.choice is not None
            model = decision.primary.model
            good = rng.random() < truth[model]
            key = state_key_for(
                decision.bandit.state_key, decision.bandit.segment, model,
                started=datetime.fromtimestamp(clock.now, UTC),
                window_seconds=decision.bandit.window_seconds,
                horizon_seconds=decision.bandit.horizon_seconds,
            )  # fmt: skip
            table.apply(reward_update(TABLE, key, 1.0 if good else 0.0, COST[model]))
            phase = phases[language]
            phase.chosen.append(model)
            phase.shares.append(dict(decision.choice.probabilities))
            expected = sum(p * utility(truth, m) for m, p in decision.choice.probabilities.items())
            phase.regret.append(utility(truth, best(truth)) - expected)
            phase.bounded_regret.append(bounded_best(truth) - expected)
        clock.now += SECONDS_PER_STEP
    yield from phases.items()


@pytest.fixture(scope="module")
def run() -> dict[str, dict[str, Phase]]:
    """Both phases of the simulation, once for the module: ``{"learn": …, "shift": …}`` by language."""
    clock = Clock()
    table = InMemoryLearningTable()
    world = {
        "table": table,
        "clock": clock,
        "cache": LearningStateCache(TABLE, table, clock=clock.monotonic, wall_clock=clock.wall),
        "rng": random.Random(13),
        "name": "learn",
    }
    policy = bandit_policy()
    learned = dict(simulate(policy, QUALITY, STEPS, world))
    world["name"] = "shift"
    shifted = dict(simulate(policy, SHIFTED, STEPS, world))
    for label, phase_set, truth in (("learn", learned, QUALITY), ("shift", shifted, SHIFTED)):
        for language, phase in phase_set.items():
            (first, second), (bounded_first, bounded_second) = (
                halves(phase.regret),
                halves(phase.bounded_regret),
            )
            print(
                f"\n{label} {language}: best {best(truth[language])}, last {TAIL} shares "
                + ", ".join(f"{m} {phase.tail_share(m):.0%}" for m in COST)
                + f"; cumulative regret {first + second:.1f} ({first:.1f} + {second:.1f} per 1,000 requests),"
                f" against the bounded optimum {bounded_first + bounded_second:.1f}"
                f" ({bounded_first:.1f} + {bounded_second:.1f})"
            )
    print(f"learning table reads: {table.queries} for {4 * STEPS} requests")
    return {"learn": learned, "shift": shifted}


def test_each_segment_learns_its_best_model_for_the_cost(run: dict[str, dict[str, Phase]]) -> None:
    # Given 2,000 requests per segment
    # When the last 300 of them are counted
    # Then each segment's best model (quality - lambda · cost) took more than 80 % of them
    for language, phase in run["learn"].items():
        assert phase.tail_share(best(QUALITY[language])) > 0.8, language


def test_regret_grows_sublinearly(run: dict[str, dict[str, Phase]]) -> None:
    # Given the per-request regret while a segment learns (both segments at first, German after the
    # shift), against what the bandit converges to within its bounds (against the best model, the bounds'
    # exploration adds a floor that grows linearly by design: 1 - max_share of the traffic never goes to it)
    learning = [*run["learn"].items(), ("de", run["shift"]["de"])]
    for language, phase in learning:
        # When the first and second 1,000 requests are compared
        first, second = halves(phase.bounded_regret)
        # Then the second thousand adds less than half of what the first did
        assert second < first / 2, language


def test_exploration_stays_within_its_bounds(run: dict[str, dict[str, Phase]]) -> None:
    # Given every decision's choice distribution over both phases
    # When their probabilities are checked
    # Then each model always had at least min_share and at most max_share
    for phases in run.values():
        for phase in phases.values():
            for shares in phase.shares:
                assert all(MIN_SHARE - 1e-9 <= share <= MAX_SHARE + 1e-9 for share in shares.values())


def test_a_shift_of_the_best_model_is_followed(run: dict[str, dict[str, Phase]]) -> None:
    # Given German's best model changed from large to medium after the first phase
    assert best(QUALITY["de"]) == "large"
    assert best(SHIFTED["de"]) == "medium"
    # When 2,000 more requests per segment have been served
    # Then the new best takes more than 80 % of the last 300, and English stayed with its best
    assert run["shift"]["de"].tail_share("medium") > 0.8
    assert run["shift"]["en"].tail_share(best(SHIFTED["en"])) > 0.8
