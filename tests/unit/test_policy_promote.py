"""``modelrouter policy promote``: the evidence, every refusal (saying which condition failed, with the
numbers), the comment-preserving rewrite of the variants, and promote_when's cross-references."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import EXAMPLE_POLICY, run_cli
from tests.ope_logs import logged_lines, write_lines

from modelrouter.cli.main import EXIT_OK, EXIT_REJECTED
from modelrouter.cli.policy_rewrite import RewriteError, swap_variant_models
from modelrouter.errors import PolicyError
from modelrouter.policy import load_policy_file, parse_policy

CHAMPION, CHALLENGER = "claude-haiku-bedrock", "nova-pro"
TENANT = "devtools"  # its requests fall to the example policy's weighted route `general`
REQUESTS = 2_500  # above the route's min_requests (2,000)


def log(
    tmp_path: Path, name: str, quality: dict[str, float], cost: dict[str, float], count: int = REQUESTS
) -> Path:
    policy = load_policy_file(EXAMPLE_POLICY).policy
    return write_lines(tmp_path / name, logged_lines(policy, TENANT, count, quality, cost, seed=1))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Logged traffic of route `general` for each scenario (the champion answers right 70 % of the time)."""
    folder = tmp_path_factory.mktemp("logs")
    cheap = {CHAMPION: 0.001, CHALLENGER: 0.002}
    return {
        "better": log(folder, "better.jsonl", {CHAMPION: 0.7, CHALLENGER: 0.9}, cheap),
        "same": log(folder, "same.jsonl", {CHAMPION: 0.7, CHALLENGER: 0.7}, cheap),
        "costly": log(
            folder, "costly.jsonl", {CHAMPION: 0.7, CHALLENGER: 0.9}, {CHAMPION: 0.001, CHALLENGER: 0.01}
        ),
        "few": log(folder, "few.jsonl", {CHAMPION: 0.7, CHALLENGER: 0.9}, cheap, count=500),
    }


def promote(capsys: pytest.CaptureFixture[str], outcomes: Path, *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, "policy", "promote", "general", "--outcomes", str(outcomes), *argv)


def general_variants(policy_file: Path) -> dict[str, list[str]]:
    route = load_policy_file(policy_file).policy.route_by_name["general"]
    return {variant.name: list(variant.models) for variant in route.variants or ()}


def test_a_better_challenger_is_promoted_into_the_out_file(
    capsys: pytest.CaptureFixture[str], logs: dict[str, Path], tmp_path: Path
) -> None:
    # Given traffic where the challenger's first model answers right 90 % of the time and the champion's 70 %
    out = tmp_path / "promoted.yaml"
    # When promote writes to --out
    code, stdout, _ = promote(capsys, logs["better"], "--policy", str(EXAMPLE_POLICY), "--out", str(out))
    # Then it promotes: the gain's interval is printed, and the variants' models are swapped, weights kept
    assert code == EXIT_OK
    gain = re.search(r"gain ([+-][\d.]+), 95% interval \[([+-][\d.]+), ([+-][\d.]+)\]", stdout)
    assert gain is not None
    low, high = float(gain.group(2)), float(gain.group(3))
    assert 0.01 <= low < 0.2 < high
    assert "not pushed" in stdout
    before = general_variants(EXAMPLE_POLICY)
    assert general_variants(out) == {"champion": before["challenger"], "challenger": before["champion"]}
    route = load_policy_file(out).policy.route_by_name["general"]
    assert [variant.weight for variant in route.variants or ()] == [90, 10]


def test_a_dry_run_prints_the_change_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], logs: dict[str, Path], tmp_path: Path
) -> None:
    # Given a copy of the example policy
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(EXAMPLE_POLICY.read_bytes())
    # When promote runs with --dry-run
    code, stdout, _ = promote(capsys, logs["better"], "--policy", str(policy), "--dry-run")
    # Then the diff swaps exactly the two model lines, and the file is unchanged
    assert code == EXIT_OK
    changed = [row for row in stdout.splitlines() if row[:1] in "+-" and not row.startswith(("+++", "---"))]
    assert sorted(changed) == sorted(
        [
            "-        models: [claude-haiku-bedrock, gpt-4o-mini]",
            "-        models: [nova-pro, claude-haiku-bedrock]",
            "+        models: [nova-pro, claude-haiku-bedrock]",
            "+        models: [claude-haiku-bedrock, gpt-4o-mini]",
        ]
    )
    assert "dry run: nothing written or pushed" in stdout
    assert policy.read_bytes() == EXAMPLE_POLICY.read_bytes()


@pytest.mark.parametrize(
    ("scenario", "condition"),
    [
        ("few", r"too few requests: 500 < min_requests 2000"),
        (
            "same",
            r"quality gain too small: lower bound -0\.\d+ \(gain [+-]0\.\d+, 95% interval .*\) "
            r"< min_quality_gain \+0\.0100",
        ),
        ("costly", r"cost increase too large: 0\.009000 USD per request > max_cost_increase_usd 0\.002000"),
    ],
)
def test_short_evidence_is_refused_naming_the_condition_and_its_numbers(
    capsys: pytest.CaptureFixture[str], logs: dict[str, Path], tmp_path: Path, scenario: str, condition: str
) -> None:
    # When the evidence misses one of promote_when's conditions
    out = tmp_path / "never.yaml"
    code, _, stderr = promote(capsys, logs[scenario], "--policy", str(EXAMPLE_POLICY), "--out", str(out))
    # Then promote refuses (exit 1) saying which condition failed, with the numbers, and writes nothing
    assert code == EXIT_REJECTED
    assert "not promoted: route 'general'" in stderr
    assert re.search(condition, stderr), stderr
    assert not out.exists()


def write_policy(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    change(document)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(document, sort_keys=False))
    return policy


