"""The CoreLayer's copy step (``make copy-package``, no pip): the package without ``LAYER_EXCLUDE``, and
everything a Lambda function can import still there and importable from the copy alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.layer_imports import (
    LAYER_MAKEFILE,
    PACKAGE,
    SOURCE,
    handler_files,
    layer_exclude,
    module_file,
    reachable_modules,
)

_IMPORT_ALL = """
import importlib, json, sys
names, handlers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as error:
        failed[name] = f"{type(error).__name__}: {error}"
import modelrouter
for folder in handlers:
    sys.path.insert(0, folder)
    sys.modules.pop("app", None)
    try:
        importlib.import_module("app")
    except Exception as error:
        failed[folder] = f"{type(error).__name__}: {error}"
    sys.path.remove(folder)
print(json.dumps({"package": modelrouter.__file__, "failed": failed}))
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed (the CoreLayer is built by layers/core/Makefile)")
    artifacts = tmp_path_factory.mktemp("layer")
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(LAYER_MAKEFILE.parent),
            "copy-package",
            f"ARTIFACTS_DIR={artifacts}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"make copy-package failed:\n{result.stdout}\n{result.stderr}"
    return artifacts


def test_the_excluded_paths_are_absent(layer: Path) -> None:
    # Given the copied package; Then nothing LAYER_EXCLUDE names is in it
    package = layer / "python" / PACKAGE
    assert (package / "__init__.py").is_file()
    for path in layer_exclude():
        assert not (package / path).exists(), path


def test_the_copy_is_the_package_less_the_exclusions_caches_and_tests(layer: Path) -> None:
    # Given the source package and the copy; Then the copy holds exactly the source's files that are not
    # excluded, caches or tests
    package = layer / "python" / PACKAGE
    source = SOURCE / PACKAGE
    excluded = [Path(path) for path in layer_exclude()]
    expected = {
        path.relative_to(source)
        for path in source.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and "tests" not in path.relative_to(source).parts
        and path.suffix != ".pyc"
        and not any(path.relative_to(source).is_relative_to(e) for e in excluded)
    }
    built = {path.relative_to(package) for path in package.rglob("*") if path.is_file()}
    assert built == expected
    assert (package / "py.typed").is_file()
    assert os.access(layer / "modelrouter-streaming", os.X_OK)


def test_every_reachable_module_is_in_the_copy(layer: Path) -> None:
    # Given every module a Lambda function can import; Then each one's file was copied
    for name in reachable_modules():
        source = module_file(name)
        assert source is not None, name
        assert (layer / "python" / source.relative_to(SOURCE)).is_file(), name


def test_every_reachable_module_and_handler_imports_from_the_copy_alone(layer: Path) -> None:
    # Given a Python whose modelrouter is the copy (first on the path; the dependencies from this venv)
    names = sorted(reachable_modules())
    folders = [str(path.parent) for path in handler_files()]
    environment = {**os.environ, "PYTHONPATH": str(layer / "python")}
    for variable in ("AWS_LAMBDA_FUNCTION_NAME", "POLICY_BUCKET"):  # no init-phase policy load
        environment.pop(variable, None)
    # When every reachable module and every handler is imported
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, json.dumps(names), json.dumps(folders)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # Then they all import, from the copy
    assert outcome["package"].startswith(str(layer)), outcome["package"]
    assert outcome["failed"] == {}
