"""``modelrouter policy diff A B`` on local files: text and JSON, exit 0 (same) / 1 (different) / 2 (cannot
compare), and every way a side can be wrong named in one line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helpers import EXAMPLE_POLICY, run_cli

from modelrouter.policy.loader import MAX_POLICY_BYTES

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_POLICY.read_text())


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _changed(tmp_path: Path) -> Path:
    """The example with acme-support's daily budget raised and the vision route gone."""
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    next(t for t in document["tenants"] if t["id"] == "acme-support")["budget"]["daily_usd"] = 75
    document["routes"] = [route for route in document["routes"] if route["name"] != "vision"]
    return _write(tmp_path / "changed.yaml", document)


def test_the_same_file_is_identical_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "policy", "diff", str(EXAMPLE_POLICY), str(EXAMPLE_POLICY))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "identical"


def test_the_same_policy_written_otherwise_is_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the example as JSON: no comments, top-level keys in reverse order
    rewritten = tmp_path / "rewritten.json"
    rewritten.write_text(json.dumps(dict(reversed(list(EXAMPLE.items())))))
    # When compared with the example
    code, out, _ = run_cli(capsys, "policy", "diff", str(EXAMPLE_POLICY), str(rewritten))
    # Then they are the same policy, though not the same bytes
    assert code == 0
    assert out.splitlines()[-1] == "the same policy (they differ in form only)"


def test_a_different_policy_exits_1_and_says_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the example is compared with a version that raises a budget and removes a route
    code, out, err = run_cli(capsys, "policy", "diff", str(EXAMPLE_POLICY), str(_changed(tmp_path)))
    # Then exit 1, and the text names each change under its section
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"--- A: {EXAMPLE_POLICY} (sha256:")
    assert lines[1].startswith(f"+++ B: {tmp_path / 'changed.yaml'} (sha256:")
    assert lines[lines.index("tenants") + 1 : lines.index("tenants") + 3] == [
        "  ~ acme-support",
        "      ~ budget.daily_usd: 50.0 → 75.0",
    ]
    assert lines[lines.index("routes") + 1] == "  - vision"
    assert "  acme-support: - vision" in lines[lines.index("routes per tenant") :]


def test_json_names_both_sides_and_the_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changed = _changed(tmp_path)
    code, out, _ = run_cli(capsys, "policy", "diff", str(EXAMPLE_POLICY), str(changed), "--json")
    document = json.loads(out)
    assert code == 1
    assert (document["a"]["source"], document["b"]["source"]) == (str(EXAMPLE_POLICY), str(changed))
    assert document["a"]["digest"].startswith("sha256:")
    assert document["equal"] is False
    assert document["tenants"]["changed"] == {
        "acme-support": [{"path": "budget.daily_usd", "old": 50.0, "new": 75.0}]
    }
    assert document["routes"]["removed"] == ["vision"]


def test_the_reverse_diff_shows_the_opposite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changed = _changed(tmp_path)
    _, out, _ = run_cli(capsys, "policy", "diff", str(changed), str(EXAMPLE_POLICY), "--json")
    document = json.loads(out)
    assert document["routes"]["added"] == ["vision"]
    assert document["tenants"]["changed"]["acme-support"] == [
        {"path": "budget.daily_usd", "old": 75.0, "new": 50.0}
    ]


def test_an_invalid_policy_is_an_error_naming_the_file_and_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a policy whose tenant names a route that does not exist
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    document["tenants"][0]["default_route"] = "no-such-route"
    broken = _write(tmp_path / "broken.yaml", document)
    # When it is either side of a diff
    for argv in ((str(EXAMPLE_POLICY), str(broken)), (str(broken), str(EXAMPLE_POLICY))):
        code, out, err = run_cli(capsys, "policy", "diff", *argv)
        # Then exit 2 (no comparison), the file and its problem are named, nothing is on stdout
        assert (code, out) == (2, "")
        assert err.startswith(f"error: {broken}: not a valid policy\n")
        assert "no-such-route" in err


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("missing.yaml", "missing.yaml: no such policy file"),
        ("dir/", "dir: not a file"),
        ("not a version!", "'not a version!' is neither a policy file, a version id nor 'active'"),
        ("3HL4kqtJlcpXroDTDmJ", "3HL4kqtJlcpXroDTDmJ is in the policy bucket: pass --bucket"),
        ("active", "active is in the policy bucket: pass --bucket"),
    ],
)
def test_a_side_that_cannot_be_read_is_a_usage_error(
    argument: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no policy bucket anywhere, and a directory named dir
    monkeypatch.delenv("POLICY_BUCKET", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    # When the argument is one side
    code, out, err = run_cli(capsys, "policy", "diff", str(EXAMPLE_POLICY), argument)
    # Then exit 2 with one line that says what is wrong
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {message}")
    assert len(err.splitlines()) == 1


def test_a_file_larger_than_a_policy_is_refused_without_reading_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (MAX_POLICY_BYTES * 3))
    code, _, err = run_cli(capsys, "policy", "diff", str(huge), str(EXAMPLE_POLICY))
    assert code == 2
    assert f"at most {MAX_POLICY_BYTES:,} are accepted" in err


def test_a_missing_argument_is_argparse_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "policy", "diff", str(EXAMPLE_POLICY))
    assert exited.value.code == 2


@pytest.mark.parametrize("as_json", [False, True])
def test_text_from_a_policy_reaches_the_terminal_escaped(
    as_json: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a version whose description carries a terminal escape, a C1 CSI and a bidi override
    document = yaml.safe_load(EXAMPLE_POLICY.read_text())
    hostile = "ok\x1b[2J\x9b31m\u202eevil é"
    document["description"] = hostile
    changed = _write(tmp_path / "hostile.yaml", document)
    # When it is diffed, as text and as JSON
    code, out, _ = run_cli(
        capsys, "policy", "diff", str(EXAMPLE_POLICY), str(changed), *(["--json"] * as_json)
    )
    # Then none of those characters is printed raw, the rest is, and the JSON still reads back exactly
    assert code == 1
    assert not any(char in out for char in "\x1b\x9b\u202e")
    assert "\\u001b[2J\\u009b31m\\u202eevil é" in out
    if as_json:
        [change] = json.loads(out)["settings"]
        assert change["new"] == hostile