def without_promote_when(document: dict[str, Any]) -> None:
    next(route for route in document["routes"] if route["name"] == "general").pop("promote_when")


@pytest.mark.parametrize(
    ("route", "change", "message"),
    [
        ("genral", None, r"unknown route 'genral' \(did you mean 'general'\?\)"),
        ("support-triage", None, r"route 'support-triage' is a threshold route: only weighted routes"),
        ("general", without_promote_when, r"route 'general' has no promote_when"),
    ],
)
def test_routes_that_cannot_be_promoted_are_refused(
    capsys: pytest.CaptureFixture[str],
    logs: dict[str, Path],
    tmp_path: Path,
    route: str,
    change: Any,
    message: str,
) -> None:
    # Given an unknown route, a route that is not weighted, or a weighted route without promote_when
    policy = write_policy(tmp_path, change) if change is not None else EXAMPLE_POLICY
    # When promote is asked for it
    code, _, stderr = run_cli(
        capsys,
        "policy",
        "promote",
        route,
        "--outcomes",
        str(logs["better"]),
        "--policy",
        str(policy),
        "--dry-run",
    )
    # Then it refuses, saying why
    assert code == EXIT_REJECTED
    assert re.search(message, stderr), stderr


def test_a_line_without_propensity_is_refused_naming_the_line(
    capsys: pytest.CaptureFixture[str], logs: dict[str, Path], tmp_path: Path
) -> None:
    # Given the log with its third line's propensity removed
    lines = [json.loads(row) for row in logs["better"].read_text().splitlines()]
    del lines[2]["propensity"]
    broken = write_lines(tmp_path / "broken.jsonl", lines)
    # When promote reads it, Then it refuses, naming the file and line
    code, _, stderr = promote(capsys, broken, "--policy", str(EXAMPLE_POLICY), "--dry-run")
    assert code == EXIT_REJECTED
    assert f"{broken}:3: no 'propensity'" in stderr


def test_no_line_of_the_route_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given logged lines of another route only
    policy = load_policy_file(EXAMPLE_POLICY).policy
    other = write_lines(
        tmp_path / "other.jsonl",
        logged_lines(policy, "acme-support", 3, {"nova-micro": 1}, {"nova-micro": 0}),
    )
    # When promote runs, Then it says the log has no line of the route
    code, _, stderr = promote(capsys, other, "--policy", str(EXAMPLE_POLICY), "--dry-run")
    assert code == EXIT_REJECTED
    assert "no line of route 'general'" in stderr


def test_the_rewrite_keeps_every_comment_and_validates() -> None:
    # Given the example policy's text, with its comments
    text = EXAMPLE_POLICY.read_text()
    # When general's champion and challenger models are swapped
    promoted = swap_variant_models(text, "general", "champion", "challenger")
    # Then every comment line and every other line is kept, only the two model lists differ
    before, after = text.splitlines(), promoted.splitlines()
    assert len(before) == len(after)
    differing = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(differing) == 2
    assert [row for row in before if "#" in row] == [row for row in after if "#" in row]
    # And the result is a valid policy
    assert parse_policy(promoted, "promoted.yaml").policy.route_by_name["general"].variants


def test_lists_of_different_lengths_keep_each_lists_style() -> None:
    # Given a flow list of two models and a block list of three, with comments
    text = """\
routes:
  - name: split   # the canary
    variants:
      - name: champion
        models: [a, "b"]   # champion's models
      - name: challenger
        models:
          - c
          - d
          - e
    limits: {}   # last
"""
    # When they are swapped, Then each list keeps its style and place, and every other comment stays
    assert (
        swap_variant_models(text, "split", "champion", "challenger")
        == """\
routes:
  - name: split   # the canary
    variants:
      - name: champion
        models: [c, d, e]   # champion's models
      - name: challenger
        models:
          - a
          - "b"
    limits: {}   # last
"""
    )


def test_a_json_policy_is_rewritten_in_place() -> None:
    # Given a JSON policy fragment, When its variants are swapped, Then only the arrays' contents change
    before = (
        '{"routes": [{"name": "r", "variants": '
        '[{"name": "x", "models": ["a"]}, {"models": ["b"], "name": "y"}]}]}'
    )
    after = (
        '{"routes": [{"name": "r", "variants": '
        '[{"name": "x", "models": ["b"]}, {"models": ["a"], "name": "y"}]}]}'
    )
    assert swap_variant_models(before, "r", "x", "y") == after


@pytest.mark.parametrize(
    ("route", "first", "message"),
    [("nope", "champion", "no route 'nope'"), ("general", "canary", "no variant 'canary'")],
)
def test_the_rewrite_refuses_what_it_cannot_find(route: str, first: str, message: str) -> None:
    # When the route or a variant is not in the text, Then the rewrite says which
    with pytest.raises(RewriteError, match=message):
        swap_variant_models(EXAMPLE_POLICY.read_text(), route, first, "challenger")


def test_promote_when_must_name_variants_of_its_route(tmp_path: Path) -> None:
    # Given general's promote_when naming a challenger that is not one of its variants
    def misspelt(document: dict[str, Any]) -> None:
        route = next(route for route in document["routes"] if route["name"] == "general")
        route["promote_when"]["challenger"] = "challengr"

    policy = write_policy(tmp_path, misspelt)
    # When the policy is loaded, Then the error is at routes[i].promote_when.challenger with the closest name
    with pytest.raises(PolicyError) as error:
        load_policy_file(policy)
    problems = [str(problem) for problem in error.value.problems]
    assert any(
        re.search(
            r"routes\[\d+\]\.promote_when\.challenger.*"
            r"unknown variant 'challengr' \(did you mean 'challenger'\?\)",
            p,
        )
        for p in problems
    ), problems
