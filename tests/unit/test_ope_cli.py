"""``modelrouter policy evaluate``: a candidate policy's estimated quality and cost on logged traffic, next
to the logged means and the replayed current policy; its JSON, its plot, and its errors."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import EXAMPLE_POLICY, ROOT, run_cli
from tests.ope_logs import logged_lines, write_lines

from modelrouter.cli.main import EXIT_OK, EXIT_REJECTED
from modelrouter.features import extract_features
from modelrouter.policy import load_policy_file
from modelrouter.training.outcomes import read_outcomes

QUALITY = {"claude-haiku-bedrock": 0.7, "nova-pro": 0.9, "gpt-4o": 0.8}
COST = {"claude-haiku-bedrock": 0.001, "nova-pro": 0.002, "gpt-4o": 0.01}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 requests of devtools, routed by the example policy's weighted route `general` (90/10)."""
    policy = load_policy_file(EXAMPLE_POLICY).policy
    lines = logged_lines(policy, "devtools", 2_000, QUALITY, COST, seed=2)
    return write_lines(tmp_path_factory.mktemp("logged") / "logged.jsonl", lines)


def evaluate(
    capsys: pytest.CaptureFixture[str], policy: Path, outcomes: Path, *argv: str
) -> tuple[int, str, str]:
    """``modelrouter policy evaluate --policy POLICY --outcomes OUTCOMES ARGV...``."""
    return run_cli(capsys, "policy", "evaluate", "--policy", str(policy), "--outcomes", str(outcomes), *argv)


def candidate(tmp_path: Path, change: Any) -> Path:
    """The example policy changed by ``change``, next to a copy of its artifacts."""
    shutil.copytree(ROOT / "policies" / "routers", tmp_path / "routers", dirs_exist_ok=True)
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    change(document)
    path = tmp_path / "candidate.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def general_to(models: list[str]) -> Any:
    def change(document: dict[str, Any]) -> None:
        route = next(route for route in document["routes"] if route["name"] == "general")
        for key in ("variants", "promote_when"):
            route.pop(key, None)
        route.update({"strategy": "fallback", "models": models})

    return change


def test_the_candidate_is_estimated_next_to_the_logged_and_current_policies(
    capsys: pytest.CaptureFixture[str], logged: Path, tmp_path: Path
) -> None:
    # Given a candidate sending general's traffic to nova-pro (logged on 10 % of it, right 90 % of the time)
    policy = candidate(tmp_path, general_to(["nova-pro", "claude-haiku-bedrock"]))
    report, plot = tmp_path / "report.json", tmp_path / "plot.png"
    # When it is evaluated against the example policy (the one that logged the traffic)
    code, out, _ = evaluate(
        capsys, policy, logged, "--current", str(EXAMPLE_POLICY), "--json", str(report), "--plot", str(plot)
    )
    # Then the table shows the logged mean, the current policy and the candidate, SNIPS and DR
    assert code == EXIT_OK
    assert "logged (as served)" in out
    assert f"current {EXAMPLE_POLICY}" in out
    assert f"candidate {policy}" in out
    assert "delta method" in out
    data = json.loads(report.read_text())
    # And the candidate's estimates are within two half-widths of nova-pro's true quality, at its cost
    for method in ("snips", "dr"):
        estimate = data["candidate"]["quality"][method]
        assert abs(estimate["value"] - QUALITY["nova-pro"]) <= 2 * estimate["half_width"]
        assert data["candidate"]["cost_usd"][method]["value"] == pytest.approx(COST["nova-pro"])
    assert data["candidate"]["quality"]["snips"]["effective_n"] == pytest.approx(200, rel=0.2)
    # And the current policy replayed on its own log gives back the logged mean (its propensities are right)
    assert data["current"]["quality"]["snips"]["value"] == pytest.approx(data["logged"]["quality"]["value"])
    assert data["logged"]["quality"]["n"] == 2_000
    assert data["confidence"] == 0.95
    # And the plot is a PNG
    assert plot.read_bytes().startswith(PNG_MAGIC)


