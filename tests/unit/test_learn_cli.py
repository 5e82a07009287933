"""``modelrouter learn``: fit, score and evaluate end to end on a small synthetic file, and every bad
input as one line on stderr with exit code 2."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import run_cli

from modelrouter.cli.learn_cmd import EXTRA_HINT
from modelrouter.cli.main import main
from modelrouter.features import extract_features
from modelrouter.learned import load_router, request_text
from modelrouter.request import parse_chat_request

EXIT_ERROR = 2
HASH_BITS = "10"
EASY = ["say hello to my friend", "write a short thank you note", "greet the new colleague warmly"]
HARD = [
    "prove the theorem about prime gaps",
    "derive the integral of the bessel function",
    "solve the tensor pde",
]


def synthetic_outcomes(requests: int = 48) -> list[dict[str, Any]]:
    """The small model answers the easy prompts and fails the hard ones; the big one answers all."""
    lines = []
    for i in range(requests):
        hard = i % 2 == 1
        prompt = f"{(HARD if hard else EASY)[i % 3]}, case {i}"
        tag = ["math"] if hard else ["chat"]
        for model, quality, cost in (("small", 0.0 if hard else 1.0, 0.001), ("big", 1.0, 0.01)):
            lines.append(
                {
                    "request_id": f"r{i}",
                    "prompt": prompt,
                    "model": model,
                    "quality": quality,
                    "cost_usd": cost,
                }
                | {"tags": tag}
            )
    return lines


def write_lines(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, "learn", *argv)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(outcomes file, router artifact fitted on it)."""
    folder = tmp_path_factory.mktemp("learn")
    outcomes = write_lines(folder / "synthetic.jsonl", synthetic_outcomes())
    router = folder / "router.json"
    assert (
        main(["learn", "fit", str(outcomes), "--out", str(router), "--cv", "3", "--hash-bits", HASH_BITS])
        == 0
    )
    return outcomes, router


def test_fit_writes_a_loadable_compact_artifact(fitted: tuple[Path, Path]) -> None:
    # Given the artifact `learn fit` wrote
    _, path = fitted
    raw = path.read_bytes()
    router = load_router(raw, str(path))
    # Then it holds both models, the recipe asked for, the training data and sorted compact JSON
    assert router.models == ("small", "big")
    assert router.recipe.hash_bits == int(HASH_BITS)
    assert router.document["training"]["sources"] == ["synthetic.jsonl"]
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()


def test_fit_prints_the_cross_validated_metrics(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outcomes = write_lines(tmp_path / "o.jsonl", synthetic_outcomes(24))
    code, out, _ = run(
        capsys, "fit", str(outcomes), "--out", str(tmp_path / "r.json"), "--cv", "2", "--hash-bits", "8"
    )
    assert code == 0
    assert f"{(tmp_path / 'r.json').stat().st_size:,} bytes" in out
    assert f"sha256: {hashlib.sha256((tmp_path / 'r.json').read_bytes()).hexdigest()}" in out
    assert "cross-validated (2 folds" in out
    assert "calibration error" in out
    assert "small" in out


def test_score_equals_the_routers_own_scores(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    # Given requests as prompts and as messages, with fields score ignores
    _, router_path = fitted
    messages = [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "prove the lemma"}]
    rows = [
        {"request_id": "a", "prompt": "say hello to my friend", "expected": "hi"},
        {"request_id": "b", "messages": messages},
    ]
    requests = write_lines(tmp_path / "requests.jsonl", rows)
    # When scored by the command
    code, out, _ = run(capsys, "score", "--router", str(router_path), str(requests))
    # Then each line is the router's score of the same request, by the runtime's code path
    router = load_router(router_path.read_bytes())
    expected = []
    for row in rows:
        body = {"messages": row.get("messages") or [{"role": "user", "content": row["prompt"]}]}
        request = parse_chat_request(body)
        expected.append(
            {
                "request_id": row["request_id"],
                "scores": router.score(request_text(request), extract_features(request)),
            }
        )
    assert code == 0
    assert [json.loads(text) for text in out.splitlines()] == expected
    assert list(expected[0]["scores"]) == ["small", "big"]


def test_score_reads_standard_input(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, router_path = fitted
    body = json.dumps({"request_id": "s1", "prompt": "solve the tensor pde"}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body.encode())))
    code, out, _ = run(capsys, "score", "--router", str(router_path), "-")
    assert code == 0
    assert json.loads(out)["request_id"] == "s1"


