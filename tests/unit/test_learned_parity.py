"""``modelrouter learn score`` and the runtime's learned route give the same predicted qualities: both
score with the committed local router through the same code (``LearnedRouter.score``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrouter.cli.main import main
from modelrouter.policy.artifacts import load_local_routers
from modelrouter.policy.loader import load_policy_file
from modelrouter.request import parse_chat_request
from modelrouter.selection import RequestContext, decide

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "local.yaml"
PROMPTS = {
    "sum": "What is 17 + 25? Reply with the number only.",
    "code": "Write a Python function that reverses a linked list and explain its complexity.",
    "legal": "Summarise this contract clause: the supplier is liable for direct damages only.",
    "long": "Translate into German: " + "the weather is lovely today and we walk along the river. " * 200,
    "chat": "hi there, how are you?",
}


def test_learn_score_equals_the_learned_routes_predicted_quality(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local policy's learned route, its committed router, and the same prompts as a requests file
    policy = load_policy_file(POLICY).policy
    routers = load_local_routers(policy, POLICY)
    route = policy.route_by_name["learned-assistant"]
    assert route.learned is not None
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        "".join(json.dumps({"request_id": key, "prompt": text}) + "\n" for key, text in PROMPTS.items())
    )
    # When learn score scores the file and the decision engine decides each prompt on the learned route
    assert main(["learn", "score", "--router", str(POLICY.parent / route.learned.router), str(requests)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Then every candidate's predicted quality equals learn score's score for its artifact model
    assert [line["request_id"] for line in lines] == list(PROMPTS)
    artifact_name = {catalog: name for name, catalog in route.learned.model_map.items()}
    for line in lines:
        request = parse_chat_request(
            {"model": "auto", "messages": [{"role": "user", "content": PROMPTS[line["request_id"]]}]}
        )
        decision = decide(
            policy,
            request,
            RequestContext(request_id=line["request_id"], tenant_id="helpdesk"),
            routers=routers,
        )
        assert decision.route == "learned-assistant"
        predicted = {c.model: c.predicted_quality for c in decision.candidates}
        assert predicted == {model: line["scores"][artifact_name[model]] for model in predicted}
        assert len(predicted) == len(route.models or ())
