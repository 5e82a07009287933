"""One table of environment variable names (:mod:`modelrouter.env_names`): every variable the template
sets and every literal name the code reads is in it, the settings read through it, and the
documentation's table is generated from it."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest
from tests.aws import load_template
from tests.helpers import ROOT

from modelrouter import env_names
from modelrouter.drift.settings import ENVIRONMENT as DRIFT_ENVIRONMENT
from modelrouter.keys.authorizer_settings import AuthorizerConfigurationError, AuthorizerSettings
from modelrouter.settings import _ENVIRONMENT as ROUTER_ENVIRONMENT

MODULE = ROOT / "layers/core/modelrouter/env_names.py"
SCANNED = (ROOT / "layers/core/modelrouter", ROOT / "functions")
ARCHITECTURE = ROOT / "docs/architecture.md"
SECTION = "## Environment variables"


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or a variable called ``environ`` (a mapping passed in place of it)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def literal_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, name)`` of every environment read by a string literal in ``tree``: ``os.environ[…]``,
    ``os.environ.get/pop/setdefault(…)``, ``os.getenv(…)`` (and the same on a mapping named ``environ``),
    and string constants assigned to names ending in ``_ENV`` (a reader's own constant)."""
    reads: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        name: ast.expr | None = None
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            name = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            function = node.func
            reads_environ = function.attr in {"get", "pop", "setdefault"} and _is_environ(function.value)
            getenv = (
                function.attr == "getenv"
                and isinstance(function.value, ast.Name)
                and function.value.id == "os"
            )
            if reads_environ or getenv:
                name = node.args[0]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.endswith("_ENV") for t in targets):
                name = node.value
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            reads.append((node.lineno, name.value))
    return reads


def _python_files() -> list[Path]:
    return sorted(
        path for folder in SCANNED for path in folder.rglob("*.py") if "__pycache__" not in path.parts
    )


def test_no_module_reads_a_variable_the_table_does_not_name() -> None:
    # Given every module of the package and every handler
    strays = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in _python_files()
        for line, name in literal_reads(ast.parse(path.read_text(encoding="utf-8")))
        if name not in env_names.NAMES
    ]
    # Then each environment variable read by a literal name is in the table
    assert strays == []


def test_the_scan_finds_every_kind_of_read() -> None:
    # Given a module reading the environment every way
    tree = ast.parse(
        "import os\n"
        "A = os.environ['ONE']\n"
        "B = os.environ.get('TWO')\n"
        "C = os.getenv('THREE')\n"
        "def f(environ):\n"
        "    return environ.get('FOUR')\n"
        "TABLE_ENV = 'FIVE'\n"
        "D = os.environ.get(TABLE_ENV)\n"
    )
    # Then the scan finds each literal name
    assert {name for _, name in literal_reads(tree)} == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}


def _template_variables() -> dict[str, set[str]]:
    template = load_template(ROOT / "template.yaml")
    found = {"Globals": set(template["Globals"]["Function"]["Environment"]["Variables"])}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            found[name] = set(resource["Properties"].get("Environment", {}).get("Variables", {}))
    return found


def test_every_variable_the_template_sets_is_in_the_table() -> None:
    # Given the variables template.yaml gives every function
    variables = _template_variables()
    assert {
        "RouterFunction",
        "AuthorizerFunction",
        "PolicyActivatorFunction",
        "DriftDetectorFunction",
    } <= set(variables)
    # Then each one is in the table
    missing = {
        function: names - env_names.NAMES for function, names in variables.items() if names - env_names.NAMES
    }
    assert missing == {}


def test_the_settings_read_the_tables_names() -> None:
    # Given the router's, the drift function's and the authorizer's settings; Then their variables are the
    # table's, and the router's are exactly its group
    assert set(ROUTER_ENVIRONMENT.values()) == set(env_names.GROUPS["Router settings"])
    assert set(DRIFT_ENVIRONMENT.values()) == {
        env_names.PROVENANCE_TABLE,
        *env_names.GROUPS["Drift detector"],
    }
    assert env_names.API_KEY_TABLE in env_names.GROUPS["Authorizer"]


def _constants() -> dict[str, tuple[str, str]]:
    """Constant → (value, docstring) of the module, read from its source."""
    body = ast.parse(MODULE.read_text(encoding="utf-8")).body
    found: dict[str, tuple[str, str]] = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            docstring = ""
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                docstring = str(following.value.value)
            found[node.target.id] = (node.value.value, docstring)
    return found


def test_every_constant_has_a_docstring_and_one_group() -> None:
    # Given the table's constants; Then each has a docstring, is exported and is in exactly one group
    constants = _constants()
    grouped = [name for names in env_names.GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(value for value, _ in constants.values())
    for constant, (_, docstring) in constants.items():
        assert docstring, constant
        assert constant in env_names.__all__, constant


def documentation_table() -> str:
    """The "Environment variables" section of ``docs/architecture.md``, from the module."""
    meaning = {
        value: " ".join(docstring.replace("``", "`").split()) for value, docstring in _constants().values()
    }
    lines = [
        SECTION,
        "",
        "Every variable modelrouter reads or sets, by who sets it. The names live in one module,",
        "`modelrouter/env_names.py`; code reads them through its constants. This table is generated from",
        "it: `tests/unit/test_env_names.py` checks the two agree, that every variable `template.yaml` sets",
        "is in it, and that no module reads a variable by a literal name missing from it.",
        "",
        "| group | variable | meaning |",
        "| --- | --- | --- |",
    ]
    for group, names in env_names.GROUPS.items():
        lines.extend(f"| {group} | `{name}` | {meaning[name]} |" for name in names)
    return "\n".join(lines) + "\n"


def test_the_documentation_lists_the_table() -> None:
    # Given docs/architecture.md; Then its "Environment variables" section is the generated table
    text = ARCHITECTURE.read_text(encoding="utf-8")
    expected = documentation_table()
    assert expected in text, f"replace the section in {ARCHITECTURE.name} with:\n\n{expected}"


def test_authorizer_settings_read_the_key_table() -> None:
    # Given the key table's variable; When read; Then it is the setting
    settings = AuthorizerSettings.from_env({env_names.API_KEY_TABLE: "modelrouter-ApiKeyTable-1"})
    assert settings.api_key_table == "modelrouter-ApiKeyTable-1"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "API_KEY_TABLE is not set"),
        ({"API_KEY_TABLE": ""}, "API_KEY_TABLE is not set"),
        ({"API_KEY_TABLE": "ab"}, "API_KEY_TABLE: String should have at least 3 characters"),
    ],
)
def test_authorizer_settings_name_the_bad_variable(environ: dict[str, str], message: str) -> None:
    # Given a missing, empty or invalid key table; When read; Then the error names the variable, and is a
    # RuntimeError (the handler raises it: API Gateway answers AUTHORIZER_FAILURE)
    with pytest.raises(AuthorizerConfigurationError) as raised:
        AuthorizerSettings.from_env(environ)
    assert str(raised.value) == message
    assert isinstance(raised.value, RuntimeError)
