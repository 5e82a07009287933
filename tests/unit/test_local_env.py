""".modelrouter/local.env: written as shell exports, read back, stale files detected, removed by its owner."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from modelrouter.local.local_env import (
    LOCAL_ENV_OVERRIDE,
    NOT_RUNNING,
    LocalEnvError,
    read_local_env,
    remove_local_env,
    serve_pid,
    write_local_env,
)

VALUES = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:40123",
    "POLICY_BUCKET": "modelrouter-local-policy",
    "ODD": 'it\'s $HOME `x` "y"',
}


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_round_trip_and_owner_only_mode(tmp_path: Path) -> None:
    # Given values with quotes and shell metacharacters
    path = tmp_path / ".modelrouter" / "local.env"
    # When they are written and read back
    written = write_local_env(VALUES, path)
    # Then they come back unchanged, from a file only its owner can read
    assert written == path
    assert read_local_env(path) == VALUES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert serve_pid(path) == os.getpid()


def test_a_shell_sourcing_the_file_sees_the_same_values(tmp_path: Path) -> None:
    # Given a written file
    path = write_local_env(VALUES, tmp_path / "local.env")
    # When a POSIX shell sources it and prints the variables
    script = f'. {path} && printf \'%s\\n\' "$AWS_ENDPOINT_URL" "$POLICY_BUCKET" "$ODD"'
    printed = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    # Then the shell read exactly the values written
    assert printed.splitlines() == list(VALUES.values())


def test_missing_file_says_to_start_serve(tmp_path: Path) -> None:
    # Given no file
    # When it is read / Then the error says no stack runs and how to start one
    with pytest.raises(LocalEnvError, match="start `modelrouter serve`") as raised:
        read_local_env(tmp_path / "local.env")
    assert raised.value.message == NOT_RUNNING


def test_file_of_a_killed_serve_is_reported_stale(tmp_path: Path) -> None:
    # Given a file written by a process that no longer runs
    pid = _dead_pid()
    path = write_local_env(VALUES, tmp_path / "local.env", pid=pid)
    # When it is read / Then the error names the file and the dead pid
    with pytest.raises(LocalEnvError, match=f"stale.*pid {pid}"):
        read_local_env(path)


def test_remove_leaves_another_serves_file_alone(tmp_path: Path) -> None:
    # Given a file owned by another process, then one owned by this one
    path = write_local_env(VALUES, tmp_path / "local.env", pid=os.getppid())
    # When this process removes it / Then the other's file stays
    assert remove_local_env(path) is False
    assert path.exists()
    write_local_env(VALUES, path)
    assert remove_local_env(path) is True
    assert not path.exists()


def test_environment_variable_overrides_the_default_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given $MODELROUTER_LOCAL_ENV naming a path
    monkeypatch.setenv(LOCAL_ENV_OVERRIDE, str(tmp_path / "elsewhere.env"))
    # When the file is written and read with no path
    written = write_local_env(VALUES)
    # Then that path is used
    assert written == tmp_path / "elsewhere.env"
    assert read_local_env() == VALUES


def test_a_line_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    # Given a hand-edited file with a stray line
    path = write_local_env(VALUES, tmp_path / "local.env")
    path.write_text(path.read_text() + "AWS_REGION=us-east-1 extra\n")
    # When it is read / Then the line is named
    with pytest.raises(LocalEnvError, match=r"local.env:6: expected export"):
        read_local_env(path)
