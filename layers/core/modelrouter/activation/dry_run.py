"""The dry run of an uploaded policy: every route decides for every tenant that can reach it, on every
sample request, with the pure decision engine (no I/O, no model called).

Two passes. Pinned: each route is forced (as a request naming it in ``model`` would, pinning allowed for
the dry run only) for each tenant that can reach it, on each sample; a route for which no tenant and no
sample gives a decision with a candidate can never serve anything, and is a problem naming the route
and, for a few tenant × sample pairs, why. Matched: each tenant's samples are routed as the router would
(``model: auto``, ``when`` clauses, topics, defaults). In both, an expected refusal (a
:class:`~modelrouter.errors.RequestDeniedError` or :class:`~modelrouter.errors.NoEligibleModelError`)
is the policy working; any other exception is a problem naming the route (or tenant) and the sample,
since the router would answer that request with a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from modelrouter.errors import NoEligibleModelError, RequestDeniedError
from modelrouter.problems import Problem

if TYPE_CHECKING:
    from modelrouter.activation.samples import Sample
    from modelrouter.features.records import RequestFeatures
    from modelrouter.learned.artifact import LearnedRouter
    from modelrouter.learned.topics import TopicClassifier
    from modelrouter.policy.document import Policy
    from modelrouter.policy.learned import ArtifactRef
    from modelrouter.policy.routes import Route
    from modelrouter.request import ChatRequest

__all__ = ["DRY_RUN_REQUEST_ID", "MAX_REASONS_SHOWN", "dry_run"]

DRY_RUN_REQUEST_ID: Final = "activation-dry-run"
"""The request id of every dry-run decision (weighted and bandit draws are seeded by it)."""
MAX_REASONS_SHOWN: Final = 3
"""Tenant × sample refusals quoted for a route that never gets a candidate."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    sample: Sample
    request: ChatRequest
    features: RequestFeatures


@dataclass(frozen=True, slots=True)
class _Artifacts:
    routers: Mapping[ArtifactRef, LearnedRouter] | None
    topics: TopicClassifier | None


def dry_run(
    policy: Policy,
    *,
    routers: Mapping[ArtifactRef, LearnedRouter] | None = None,
    topics: TopicClassifier | None = None,
    samples: tuple[tuple[Sample, ChatRequest], ...] | None = None,
) -> list[Problem]:
    """Every problem the dry run finds (empty: every route can serve, nothing crashed).

    ``samples`` default to :func:`~modelrouter.activation.samples.sample_requests`.
    """
    from modelrouter.activation.samples import sample_requests
    from modelrouter.features import extract_features

    problems: list[Problem] = []
    prepared: list[_Prepared] = []
    for sample, request in samples if samples is not None else sample_requests():
        try:
            prepared.append(_Prepared(sample, request, extract_features(request)))
        except Exception as error:  # a feature extractor bug would 500 every such request
            problems.append(Problem("", f"sample '{sample.name}': features failed: {_describe(error)}"))
    artifacts = _Artifacts(routers, topics)
    forced = _every_route_pinnable(policy)
    for index, route in enumerate(policy.routes):
        problems.extend(_forced_route(forced, (index, route), prepared, artifacts))
    for index, tenant in enumerate(policy.tenants):
        for item in prepared:
            failure = _decide(policy, item.request, tenant.id, item.features, artifacts)
            if failure is not None and not _expected(failure):
                where = f"tenant '{tenant.id}', sample '{item.sample.name}'"
                problems.append(Problem(f"tenants[{index}]", f"{where}: {_crashed(failure)}"))
    return problems


def _forced_route(
    policy: Policy, at: tuple[int, Route], prepared: list[_Prepared], artifacts: _Artifacts
) -> list[Problem]:
    """The problems of one route (``at``: its index and itself) forced for each tenant that can reach
    it, on each sample."""
    index, route = at
    problems: list[Problem] = []
    refusals: list[str] = []
    served = False
    for tenant in _tenants_reaching(policy, route):
        for item in prepared:
            request = item.request.model_copy(update={"model": route.name})
            error = _decide(policy, request, tenant, item.features, artifacts)
            where = f"tenant '{tenant}', sample '{item.sample.name}'"
            if error is None:
                served = True
            elif _expected(error):
                refusals.append(f"{where}: {_refusal(error)}")
            else:
                problems.append(
                    Problem(f"routes[{index}]", f"route '{route.name}', {where}: {_crashed(error)}")
                )
    if not served and not problems:
        shown = "; ".join(refusals[:MAX_REASONS_SHOWN])
        more = f" (and {len(refusals) - MAX_REASONS_SHOWN} more)" if len(refusals) > MAX_REASONS_SHOWN else ""
        problems.append(
            Problem(
                f"routes[{index}]",
                f"route '{route.name}' never decides with a candidate: no tenant that can reach it gets a "
                f"model for any sample request ({shown or 'no tenant can reach it'}{more})",
            )
        )
    return problems


def _decide(
    policy: Policy, request: ChatRequest, tenant: str, features: RequestFeatures, artifacts: _Artifacts
) -> BaseException | None:
    """``None`` when the decision has a candidate; else what was raised."""
    from modelrouter.selection import RequestContext, decide

    try:
        context = RequestContext.from_metadata(DRY_RUN_REQUEST_ID, tenant, request.metadata)
        decide(
            policy, request, context, features=features, routers=artifacts.routers, topics=artifacts.topics
        )
    except Exception as error:
        return error
    return None


def _expected(error: BaseException) -> bool:
    return isinstance(error, RequestDeniedError | NoEligibleModelError)


def _refusal(error: BaseException) -> str:
    if isinstance(error, NoEligibleModelError):
        reasons = sorted({str(exclusion.reason) for exclusion in error.exclusions})
        return f"no eligible model ({', '.join(reasons) or 'none listed'})"
    return f"{getattr(error, 'code', type(error).__name__)}: {getattr(error, 'message', error)}"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"


def _crashed(error: BaseException) -> str:
    return f"the decision crashed: {_describe(error)}"


def _tenants_reaching(policy: Policy, route: Route) -> list[str]:
    """The tenants a request of which can end on ``route``: its ``when.tenants`` (all when unset),
    those whose default or over-budget route it is, and all when it is the policy's default."""
    if route.when.tenants is None or policy.defaults.route == route.name:
        return [tenant.id for tenant in policy.tenants]
    named = set(route.when.tenants)
    return [
        tenant.id
        for tenant in policy.tenants
        if tenant.id in named or route.name in (tenant.default_route, tenant.over_budget_route)
    ]


def _every_route_pinnable(policy: Policy) -> Policy:
    """``policy`` where every tenant may pin every route (for the forced pass only)."""
    from modelrouter.policy.document import Policy as PolicyModel
    from modelrouter.policy.tenants import Pinning

    def pinnable(pinning: Pinning) -> Pinning:
        return pinning.model_copy(update={"routes": "*"})

    tenants = [
        tenant.model_copy(update={"pinning": pinnable(tenant.pinning)}) if tenant.pinning else tenant
        for tenant in policy.tenants
    ]
    fields = {name: getattr(policy, name) for name in PolicyModel.model_fields}
    fields |= {"pinning": pinnable(policy.pinning), "tenants": tenants}
    return PolicyModel.model_construct(_fields_set=policy.model_fields_set, **fields)