def test_fit_then_evaluate_with_the_router_end_to_end(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    # Given the router fitted on outcomes where the prompt's words tell which model suffices
    outcomes, router = fitted
    plot, report_path = tmp_path / "curve.png", tmp_path / "report.json"
    # When evaluated with --router, a plot and the JSON report
    code, out, _ = run(
        capsys,
        "evaluate",
        str(outcomes),
        "--router",
        str(router),
        "--plot",
        str(plot),
        "--json",
        str(report_path),
    )
    # Then the tables, a PNG and a JSON report are written
    assert code == 0
    assert "AIQ" in out
    assert "CPT(50 %)" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads(report_path.read_text())
    assert sorted(report["by_tag"]) == ["chat", "math"]
    overall = report["overall"]
    # And on its own training data it beats the zero router, sending only the hard half to the big model
    assert overall["router"]["aiq"] > overall["zero_router"]["aiq"]
    assert overall["router"]["cost_shares"]["100"] == pytest.approx(0.55, abs=0.01)


def test_evaluate_with_cross_validation(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path]
) -> None:
    outcomes, _ = fitted
    code, out, _ = run(capsys, "evaluate", str(outcomes), "--cv", "2", "--seed", "3")
    assert code == 0
    assert "2-fold cross-validation by request id (seed 3)" in out


def test_a_bad_outcomes_line_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given a file whose third line has a negative cost
    rows = synthetic_outcomes(2)
    rows[2]["cost_usd"] = -1
    outcomes = write_lines(tmp_path / "bad.jsonl", rows)
    # When fitted or evaluated, Then one line names the file and the line
    for argv in (
        ["fit", str(outcomes), "--out", str(tmp_path / "r.json")],
        ["evaluate", str(outcomes), "--cv", "2"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == EXIT_ERROR
        assert err.strip() == f"error: {outcomes}:3: 'cost_usd' must be ≥ 0, got -1.0"


def test_a_model_the_router_does_not_know(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    # Given outcomes of a third model
    _, router = fitted
    rows = [row | {"model": "other"} if row["model"] == "big" else row for row in synthetic_outcomes(4)]
    outcomes = write_lines(tmp_path / "other.jsonl", rows)
    code, _, err = run(capsys, "evaluate", str(outcomes), "--router", str(router))
    assert code == EXIT_ERROR
    assert "does not know model 'other'" in err
    assert err.count("\n") == 1


def test_an_artifact_of_another_feature_version(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    # Given the artifact with another feature version
    outcomes, router = fitted
    document = json.loads(router.read_bytes())
    document["feature_recipe"]["version"] = 99
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    # When scored or evaluated, Then one line says which version and what to do
    for argv in (
        ["score", "--router", str(old), str(outcomes)],
        ["evaluate", str(outcomes), "--router", str(old)],
    ):
        code, _, err = run(capsys, *argv)
        assert code == EXIT_ERROR
        assert "fitted with feature version 99" in err
        assert "refit it" in err


def test_missing_files(capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path], tmp_path: Path) -> None:
    outcomes, router = fitted
    code, _, err = run(capsys, "score", "--router", str(tmp_path / "none.json"), str(outcomes))
    assert (code, err.strip()) == (
        EXIT_ERROR,
        f"error: {tmp_path / 'none.json'}: cannot read the router: No such file or directory",
    )
    code, _, err = run(capsys, "evaluate", str(tmp_path / "none.jsonl"), "--router", str(router))
    assert code == EXIT_ERROR
    assert "none.jsonl:0: cannot read the file" in err
    code, _, err = run(
        capsys, "evaluate", str(outcomes), "--router", str(router), "--plot", str(tmp_path / "no" / "x.png")
    )
    assert code == EXIT_ERROR
    assert "No such file or directory" in err


def test_logged_outcomes_cannot_be_evaluated(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = [row for row in synthetic_outcomes(4) if not (row["request_id"] == "r1" and row["model"] == "big")]
    outcomes = write_lines(tmp_path / "logged.jsonl", rows)
    code, _, err = run(capsys, "evaluate", str(outcomes), "--cv", "2")
    assert code == EXIT_ERROR
    assert "not counterfactual: 1 of 4 requests" in err
    assert "request 'r1' has none for 'big'" in err


def test_without_the_learn_extra(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given numpy cannot be imported
    outcomes, router = fitted
    monkeypatch.setitem(sys.modules, "numpy", None)
    # When evaluating, Then one line says how to install it
    code, _, err = run(capsys, "evaluate", str(outcomes), "--router", str(router))
    assert code == EXIT_ERROR
    assert err.strip() == f"error: numpy is not installed; {EXTRA_HINT}"
    # And scoring does not need it
    code, _, _ = run(capsys, "score", "--router", str(router), str(outcomes))
    assert code == 0


def test_help_does_not_import_the_learn_extra() -> None:
    # Given a fresh interpreter, When `modelrouter --help` and `learn --help` run, Then no heavy module loads
    script = (
        "import sys\n"
        "from modelrouter.cli.main import main\n"
        "for argv in (['--help'], ['learn', '--help'], ['learn', 'evaluate', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn', 'matplotlib') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
