"""A policy's estimated mean quality and cost on logged traffic: SNIPS and doubly robust, from a replay.

The doubly robust estimate needs two reward models. Quality: a learned router's predicted quality of each
model for the request (pure-Python scoring, :mod:`modelrouter.learned.artifact`), or without a router the
per-model mean of the logged quality; a model the router does not know falls back to that mean, and a model
never logged to the mean over every line. Cost: the per-model mean of the logged cost, or for a model never
logged the candidate decision's own estimated cost of the request.

A request the candidate refuses takes no part in its estimates (they are per routed request); how many it
refuses is reported next to them.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from modelrouter.features import extract_features
from modelrouter.learned.artifact import LearnedRouter
from modelrouter.learned.features import request_text
from modelrouter.policy.document import Policy
from modelrouter.training.ope import Estimate, EstimatorError, doubly_robust, sample_mean, snips
from modelrouter.training.ope_replay import Replay, Replayed
from modelrouter.training.outcomes import Outcome

__all__ = [
    "LoggedEstimates",
    "MeanQualityModel",
    "PolicyEstimates",
    "QualityModel",
    "RouterQualityModel",
    "estimate_logged",
    "estimate_replay",
    "mean_costs",
    "router_names",
]


class QualityModel(Protocol):
    """DR's reward model: a request's predicted quality for each of some models."""

    description: str
    """What it is, for the report."""

    def predict(self, outcome: Outcome, models: Iterable[str]) -> dict[str, float]:
        """Predicted quality in [0, 1] of each of ``models`` on the logged request ``outcome``."""
        ...


class MeanQualityModel:
    """Each model's mean logged quality (the mean over every line for a model never logged)."""

    def __init__(self, outcomes: Sequence[Outcome]) -> None:
        self.means = _means(outcomes, lambda outcome: outcome.quality)
        self.overall = statistics.fmean(outcome.quality for outcome in outcomes) if outcomes else 0.0
        self.description = "per-model mean of the logged quality"

    def predict(self, outcome: Outcome, models: Iterable[str]) -> dict[str, float]:
        """Each model's mean logged quality, whatever the request."""
        return {model: self.means.get(model, self.overall) for model in models}


class RouterQualityModel:
    """A learned router's predicted quality; the per-model mean for models it does not know."""

    def __init__(
        self, router: LearnedRouter, names: Mapping[str, str], fallback: MeanQualityModel, source: str
    ) -> None:
        self.router, self.names, self.fallback = router, names, fallback
        self.description = f"learned router {source} ({router.digest[:19]}...)"
        self.unknown: set[str] = set()
        """Models the router could not predict (the mean was used)."""

    def predict(self, outcome: Outcome, models: Iterable[str]) -> dict[str, float]:
        """The router's scores of the request, mapped to catalog ids."""
        request = outcome.request
        scores = self.router.score(request_text(request), extract_features(request))
        predicted: dict[str, float] = {}
        for model in models:
            name = self.names.get(model, model)
            if name in scores:
                predicted[model] = scores[name]
            else:
                self.unknown.add(model)
                predicted[model] = self.fallback.predict(outcome, [model])[model]
        return predicted


def router_names(policies: Iterable[Policy]) -> dict[str, str]:
    """Catalog model id to a router artifact's name for it, from the ``model_map`` of every router pin the
    policies hold (a model a router knows by its catalog id needs no entry)."""
    names: dict[str, str] = {}
    for policy in policies:
        for route in policy.routes:
            for _, pin in route.router_pins():
                model_map = getattr(pin, "model_map", None) or {}
                for name, model_id in model_map.items():
                    names.setdefault(model_id, name)
    return names


def mean_costs(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Each logged model's mean cost per request (DR's cost model)."""
    return _means(outcomes, lambda outcome: outcome.cost_usd)


def _means(outcomes: Sequence[Outcome], value: _Value) -> dict[str, float]:
    by_model: dict[str, list[float]] = defaultdict(list)
    for outcome in outcomes:
        by_model[outcome.model].append(value(outcome))
    return {model: statistics.fmean(values) for model, values in by_model.items()}


class _Value(Protocol):
    def __call__(self, outcome: Outcome, /) -> float: ...


@dataclass(frozen=True, slots=True)
class LoggedEstimates:
    """The logging policy's own value: the plain means of the logged lines."""

    quality: Estimate
    """Mean logged quality."""
    cost: Estimate
    """Mean logged cost per request (USD)."""
    models: Mapping[str, int]
    """How many lines each model has."""


