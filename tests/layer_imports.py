"""Which ``modelrouter`` modules the Lambda functions can ever import: a static walk of the import graph.

Starting from every ``functions/*/app.py`` and the layer's runtime loop (``python3 -m
modelrouter.lambda_runtime``, run by the ``modelrouter-streaming`` wrapper), every module's source is
read with :mod:`ast` and each import anywhere in it is followed: top-level or inside a function (the
lazy ones, taken on some request path only), under ``if TYPE_CHECKING`` too (harmless: it only keeps
more), ``import x`` and ``from x import y`` (``y`` a submodule or a name), relative or absolute, and every
string constant that names a ``modelrouter`` module (``importlib.import_module`` arguments, the
``_LAZY`` maps of module ``__getattr__`` functions). Importing ``a.b.c`` imports the packages ``a`` and
``a.b`` too. Only ``modelrouter`` modules are followed; third-party ones come from the layer's pip step.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.helpers import ROOT

__all__ = [
    "FUNCTIONS",
    "LAYER_MAKEFILE",
    "PACKAGE",
    "RUNTIME_ROOTS",
    "SOURCE",
    "all_modules",
    "excluded_modules",
    "handler_files",
    "imported_names",
    "layer_exclude",
    "module_file",
    "reachable_modules",
]

SOURCE = ROOT / "layers" / "core"
"""The folder holding the ``modelrouter`` package (the layer's source)."""
PACKAGE = "modelrouter"
"""The package the layer ships."""
FUNCTIONS = ROOT / "functions"
"""One folder per Lambda function, each with its handler in ``app.py``."""
LAYER_MAKEFILE = SOURCE / "Makefile"
"""The CoreLayer's build: its ``LAYER_EXCLUDE`` lists what of the package stays out of the layer."""
RUNTIME_ROOTS = ("modelrouter.lambda_runtime.__main__",)
"""Modules Lambda runs besides the handlers: the streaming wrapper's ``python3 -m`` target."""
_MODULE_NAME = re.compile(rf"^{PACKAGE}(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def module_file(name: str) -> Path | None:
    """The source file of ``modelrouter`` module ``name`` (a package's ``__init__.py``), if it exists."""
    path = SOURCE.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    module = path.with_suffix(".py")
    return module if module.is_file() else None


def all_modules() -> set[str]:
    """Every module of the package's source tree."""
    names: set[str] = set()
    for path in (SOURCE / PACKAGE).rglob("*.py"):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def layer_exclude() -> list[str]:
    """``LAYER_EXCLUDE`` of the layer's Makefile: paths under ``modelrouter/`` the layer leaves out."""
    text = LAYER_MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    found = re.search(r"^LAYER_EXCLUDE\s*:=(.*)$", text, re.MULTILINE)
    if found is None:
        raise AssertionError(f"no LAYER_EXCLUDE in {LAYER_MAKEFILE}")
    return found.group(1).split()


def excluded_modules() -> set[str]:
    """Every module of the package that ``LAYER_EXCLUDE`` leaves out of the layer."""
    prefixes = [f"{PACKAGE}." + path.removesuffix(".py").replace("/", ".") for path in layer_exclude()]
    return {
        name
        for name in all_modules()
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)
    }


def handler_files() -> list[Path]:
    """Every Lambda function's handler module."""
    return sorted(FUNCTIONS.glob("*/app.py"))


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _absolute(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_names(path: Path, current: str = "") -> set[str]:
    """Module names ``path`` may import: every import statement anywhere in it, and every string
    constant naming a ``modelrouter`` module. ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be a
    submodule); names that are not modules are dropped later."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, current, _is_package(path))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_NAME.match(node.value)
        ):
            names.add(node.value)
    return names


def _with_parents(name: str) -> Iterator[str]:
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def reachable_modules(roots: Iterable[Path] | None = None) -> set[str]:
    """Every ``modelrouter`` module the handlers (``roots``: all of them by default) and the runtime
    loop can import, directly or through each other."""
    pending: list[str] = []
    for path in handler_files() if roots is None else roots:
        pending.extend(imported_names(path))
    pending.extend(RUNTIME_ROOTS)
    seen: set[str] = set()
    while pending:
        for name in _with_parents(pending.pop()):
            if name in seen or not name.startswith(PACKAGE):
                continue
            path = module_file(name)
            if path is None:  # a name imported from a module, not a module
                continue
            seen.add(name)
            pending.extend(imported_names(path, name))
    return seen
