"""Timeouts, retries and jitter live in :mod:`modelrouter.timeouts`: each constant documented, and no
other module of the layer defines one with a literal value."""

from __future__ import annotations

import ast
import itertools
import re

from tests.helpers import ROOT

from modelrouter import timeouts

PACKAGE = ROOT / "layers/core/modelrouter"
MODULE = PACKAGE / "timeouts.py"
NOT_IN_LAMBDA = ("local", "cli", "training")  # the layer leaves them out (tools with their own waits)
TIMING_NAME = re.compile(r"(TIMEOUT_S|_ATTEMPTS|RETRIES|JITTER\w*|_WAIT_S|BACKOFF\w*)$")


def _module_constants(tree: ast.Module) -> list[tuple[str, ast.expr, ast.stmt]]:
    found = []
    for node, following in itertools.pairwise([*tree.body, ast.Pass()]):
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and value is not None:
            found.append((target.id, value, following))
    return found


def test_every_constant_is_documented_and_exported() -> None:
    # Given the module's constants; Then each has a docstring and is in __all__
    constants = _module_constants(ast.parse(MODULE.read_text(encoding="utf-8")))
    names = [name for name, _, _ in constants if name != "__all__"]
    assert sorted(names) == sorted(timeouts.__all__)
    for name, _, following in constants:
        if name == "__all__":
            continue
        assert isinstance(following, ast.Expr), name
        assert isinstance(following.value, ast.Constant), name


def test_no_other_module_sets_a_timeout_retry_count_or_jitter_by_a_literal() -> None:
    # Given every module the layer ships
    strays = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if path == MODULE or relative.parts[0] in NOT_IN_LAMBDA or "__pycache__" in relative.parts:
            continue
        for name, value, _ in _module_constants(ast.parse(path.read_text(encoding="utf-8"))):
            # Then a module-level timeout, attempt count, retry count or jitter is bound to timeouts.*
            if TIMING_NAME.search(name.upper()) and isinstance(value, ast.Constant):
                strays.append(f"{relative}: {name} = {value.value!r}")
    assert strays == []


def test_the_users_read_the_constants() -> None:
    # Given the modules that name these values themselves; Then they are the constants
    from modelrouter import aws
    from modelrouter.health import wiring
    from modelrouter.policy import store
    from modelrouter.policy.execution import Execution

    assert aws.AWS_CONNECT_TIMEOUT_S == timeouts.AWS_CONNECT_TIMEOUT_S
    assert wiring.HEALTH_MAX_ATTEMPTS == timeouts.HEALTH_MAX_ATTEMPTS
    assert store.POLICY_MAX_ATTEMPTS == timeouts.POLICY_MAX_ATTEMPTS
    assert Execution().backoff_max_ms == timeouts.BACKOFF_MAX_MS
