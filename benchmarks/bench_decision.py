"""Decision time: features + engine for the example policy scaled to 30 models (and at least 15 routes);
and what a bandit route adds to a decision over the same route as a fallback list."""

from __future__ import annotations

from benchmarks.harness import Result, summarize, time_calls
from benchmarks.workloads import prompt_request, scaled_policy
from modelrouter.bandit.posteriors import Evidence
from modelrouter.bandit.snapshot import BanditSnapshot, state_key_of
from modelrouter.features import extract_features
from modelrouter.policy import Policy, Strategy
from modelrouter.selection import RequestContext, decide

# (label, prompt bytes, samples, p99 target in ms or None)
CASES = [("1 KB", 1_024, 3000, None), ("32 KB", 32 * 1024, 1000, 1.0), ("400 KB", 400 * 1024, 200, 15.0)]
BANDIT_TENANT = "shopwise"
"""The example policy's tenant whose requests its bandit route (``shop-assistant``) takes."""
BANDIT_SAMPLES = 2000
BANDIT_P99_TARGET_MS = 1.0
"""A bandit decision whose posteriors are already drawn (every request between two cache refreshes)."""
FRESH_DRAWS_P99_TARGET_MS = 10.0
"""A bandit decision that draws new posteriors (the first request of a segment after a refresh)."""


def run() -> list[Result]:
    """Time one decision (feature extraction included) per prompt size, then the bandit rows."""
    policy = scaled_policy()
    assert len(policy.models) == 30
    assert len(policy.routes) >= 15
    context = RequestContext(request_id="bench-1", tenant_id="devtools")
    results: list[Result] = []
    for label, size, samples, target in CASES:
        request = prompt_request(size)
        decision = decide(policy, request, context)
        note = f"route {decision.route}, {len(decision.candidates)} candidates"

        def one_decision(request=request) -> None:  # type: ignore[no-untyped-def]
            decide(policy, request, context, features=extract_features(request))

        results.append(summarize(f"decision {label} prompt", time_calls(one_decision, samples), target, note))
        results.append(
            summarize(
                f"  of which features {label}",
                time_calls(lambda r=request: extract_features(r), samples),
                None,
            )
        )
    return [*results, *bandit_rows(policy)]


def _as_fallback(policy: Policy, route_name: str) -> Policy:
    """``policy`` with the route turned into a fallback list of the same models, at the same place."""
    routes = [
        route.model_copy(update={"strategy": Strategy.FALLBACK, "bandit": None})
        if route.name == route_name
        else route
        for route in policy.routes
    ]
    return policy.model_copy(update={"routes": routes})


def bandit_rows(policy: Policy) -> list[Result]:
    """A bandit route's decision (features given, as the service gives them) with its posteriors already
    drawn and with new ones, next to the same route as a fallback list; p50 differences in the notes."""
    request = prompt_request(1_024)
    features = extract_features(request)
    context = RequestContext(request_id="bench-bandit", tenant_id=BANDIT_TENANT)
    route = decide(policy, request, context, features=features)
    assert route.bandit is not None, "the example policy's shopwise requests take its bandit route"
    fallback = _as_fallback(policy, route.route)
    key = state_key_of(policy.name, route.route)
    segment = route.bandit.segment
    models = [c.model for c in route.candidates]

    def snapshot(outcomes: float) -> dict[str, BanditSnapshot]:
        evidence = {
            (segment, m): Evidence(0.6 * outcomes + i, outcomes, 0.002 * outcomes)
            for i, m in enumerate(models)
        }
        return {key: BanditSnapshot(key, evidence, age_s=1.0)}

    warm = snapshot(200.0)
    counter = iter(range(10**9))

    def fallback_decision() -> None:
        decide(fallback, request, context, features=features)

    def drawn_decision() -> None:
        decide(policy, request, context, features=features, bandit_states=warm)

    def fresh_decision() -> None:  # new posteriors every call: the draws are computed, not cached
        decide(policy, request, context, features=features, bandit_states=snapshot(200.0 + next(counter)))

    note = f"route {route.route}, {len(models)} models, features given"
    base = summarize(
        "decision 1 KB, same route as fallback", time_calls(fallback_decision, BANDIT_SAMPLES), None, note
    )
    drawn = time_calls(drawn_decision, BANDIT_SAMPLES)
    fresh = time_calls(fresh_decision, BANDIT_SAMPLES // 4)
    rows = [
        base,
        summarize("decision 1 KB, bandit, posteriors drawn", drawn, BANDIT_P99_TARGET_MS),
        summarize("decision 1 KB, bandit, new posteriors", fresh, FRESH_DRAWS_P99_TARGET_MS),
    ]
    return [
        rows[0],
        *(
            Result(
                r.name,
                r.samples,
                r.p50_ms,
                r.p99_ms,
                r.target_ms,
                f"+{r.p50_ms - base.p50_ms:.3f} ms p50 over fallback",
            )
            for r in rows[1:]
        ),
    ]
