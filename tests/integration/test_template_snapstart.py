"""``RouterSnapStart``: off leaves the router function as before; on adds SnapStart and sends API Gateway
to the published alias (a SnapStart function serves only published versions)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.aws import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
ROUTER = RESOURCES["RouterFunction"]["Properties"]
ALIAS = {"Ref": "RouterFunctionAliaslive"}
"""The alias SAM creates for ``AutoPublishAlias: live`` (``<function>Alias<name>``)."""
FUNCTION = {"GetAtt": "RouterFunction.Arn"}
CONDITION = "RouterSnapStartOn"


def resolve(value: Any, parameters: dict[str, str]) -> Any:
    """``value`` with every ``If`` on SnapStart's condition decided for ``parameters`` (other conditions
    left as they are); ``NoValue`` entries dropped (as CloudFormation does)."""
    if isinstance(value, dict):
        if set(value) == {"If"} and value["If"][0] == CONDITION:
            _condition, yes, no = value["If"]
            return resolve(yes if holds(CONDITION, parameters) else no, parameters)
        resolved = {key: resolve(item, parameters) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        return [resolve(item, parameters) for item in value]
    return value


def holds(condition: str, parameters: dict[str, str]) -> bool:
    """Decide ``condition``, an ``Equals`` of a parameter and a value (as SnapStart's is)."""
    ((function, arguments),) = TEMPLATE["Conditions"][condition].items()
    assert function == "Equals", condition
    left, right = (parameters[a["Ref"]] if isinstance(a, dict) else a for a in arguments)
    return bool(left == right)


def integration_targets(parameters: dict[str, str]) -> list[Any]:
    """What every API method invokes (the ``Target`` of its ``uri``), decided for ``parameters``."""
    targets = []
    for item in RESOURCES["RouterApi"]["Properties"]["DefinitionBody"]["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "x-amazon-apigateway-integration" not in operation:
                continue
            uri = resolve(operation["x-amazon-apigateway-integration"]["uri"], parameters)
            _template, variables = uri["Sub"]
            targets.append(variables["Target"])
    return targets


def test_snapstart_is_opt_in() -> None:
    # Given the parameter
    parameter = PARAMETERS["RouterSnapStart"]
    # Then it is off unless asked, with exactly Lambda's two values, and says what it needs
    assert parameter["Default"] == "None"
    assert parameter["AllowedValues"] == ["None", "PublishedVersions"]
    for constraint in ("provisioned concurrency", "EFS", "512 MB", "$LATEST", "restore"):
        assert constraint in parameter["Description"], constraint


def test_off_leaves_the_function_without_snapstart_and_invoked_as_before() -> None:
    # Given the default (None)
    parameters = {"RouterSnapStart": PARAMETERS["RouterSnapStart"]["Default"]}
    # When the template's conditions are decided
    router = resolve(ROUTER, parameters)
    permission = resolve(RESOURCES["RouterApiInvokePermission"]["Properties"], parameters)
    # Then the function has no SnapStart, and API Gateway invokes (and may invoke) the function itself
    assert "SnapStart" not in router
    assert set(map(str, integration_targets(parameters))) == {str(FUNCTION)}
    assert permission["FunctionName"] == FUNCTION


def test_on_adds_snapstart_and_invokes_the_published_alias() -> None:
    # Given SnapStart on
    parameters = {"RouterSnapStart": "PublishedVersions"}
    # When the template's conditions are decided
    router = resolve(ROUTER, parameters)
    permission = resolve(RESOURCES["RouterApiInvokePermission"]["Properties"], parameters)
    # Then the function snapshots published versions, and every method invokes the alias they go to
    assert router["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert router["AutoPublishAlias"] == "live"
    targets = integration_targets(parameters)
    assert len(targets) == 9
    assert all(target == ALIAS for target in targets)
    assert permission["FunctionName"] == ALIAS  # the alias's own resource policy


@pytest.mark.parametrize("value", ["None", "PublishedVersions"])
def test_the_router_keeps_its_runtime_and_arm64_either_way(value: str) -> None:
    # Given either setting: SnapStart needs Python 3.12+, and supports arm64
    router = resolve(ROUTER, {"RouterSnapStart": value})
    runtime = router.get("Runtime") or TEMPLATE["Globals"]["Function"]["Runtime"]
    # Then the function stays on a runtime SnapStart supports, without what it excludes
    assert runtime.startswith("python3.")
    assert int(runtime.split(".")[1]) >= 12
    assert "ProvisionedConcurrencyConfig" not in router
    assert "FileSystemConfigs" not in router
    assert router.get("EphemeralStorage", {"Size": 512})["Size"] <= 512
