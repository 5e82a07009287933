"""How big the built CoreLayer is (the ``layer`` suite of ``make bench``).

Builds the layer the way ``sam build`` does, with its own Makefile (``make build-CoreLayer`` with
``ARTIFACTS_DIR`` a temporary folder; pip downloads the Lambda platform's arm64 wheels), then reports:

- **unzipped**: the bytes Lambda extracts under ``/opt`` (it counts toward the 250 MB a function and
  all its layers may take unzipped);
- **zipped**: the layer as ``sam build`` uploads it (deflate, like SAM's zip);
- **modelrouter package**: the package alone, after ``LAYER_EXCLUDE`` (``local/``, ``cli/``,
  ``training/``, …) left out what no function imports. This row is the one that notices those creeping
  back in: against the dependencies they are a rounding error.

Sizes are in MB (10⁶ bytes) in the value column. Without a network, pip cannot download the wheels: the
two layer rows then say so (no target to miss), and the package row is still measured (its copy needs
no pip).

Targets: the build is 58.9 MB unzipped and 30.1 MB zipped on this machine, bytecode included (the
Makefile's ``bytecode`` step compiles the layer with the runtime's Python when one is found, for a
faster cold start; without it the layer is 47.4 and 24.8 MB); botocore is 22.8 MB of it. The package's
source (``.pyc`` not counted) is 1.4 MB; before ``LAYER_EXCLUDE`` it was 2.1 MB (``local/`` 0.32,
``cli/`` 0.16, ``training/`` 0.14 MB). :data:`UNZIPPED_TARGET_MB` and :data:`ZIPPED_TARGET_MB` leave
about 15 % for dependency upgrades (botocore gains service models with every release) and stay far below
Lambda's limits (250 MB unzipped for a function and its layers, 50 MB for a zip uploaded directly);
:data:`PACKAGE_TARGET_MB` leaves the package's source 0.3 MB (20 %) to grow, less than ``local/`` alone,
so the row misses if the excluded folders come back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from benchmarks.harness import Result

__all__ = [
    "PACKAGE_TARGET_MB",
    "UNZIPPED_TARGET_MB",
    "ZIPPED_TARGET_MB",
    "build_layer",
    "run_layer",
    "tree_bytes",
    "zipped_bytes",
]

LAYER_DIR = Path(__file__).resolve().parent.parent / "layers" / "core"
"""The CoreLayer's source: its Makefile and the package."""
UNZIPPED_TARGET_MB = 68.0
"""The built layer, unzipped, at most (MB)."""
ZIPPED_TARGET_MB = 35.0
"""The built layer, zipped, at most (MB)."""
PACKAGE_TARGET_MB = 1.7
"""The ``modelrouter`` package's source in the layer at most (MB; its bytecode not counted)."""
MB = 1_000_000
_NETWORK_HINTS = ("connection", "network", "resolve", "temporary failure", "no matching distribution")


def tree_bytes(folder: Path, *, bytecode: bool = True) -> int:
    """Bytes of every file under ``folder`` (apparent sizes, as Lambda counts them); ``bytecode=False``:
    without ``__pycache__`` folders."""
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and (bytecode or "__pycache__" not in path.parts)
    )


def zipped_bytes(folder: Path, archive: Path) -> int:
    """Bytes of ``folder`` zipped (deflate) into ``archive``, paths relative to ``folder``."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as file:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                file.write(path, path.relative_to(folder))
    return archive.stat().st_size


def build_layer(artifacts: Path, target: str = "build-CoreLayer") -> subprocess.CompletedProcess[str]:
    """Run the layer Makefile's ``target`` into ``artifacts`` with this interpreter's pip."""
    return subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(LAYER_DIR),
            target,
            f"ARTIFACTS_DIR={artifacts}",
            f"PYTHON={sys.executable}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )


def _failure_note(result: subprocess.CompletedProcess[str]) -> str:
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith(("WARNING", "make:", "make["))
    ]
    last = lines[-1].strip() if lines else f"exit status {result.returncode}"
    offline = any(hint in result.stderr.lower() for hint in _NETWORK_HINTS)
    cause = "pip could not download the Lambda wheels (no network?)" if offline else "the build failed"
    return f"not measured: {cause}: {last[:160]}"


def run_layer() -> list[Result]:
    """Build the layer in a temporary folder; its unzipped, zipped and package sizes."""
    with tempfile.TemporaryDirectory(prefix="layer-bench-") as scratch:
        artifacts = Path(scratch) / "layer"
        artifacts.mkdir()
        built = build_layer(artifacts)
        if built.returncode != 0:
            note = _failure_note(built)
            copied = build_layer(artifacts, "copy-package")  # the package alone needs no pip
            rows = [
                Result("layer: unzipped [MB]", 0, 0.0, None, None, note),
                Result("layer: zipped [MB]", 0, 0.0, None, None, note),
            ]
            if copied.returncode != 0:
                return [
                    *rows,
                    Result("layer: modelrouter package [MB]", 0, 0.0, None, None, _failure_note(copied)),
                ]
        else:
            unzipped = tree_bytes(artifacts)
            zipped = zipped_bytes(artifacts, Path(scratch) / "layer.zip")
            botocore = tree_bytes(artifacts / "python" / "botocore")
            rows = [
                Result(
                    "layer: unzipped [MB]",
                    1,
                    unzipped / MB,
                    None,
                    UNZIPPED_TARGET_MB,
                    f"value is MB, not ms; make build-CoreLayer (arm64 wheels); botocore "
                    f"{botocore / MB:.1f} MB of it; Lambda allows 250 MB for a function and its layers",
                ),
                Result(
                    "layer: zipped [MB]",
                    1,
                    zipped / MB,
                    None,
                    ZIPPED_TARGET_MB,
                    "value is MB, not ms; deflate, as sam build uploads it",
                ),
            ]
        package = tree_bytes(artifacts / "python" / "modelrouter", bytecode=False)
        rows.append(
            Result(
                "layer: modelrouter package [MB]",
                1,
                package / MB,
                None,
                PACKAGE_TARGET_MB,
                "value is MB, not ms; source, no bytecode; without LAYER_EXCLUDE (local/, cli/, training/, "
                "…: no function imports them)",
            )
        )
        return rows
