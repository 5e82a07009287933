"""pi(a|x) of a candidate policy on logged traffic: replay its ``decide`` on each logged request.

Each logged outcome line becomes the request the router saw (its ``prompt`` or ``messages`` with its
``metadata``) and the context it was decided in (``RequestContext.from_metadata(request_id, tenant,
metadata)``: the same request id, so a weighted split falls the same way). The candidate's probability of
each model being the primary is ``decision.choice.probabilities`` for stochastic strategies, else
``{primary: 1}``. A request the candidate refuses (an unknown tenant, no route, no eligible model, a
limit) has no choice at all: it is reported as a refusal, with the refusal's code.

Replays assume a healthy fleet and a budget with room: no model is cooling down, no tenant is over budget.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from modelrouter.errors import InvalidRequestError, NoEligibleModelError, RequestDeniedError
from modelrouter.learned.artifact import LearnedRouter
from modelrouter.learned.topics import TopicClassifier
from modelrouter.policy.document import Policy
from modelrouter.policy.learned import ArtifactRef
from modelrouter.policy.routes import Route, When
from modelrouter.selection.context import RequestContext
from modelrouter.selection.engine import decide
from modelrouter.training.ope import MIN_PROPENSITY
from modelrouter.training.outcomes import Outcome, OutcomesError

__all__ = ["Replay", "Replayed", "check_logged", "replay", "variant_policy"]

NO_ELIGIBLE_MODEL = "no_eligible_model"
"""Refusal code of a request whose route has no model that may serve it."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """What the candidate does with one logged request."""

    outcome: Outcome
    """The logged line (its ``model`` is the model the logging policy chose)."""
    choice: Mapping[str, float]
    """Model id to the candidate's probability of making it the primary; empty when refused."""
    refusal: str | None = None
    """Why the candidate refuses the request (the refusal's code), or None."""
    estimated_cost_usd: Mapping[str, float] | None = None
    """The candidate decision's estimated cost of each of its candidates for this request."""

    @property
    def target(self) -> float:
        """The candidate's probability of choosing the logged model."""
        return self.choice.get(self.outcome.model, 0.0)


@dataclass(frozen=True, slots=True)
class Replay:
    """A candidate policy replayed on every logged request."""

    items: tuple[Replayed, ...]
    """One per logged line, in order."""

    @property
    def routed(self) -> tuple[Replayed, ...]:
        """The requests the candidate would route (not refused)."""
        return tuple(item for item in self.items if item.refusal is None)

    def refusals(self) -> Counter[str]:
        """How many requests the candidate refuses, by refusal code."""
        return Counter(item.refusal for item in self.items if item.refusal is not None)

    def unlogged_models(self) -> Counter[str]:
        """Models the candidate may choose that no logged line has, with the number of requests where it
        gives them a positive probability (the estimate cannot see those choices: a support problem)."""
        logged = {item.outcome.model for item in self.items}
        counts: Counter[str] = Counter()
        for item in self.items:
            counts.update(model for model, p in item.choice.items() if p > 0 and model not in logged)
        return counts


def check_logged(outcomes: Sequence[Outcome]) -> None:
    """Check that ``outcomes`` are logged traffic a candidate can be replayed on.

    Raises:
        OutcomesError: a line without ``propensity`` (or one below :data:`~modelrouter.training.ope
            .MIN_PROPENSITY`) or ``tenant``, or a request id logged twice (logged
            traffic has one line per request); the message names the file and line.
    """
    seen: set[str] = set()
    for outcome in outcomes:
        where = outcome.source or "outcomes"
        if outcome.propensity is None:
            raise OutcomesError(
                where,
                outcome.line,
                "no 'propensity': off-policy evaluation needs the probability the logging policy chose "
                "this model with (logged traffic written by `modelrouter outcomes export` carries it)",
            )
        if outcome.propensity < MIN_PROPENSITY:
            raise OutcomesError(
                where,
                outcome.line,
                f"'propensity' {outcome.propensity:g} is below {MIN_PROPENSITY:g}: its importance weight is "
                "too large to estimate with",
            )
        if outcome.tenant is None:
            raise OutcomesError(where, outcome.line, "no 'tenant': the candidate policy cannot be replayed")
        if outcome.request_id in seen:
            raise OutcomesError(
                where,
                outcome.line,
                f"request '{outcome.request_id}' is logged twice (logged traffic has one line per request)",
            )
        seen.add(outcome.request_id)


def replay(
    policy: Policy,
    outcomes: Sequence[Outcome],
    *,
    routers: Mapping[ArtifactRef, LearnedRouter] | None = None,
    topics: TopicClassifier | None = None,
    policy_version: str = "",
) -> Replay:
    """Replay ``policy`` on each logged line (checked by :func:`check_logged` first).

    Raises:
        OutcomesError: see :func:`check_logged`.
    """
    check_logged(outcomes)
    return Replay(
        tuple(_replay_one(policy, outcome, routers, topics, policy_version) for outcome in outcomes)
    )


def _replay_one(
    policy: Policy,
    outcome: Outcome,
    routers: Mapping[ArtifactRef, LearnedRouter] | None,
    topics: TopicClassifier | None,
    policy_version: str,
) -> Replayed:
    request = outcome.request
    if outcome.metadata is not None:
        request = request.model_copy(update={"metadata": dict(outcome.metadata)})
    try:
        context = RequestContext.from_metadata(outcome.request_id, outcome.tenant or "", outcome.metadata)
        decision = decide(
            policy, request, context, policy_version=policy_version, routers=routers, topics=topics
        )
    except RequestDeniedError as error:
        return Replayed(outcome, {}, refusal=error.code)
    except NoEligibleModelError:
        return Replayed(outcome, {}, refusal=NO_ELIGIBLE_MODEL)
    except InvalidRequestError as error:
        return Replayed(outcome, {}, refusal=error.code)
    if decision.choice is not None:
        choice = dict(decision.choice.probabilities)
    else:
        choice = {decision.primary.model: 1.0}
    costs = {candidate.model: candidate.estimated_cost_usd for candidate in decision.candidates}
    return Replayed(outcome, choice, estimated_cost_usd=costs)


def variant_policy(policy: Policy, route: Route, variant: str) -> Policy:
    """``policy`` with ``route`` alone, matching every request and holding only ``variant``: replaying it
    sends every request to the variant's first eligible model (deterministically)."""
    arms = [arm for arm in route.variants or () if arm.name == variant]
    if not arms:
        raise ValueError(f"route '{route.name}' has no variant '{variant}'")
    only = route.model_copy(update={"when": When(), "variants": arms, "promote_when": None})
    document = policy.model_dump(exclude_unset=True)
    document["routes"] = [only.model_dump(exclude_unset=True)]
    document.get("defaults", {}).pop("route", None)
    for tenant in document.get("tenants", []):
        tenant.pop("default_route", None)
        tenant.pop("over_budget_route", None)
    return Policy.model_validate(document)
