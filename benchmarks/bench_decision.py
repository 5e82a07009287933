"""Decision time: features + engine for the example policy scaled to 30 models and 15 routes."""

from __future__ import annotations

from benchmarks.harness import Result, summarize, time_calls
from benchmarks.workloads import prompt_request, scaled_policy
from modelrouter.features import extract_features
from modelrouter.selection import RequestContext, decide

# (label, prompt bytes, samples, p99 target in ms or None)
CASES = [("1 KB", 1_024, 3000, None), ("32 KB", 32 * 1024, 1000, 1.0), ("400 KB", 400 * 1024, 200, 15.0)]


def run() -> list[Result]:
    """Time one decision (feature extraction included) per prompt size."""
    policy = scaled_policy()
    assert len(policy.models) == 30
    assert len(policy.routes) == 15
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
    return results
