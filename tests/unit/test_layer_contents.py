"""What the CoreLayer leaves out (``LAYER_EXCLUDE`` in ``layers/core/Makefile``) is never imported by a
Lambda function: a static walk of every import reachable from ``functions/*/app.py`` and the runtime loop
(:mod:`tests.layer_imports`)."""

from __future__ import annotations

from pathlib import Path

from tests.layer_imports import (
    PACKAGE,
    SOURCE,
    excluded_modules,
    handler_files,
    imported_names,
    layer_exclude,
    reachable_modules,
)


def test_no_function_can_import_what_the_layer_leaves_out() -> None:
    # Given every module a Lambda function can reach, lazy imports and lazy-map strings included
    reachable = reachable_modules()
    # Then none of them is left out of the layer
    assert not reachable & excluded_modules(), sorted(reachable & excluded_modules())


def test_the_local_stack_cli_and_training_stay_out() -> None:
    # Given the exclusion list; Then it names the three folders Lambda never runs
    assert {"local", "cli", "training"} <= set(layer_exclude())


def test_every_excluded_path_exists() -> None:
    # Given the exclusion list; Then each entry is a file or folder of the package (no stale entries)
    for path in layer_exclude():
        assert (SOURCE / PACKAGE / path).exists(), path


def test_every_handler_is_walked() -> None:
    # Given the functions of the template; Then each has a handler the walk starts from
    names = {path.parent.name for path in handler_files()}
    assert {"router", "authorizer", "policy_activator", "drift_detector"} <= names


def test_lazy_imports_of_the_router_are_reachable() -> None:
    # Given the router's handler, which imports its endpoints inside functions, and the policy package,
    # whose loader is only named in its _LAZY map; Then both are found
    reachable = reachable_modules()
    assert {
        "modelrouter.api.endpoints",
        "modelrouter.policy.loader",
        "modelrouter.lambda_runtime",
    } <= reachable


def test_imports_in_functions_relative_imports_and_module_strings_are_read(tmp_path: Path) -> None:
    # Given a module with a function-level import, a relative import and a lazy map of module names
    source = tmp_path / "module.py"
    source.write_text(
        "from . import sibling\n"
        "from .. import uncle\n"
        "_LAZY = {'name': 'modelrouter.policy.loader'}\n"
        "def later():\n"
        "    import modelrouter.health.cache\n"
        "    from modelrouter.api import endpoints\n"
        "    return 'not a module name'\n"
    )
    # When its imports are read as modelrouter.execution.module
    names = imported_names(source, "modelrouter.execution.module")
    # Then every kind is found, resolved to absolute names
    assert {
        "modelrouter.execution.sibling",
        "modelrouter.uncle",
        "modelrouter.policy.loader",
        "modelrouter.health.cache",
        "modelrouter.api.endpoints",
    } <= names
    assert "not a module name" not in names


def test_a_lazy_import_of_an_excluded_module_would_be_caught(tmp_path: Path) -> None:
    # Given a handler that imports the CLI only inside a function (on one request path)
    handler = tmp_path / "app.py"
    handler.write_text(
        "def handler(event, context):\n    from modelrouter.cli.aws_target import aws_target\n"
    )
    # Then the walk reaches the excluded module
    assert "modelrouter.cli.aws_target" in reachable_modules([handler]) & excluded_modules()
