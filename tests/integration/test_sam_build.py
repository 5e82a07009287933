"""``sam build`` of ``template.yaml`` without Docker: the layer holds Lambda's (arm64, CPython 3.13) wheels.

Needs SAM CLI in ``.venv-sam`` (``make sam-validate`` installs it) and network access to PyPI: the
CoreLayer's Makefile has pip fetch the Lambda platform's wheels on every build (about 5-10 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.aws import load_template
from tests.helpers import ROOT
from tests.layer_imports import layer_exclude

SAM_VENV = ROOT / ".venv-sam"
SAM = SAM_VENV / "bin" / "sam"
HANDLERS = (ROOT / "functions/router/app.py", ROOT / "functions/authorizer/app.py")
LAYER_LIMIT_BYTES = 250 * 1024 * 1024  # Lambda's unzipped limit for a function and all its layers
ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SAM.exists():
        pytest.skip(f"SAM CLI is not installed in {SAM_VENV.name}: `make sam-validate` installs it")
    missing = [str(path.relative_to(ROOT)) for path in HANDLERS if not path.exists()]
    if missing:
        pytest.skip(f"no function code to build yet: {', '.join(missing)} missing")
    if shutil.which("make") is None:
        pytest.skip("make is not installed (the CoreLayer is built by layers/core/Makefile)")
    # build.toml lands beside the build directory, so both stay in the temporary folder
    build = tmp_path_factory.mktemp("sam") / "build"
    environment = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        # the layer's Makefile runs `python3 -m pip`: use .venv-sam's recent pip
        "PATH": f"{SAM_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [str(SAM), "build", "--template", str(ROOT / "template.yaml"), "--build-dir", str(build)],
        cwd=build.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return build


def is_aarch64_elf(path: Path) -> bool:
    with path.open("rb") as file:
        header = file.read(20)
    assert header[:4] == ELF_MAGIC, f"{path} is not an ELF file"
    assert header[5] == 1, f"{path} is not little-endian"
    return int.from_bytes(header[18:20], "little") == EM_AARCH64


def test_layer_carries_the_package_without_caches_or_tests(build_dir: Path) -> None:
    python = build_dir / "CoreLayer" / "python"
    package = python / "modelrouter"
    assert (package / "__init__.py").is_file()
    assert (package / "py.typed").is_file()
    source = ROOT / "layers/core/modelrouter"
    excluded = [Path(path) for path in layer_exclude()]  # what no function imports (local/, cli/, …)
    expected = {
        path.relative_to(source)
        for path in source.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and not any(path.relative_to(source).is_relative_to(e) for e in excluded)
    }
    built = {
        path.relative_to(package)
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert built == expected


def lambda_python() -> str:
    """The Python 3.13 interpreter the layer's Makefile compiles bytecode with ('' when there is none)."""
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "print-lambda-python"],
        cwd=ROOT / "layers/core",
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_every_module_ships_lambda_bytecode_that_needs_no_source_check(build_dir: Path) -> None:
    # Given the built layer (Lambda's /opt is read-only: no bytecode means compiling on every cold start)
    if not lambda_python():
        pytest.skip("no Python 3.13 on this machine: the layer is built without bytecode (a warning says so)")
    python = build_dir / "CoreLayer" / "python"
    sources = [path for path in python.rglob("*.py") if path.is_file()]
    assert sources
    for source in sources:
        # Then each module has CPython 3.13 bytecode beside it, unchecked-hash (flags 0b01: hash-based,
        # not checked), so a zip's rounded mtimes cannot invalidate it
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert compiled.is_file(), source
        assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b01, compiled
    # and no build machine's bytecode of another version
    assert not [path for path in python.rglob("*.pyc") if ".cpython-313." not in path.name]


def test_layer_has_every_runtime_dependency(build_dir: Path) -> None:
    python = build_dir / "CoreLayer" / "python"
    modules = (
        "aws_lambda_powertools",
        "boto3",
        "botocore",
        "pydantic",
        "httpx",
        "jsonschema",
        "yaml",
        "jmespath",
    )
    for module in modules:
        assert (python / module / "__init__.py").is_file(), module


def test_layer_has_no_fitting_libraries(build_dir: Path) -> None:
    # Given the built layer; Then the learn extra (fit time only) is not in it: learned routes score in
    # pure Python from the artifact; nor is the X-Ray SDK (modelrouter.tracing sends subsegments itself)
    python = build_dir / "CoreLayer" / "python"
    for module in ("numpy", "sklearn", "scipy", "matplotlib", "aws_xray_sdk"):
        assert not (python / module).exists(), module


def test_compiled_modules_are_cpython313_aarch64(build_dir: Path) -> None:
    python = build_dir / "CoreLayer" / "python"
    assert (python / "pydantic_core" / "_pydantic_core.cpython-313-aarch64-linux-gnu.so").is_file()
    shared_objects = [path for path in python.rglob("*.so*") if path.is_file()]
    assert shared_objects
    for path in shared_objects:
        assert "x86_64" not in path.name, path
        if ".cpython-" in path.name:
            assert ".cpython-313-aarch64-linux-gnu.so" in path.name, path
        assert is_aarch64_elf(path), f"{path} is not an arm64 binary"


def test_layer_fits_lambda(build_dir: Path) -> None:
    size = sum(path.stat().st_size for path in (build_dir / "CoreLayer").rglob("*") if path.is_file())
    assert size < LAYER_LIMIT_BYTES // 2, f"layer is {size / 2**20:.0f} MiB unzipped"


@pytest.mark.parametrize("function", ["RouterFunction", "AuthorizerFunction"])
def test_functions_are_their_code_only(build_dir: Path, function: str) -> None:
    built = build_dir / function
    assert (built / "app.py").is_file()
    # no vendored dependencies: they come from the layer
    assert not any(path.name.endswith(".dist-info") for path in built.iterdir())


def test_built_template_points_at_the_built_artifacts(build_dir: Path) -> None:
    resources = load_template(build_dir / "template.yaml")["Resources"]
    assert resources["CoreLayer"]["Properties"]["ContentUri"] == "CoreLayer"
    assert resources["RouterFunction"]["Properties"]["CodeUri"] == "RouterFunction"
    assert resources["AuthorizerFunction"]["Properties"]["CodeUri"] == "AuthorizerFunction"


def test_layer_carries_the_executable_streaming_wrapper_at_its_root(build_dir: Path) -> None:
    # Given the built layer, Then /opt/modelrouter-streaming (the router's exec wrapper) is there,
    # executable by everyone, and starts the streaming runtime loop
    wrapper = build_dir / "CoreLayer" / "modelrouter-streaming"
    assert wrapper.stat().st_mode & 0o777 == 0o755
    assert "exec python3 -m modelrouter.lambda_runtime" in wrapper.read_text()
