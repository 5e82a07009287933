"""The request-time half of learned routing needs none of the ``learn`` extra: a learned route, and the
topic classifier, load their artifacts and score with numpy, scikit-learn and scipy unimportable (as in
the Lambda layer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_LEARN_EXTRA = """
import sys
for blocked in ("numpy", "sklearn", "scipy", "matplotlib", "threadpoolctl"):
    sys.modules[blocked] = None  # any import of it now raises ImportError
from pathlib import Path
from modelrouter.policy.artifacts import load_local_routers, load_local_topics
from modelrouter.policy.loader import load_policy_file
from modelrouter.request import parse_chat_request
from modelrouter.selection import RequestContext, decide

policy_file = Path(sys.argv[1])
policy = load_policy_file(policy_file).policy
"""
"""Blocks the learn extra in a fresh interpreter and loads the policy file given as its argument."""

LEARNED_ROUTE = (
    WITHOUT_LEARN_EXTRA
    + """
routers = load_local_routers(policy, policy_file)
message = {"role": "user", "content": "Translate 'thank you' into Spanish."}
request = parse_chat_request({"messages": [message]})
decision = decide(policy, request, RequestContext(request_id="r1", tenant_id="helpdesk"), routers=routers)
assert decision.learned is not None and decision.learned.applied, decision.notes
print(sorted((c.model, round(c.predicted_quality, 3)) for c in decision.candidates))
"""
)

TOPIC = (
    WITHOUT_LEARN_EXTRA
    + """
topics = load_local_topics(policy, policy_file)
message = {"role": "user", "content": "Where is my parcel? Tracking is stuck."}
request = parse_chat_request({"messages": [message]})
decision = decide(policy, request, RequestContext(request_id="r1", tenant_id="acme-support"), topics=topics)
print(decision.features.topic.label, decision.route)
"""
)


def run_local_policy(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter, given ``policies/local.yaml``."""
    return subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "policies" / "local.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_learned_route_scores_without_the_learn_extra() -> None:
    # Given numpy, scikit-learn, scipy and matplotlib blocked in a fresh interpreter
    # When the local policy's learned route decides a request
    result = run_local_policy(LEARNED_ROUTE)
    # Then it scored every candidate
    assert result.returncode == 0, result.stderr
    assert "local-small" in result.stdout
    assert "local-large" in result.stdout


def test_the_router_scores_topics_without_the_learn_extra() -> None:
    # Given the learn extra blocked in a fresh interpreter (as in Lambda)
    # When the local policy's classifier is loaded and a request decided with it
    result = run_local_policy(TOPIC)
    # Then the request got its topic, and the topic picked the route
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "shipping support-faq"
