"""The request-time half of learned routing needs none of the ``learn`` extra: a learned route loads its
artifact and scores with numpy, scikit-learn and scipy unimportable (as in the Lambda layer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
for blocked in ("numpy", "sklearn", "scipy", "matplotlib"):
    sys.modules[blocked] = None  # any import of it now raises ImportError
from pathlib import Path
from modelrouter.policy.artifacts import load_local_routers
from modelrouter.policy.loader import load_policy_file
from modelrouter.request import parse_chat_request
from modelrouter.selection import RequestContext, decide

policy_file = Path(sys.argv[1])
policy = load_policy_file(policy_file).policy
routers = load_local_routers(policy, policy_file)
message = {"role": "user", "content": "Translate 'thank you' into Spanish."}
request = parse_chat_request({"messages": [message]})
decision = decide(policy, request, RequestContext(request_id="r1", tenant_id="helpdesk"), routers=routers)
assert decision.learned is not None and decision.learned.applied, decision.notes
print(sorted((c.model, round(c.predicted_quality, 3)) for c in decision.candidates))
"""


def test_a_learned_route_scores_without_the_learn_extra() -> None:
    # Given numpy, scikit-learn, scipy and matplotlib blocked in a fresh interpreter
    # When the local policy's learned route decides a request
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "policies" / "local.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it scored every candidate
    assert result.returncode == 0, result.stderr
    assert "local-small" in result.stdout
    assert "local-large" in result.stdout
