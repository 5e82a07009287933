"""``modelrouter route --explain`` and ``policy validate`` on a cascade route with ``skip_below``: the
skipped tier is listed as left out with its prediction, the kept tiers with theirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import run_cli
from tests.learned_fixtures import ROUTER_KEY, keyword_router_bytes
from tests.unit.test_cascade_skip import EASY, HARD, cascade_document

from modelrouter.cli.main import EXIT_OK

RAW = keyword_router_bytes(EASY, with_keyword=HARD)


def write_files(folder: Path, prompt: str) -> tuple[Path, Path]:
    """The cascade policy as ``folder/policy.yaml`` with its artifact next to it, and a request."""
    policy = folder / "policy.yaml"
    policy.write_text(json.dumps(cascade_document(RAW)))
    (folder / ROUTER_KEY).parent.mkdir(parents=True, exist_ok=True)
    (folder / ROUTER_KEY).write_bytes(RAW)
    request = folder / "request.json"
    request.write_text(json.dumps({"model": "auto", "messages": [{"role": "user", "content": prompt}]}))
    return policy, request


def test_route_explain_lists_the_skipped_tier_with_its_prediction(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a cascade policy, its artifact next to it, and a prompt the small model is predicted to fail
    policy, request = write_files(tmp_path, "prove")
    # When the route is explained
    code, out, _ = run_cli(capsys, "route", "--policy", str(policy), "--request", str(request), "--explain")
    # Then the candidates start at the medium tier, with the predicted quality column
    assert code == EXIT_OK
    candidates = out.split("candidates (in order):\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[1] for line in candidates[2:]] == ["medium", "large"]
    assert candidates[0].rstrip().endswith("pred. quality")
    # And the small tier is left out, saying why
    left_out = out.split("left out:\n", 1)[1].splitlines()
    assert left_out[2].split() == [
        "small",
        "predicted_below_skip",
        *f"predicted quality 0.310 < skip_below 0.400 ({ROUTER_KEY})".split(),
    ]


def test_validate_checks_the_cascade_artifact_next_to_the_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the cascade policy and its artifact at the router key relative to it
    policy, _ = write_files(tmp_path, "hello")
    # When validated, Then the policy and its router are both ok
    code, out, _ = run_cli(capsys, "policy", "validate", str(policy))
    assert code == EXIT_OK
    assert f"router {ROUTER_KEY}: ok (3 models; sha256:" in out