def test_refusals_and_models_never_logged_are_reported(
    capsys: pytest.CaptureFixture[str], logged: Path, tmp_path: Path
) -> None:
    # Given a candidate whose general route splits evenly between nova-pro and gpt-4o (never logged), and
    # refuses prompts over 20 tokens
    limit = 20

    def change(document: dict[str, Any]) -> None:
        route = next(route for route in document["routes"] if route["name"] == "general")
        route.pop("promote_when")
        route["variants"] = [
            {"name": "a", "weight": 1, "models": ["nova-pro"]},
            {"name": "b", "weight": 1, "models": ["gpt-4o"]},
        ]
        route["limits"]["max_prompt_tokens"] = limit

    policy = candidate(tmp_path, change)
    report = tmp_path / "report.json"
    # When it is evaluated
    code, out, _ = evaluate(
        capsys,
        policy,
        logged,
        "--json",
        str(report),
    )
    # Then the requests it refuses are counted by code and left out of its estimates
    assert code == EXIT_OK
    outcomes = read_outcomes([logged])
    too_long = sum(extract_features(outcome.request).prompt_tokens > limit for outcome in outcomes)
    assert 0 < too_long < len(outcomes)
    routed = len(outcomes) - too_long
    assert f"refuses {too_long:,} of 2,000 logged requests (prompt_too_long {too_long:,})" in out
    # And the model it would choose that was never logged is named with its count of requests
    assert f"would choose models never logged (gpt-4o {routed:,} requests)" in out
    data = json.loads(report.read_text())["candidate"]
    assert data["refused"] == {"prompt_too_long": too_long}
    assert data["unlogged_models"] == {"gpt-4o": routed}
    assert data["quality"]["snips"]["n"] == routed


def test_a_candidate_that_refuses_everything_cannot_be_estimated(
    capsys: pytest.CaptureFixture[str], logged: Path, tmp_path: Path
) -> None:
    # Given a candidate without tenant devtools
    def change(document: dict[str, Any]) -> None:
        document["tenants"] = [tenant for tenant in document["tenants"] if tenant["id"] != "devtools"]

    policy = candidate(tmp_path, change)
    # When it is evaluated, Then it is an error: no routed request is left to estimate from
    code, _, err = evaluate(capsys, policy, logged)
    assert code == EXIT_REJECTED
    assert "error: the policy refuses all 2,000 logged requests (unknown_tenant 2,000)" in err


def test_a_learned_router_is_the_doubly_robust_reward_model(
    capsys: pytest.CaptureFixture[str], logged: Path, tmp_path: Path
) -> None:
    # Given the local router, which knows none of the example catalog's models
    router = ROOT / "policies" / "routers" / "local-router.json"
    policy = candidate(tmp_path, general_to(["nova-pro"]))
    # When it is the reward model, Then the report names it and says which models fell back to the mean
    code, out, _ = evaluate(
        capsys,
        policy,
        logged,
        "--router",
        str(router),
    )
    assert code == EXIT_OK
    assert f"DR reward model: learned router {router}" in out
    assert "note: the router does not predict claude-haiku-bedrock, nova-pro" in out


def test_a_line_without_propensity_is_an_error_naming_the_line(
    capsys: pytest.CaptureFixture[str], logged: Path, tmp_path: Path
) -> None:
    # Given the log with its fifth line's propensity removed
    lines = [json.loads(row) for row in logged.read_text().splitlines()]
    del lines[4]["propensity"]
    broken = write_lines(tmp_path / "broken.jsonl", lines)
    # When it is evaluated, Then the error names the file and line
    code, _, err = evaluate(capsys, EXAMPLE_POLICY, broken)
    assert code == EXIT_REJECTED
    assert f"error: {broken}:5: no 'propensity'" in err


def test_the_plot_without_matplotlib_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], logged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given matplotlib cannot be imported
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    # When a plot is asked for, Then the error says to install the learn extra
    code, _, err = evaluate(capsys, EXAMPLE_POLICY, logged, "--plot", str(tmp_path / "p.png"))
    assert code == EXIT_REJECTED
    assert "matplotlib is not installed" in err
    assert "pip install 'modelrouter[learn]'" in err