def estimate_logged(outcomes: Sequence[Outcome], *, confidence: float) -> LoggedEstimates:
    """The plain means of the logged quality and cost, with their intervals.

    Raises:
        EstimatorError: fewer than two lines.
    """
    return LoggedEstimates(
        sample_mean([o.quality for o in outcomes], confidence=confidence).within(0.0, 1.0),
        sample_mean([o.cost_usd for o in outcomes], confidence=confidence).within(0.0),
        dict(Counter(outcome.model for outcome in outcomes).most_common()),
    )


@dataclass(frozen=True, slots=True)
class PolicyEstimates:
    """A replayed policy's estimated mean quality and cost per routed request."""

    quality_snips: Estimate
    """Mean quality, SNIPS."""
    quality_dr: Estimate
    """Mean quality, doubly robust."""
    cost_snips: Estimate
    """Mean cost per request (USD), SNIPS."""
    cost_dr: Estimate
    """Mean cost per request (USD), doubly robust."""
    requests: int
    """Logged requests replayed."""
    refusals: Mapping[str, int]
    """Requests the policy refuses, by refusal code (left out of the estimates)."""
    unlogged_models: Mapping[str, int]
    """Models the policy may choose that were never logged, with how many requests (support problems)."""
    choices: Mapping[str, float]
    """Expected number of routed requests per model under the policy (the sum of its probabilities)."""


def estimate_replay(
    replayed: Replay,
    quality_model: QualityModel,
    costs: Mapping[str, float],
    *,
    confidence: float,
) -> PolicyEstimates:
    """SNIPS and DR estimates of a replayed policy's mean quality and cost.

    Raises:
        EstimatorError: fewer than two routed requests, or none where the policy would choose the logged
            model.
    """
    routed = replayed.routed
    if not routed and replayed.items:
        reasons = ", ".join(f"{code} {count:,}" for code, count in replayed.refusals().most_common())
        raise EstimatorError(f"the policy refuses all {len(replayed.items):,} logged requests ({reasons})")
    values = [item.outcome.quality for item in routed]
    spend = [item.outcome.cost_usd for item in routed]
    propensities = [item.outcome.propensity or 1.0 for item in routed]
    targets = [item.target for item in routed]
    predicted, direct, cost_logged, cost_direct = [], [], [], []
    choices: dict[str, float] = defaultdict(float)
    for item in routed:
        models = {item.outcome.model, *item.choice}
        quality = quality_model.predict(item.outcome, models)
        cost = {model: _cost(model, item, costs) for model in models}
        predicted.append(quality[item.outcome.model])
        direct.append(sum(p * quality[model] for model, p in item.choice.items()))
        cost_logged.append(cost[item.outcome.model])
        cost_direct.append(sum(p * cost[model] for model, p in item.choice.items()))
        for model, p in item.choice.items():
            choices[model] += p
    return PolicyEstimates(
        quality_snips=snips(values, propensities, targets, confidence=confidence).within(0.0, 1.0),
        quality_dr=doubly_robust(
            values, propensities, targets, predicted, direct, confidence=confidence
        ).within(0.0, 1.0),
        cost_snips=snips(spend, propensities, targets, confidence=confidence).within(0.0),
        cost_dr=doubly_robust(
            spend, propensities, targets, cost_logged, cost_direct, confidence=confidence
        ).within(0.0),
        requests=len(replayed.items),
        refusals=dict(replayed.refusals().most_common()),
        unlogged_models=dict(replayed.unlogged_models().most_common()),
        choices=dict(sorted(choices.items(), key=lambda pair: -pair[1])),
    )


def _cost(model: str, item: Replayed, costs: Mapping[str, float]) -> float:
    if model in costs:
        return costs[model]
    return (item.estimated_cost_usd or {}).get(model, 0.0)
