"""What ``template.yaml`` must keep: runtime and layer, parameters, storage safety, least privilege, API.

``make sam-validate`` checks that the template is valid (the SAM transform and cfn-lint); these tests
check the decisions that a valid template can still get wrong.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.settings import Settings
from tests.aws import load_template
from tests.helpers import ROOT

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE.get("Globals", {}).get("Function", {})
FUNCTIONS = ("RouterFunction", "AuthorizerFunction")
TABLE_TTL = {
    "BudgetTable": "expires_at",
    "ProvenanceTable": "expires_at",
    "IdempotencyTable": "expiration",  # Powertools' DynamoDBPersistenceLayer default
    "ApiKeyTable": None,  # keys are revoked, never expired away: the table is their audit trail
}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(name: str, attribute: str = "Arn") -> dict[str, str]:
    return {"GetAtt": f"{name}.{attribute}"}


def resources_of(type_: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == type_}


def function_property(function: str, name: str) -> Any:
    """A function's property as deployed: its own value, else the Globals' one."""
    properties = RESOURCES[function]["Properties"]
    return properties[name] if name in properties else GLOBAL_FUNCTION.get(name)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(function: str) -> Iterator[dict[str, Any]]:
    """Every IAM statement of a function's inline policies, both branches of an ``!If`` included."""
    for policy in RESOURCES[function]["Properties"].get("Policies", []):
        assert isinstance(policy, dict), f"{function}: only inline policy documents, not {policy!r}"
        assert set(policy) == {"Version", "Statement"}, f"{function}: unexpected policy form {policy!r}"
        for statement in policy["Statement"]:
            if set(statement) == {"If"}:
                _condition, *branches = statement["If"]
                yield from (branch for branch in branches if branch != ref("AWS::NoValue"))
            else:
                yield statement


def grants(function: str) -> dict[str, list[Any]]:
    """``{action: [resources]}`` over a function's statements (all of them Allow)."""
    granted: dict[str, list[Any]] = {}
    for statement in statements(function):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).extend(as_list(statement["Resource"]))
    return granted


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# --- Code: runtime, architecture, layer ------------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_run_python313_on_arm64_with_the_core_layer(function: str) -> None:
    assert function_property(function, "Runtime") == "python3.13"
    assert function_property(function, "Architectures") == ["arm64"]
    assert ref("CoreLayer") in function_property(function, "Layers")
    assert function_property(function, "Handler") == "app.handler"
    assert function_property(function, "Tracing") == "Active"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_code_carries_no_dependencies_of_its_own(function: str) -> None:
    code_uri = function_property(function, "CodeUri")
    assert code_uri == f"functions/{function.removesuffix('Function').lower()}"
    # the layer carries every dependency; a requirements.txt here would make sam build pip-install
    # for the build machine's Python instead of Lambda's
    assert not (ROOT / code_uri / "requirements.txt").exists()


def test_core_layer_is_built_by_its_makefile_for_arm64() -> None:
    layer = RESOURCES["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/core"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    makefile = (ROOT / "layers/core/Makefile").read_text()
    assert re.search(r"^build-CoreLayer:", makefile, re.MULTILINE)
    for option in ("manylinux2014_aarch64", "--python-version $(LAMBDA_PYTHON)", "--only-binary=:all:"):
        assert option in makefile
    assert "LAMBDA_PYTHON ?= 3.13" in makefile


def _requirement_set(lines: list[str]) -> set[str]:
    normalized = set()
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)\s*(.*)", text)
        assert match, f"unexpected requirement {line!r}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        normalized.add(name + match.group(2).replace(" ", ""))
    return normalized


def test_layer_requirements_match_the_package_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    layer = (ROOT / "layers/core/requirements.txt").read_text().splitlines()
    assert _requirement_set(layer) == _requirement_set(project["dependencies"])


# --- Parameters ------------------------------------------------------------------------------------


def test_sizing_and_concurrency_are_parameters() -> None:
    router = RESOURCES["RouterFunction"]["Properties"]
    assert router["MemorySize"] == ref("RouterMemorySize")
    assert router["Timeout"] == ref("RouterTimeout")
    assert router["ReservedConcurrentExecutions"] == {
        "If": ["HasReservedConcurrency", ref("RouterReservedConcurrency"), ref("AWS::NoValue")]
    }
    assert PARAMETERS["RouterReservedConcurrency"]["Default"] == -1  # unreserved unless asked
    assert RESOURCES["AuthorizerFunction"]["Properties"]["MemorySize"] == ref("AuthorizerMemorySize")
    for name in ("RouterMemorySize", "AuthorizerMemorySize"):
        assert PARAMETERS[name]["MinValue"] == 128
        assert PARAMETERS[name]["MaxValue"] == 10240


def test_every_parameter_is_used() -> None:
    used = set(strings_in([RESOURCES, TEMPLATE["Conditions"], TEMPLATE.get("Globals", {})]))
    text = " ".join(used)
    for name in PARAMETERS:
        assert name in used or f"${{{name}}}" in text, f"parameter {name} is never used"


def test_default_bedrock_arns_are_model_or_profile_arns() -> None:
    arns = [arn.strip() for arn in PARAMETERS["BedrockModelArns"]["Default"].split(",")]
    assert arns
    pattern = r"arn:aws:bedrock:[a-z0-9-]+:(\d{12})?:(foundation-model|inference-profile)/[\w.:-]+"
    for arn in arns:
        assert re.fullmatch(pattern, arn), arn
    assert PARAMETERS["BedrockGuardrailArns"]["Default"] == ""


def test_router_environment_is_what_the_settings_read() -> None:
    environment = RESOURCES["RouterFunction"]["Properties"]["Environment"]["Variables"]
    known = {field.upper() for field in Settings.model_fields}
    assert set(environment) <= known, f"unknown to modelrouter.settings: {set(environment) - known}"

    def resolve(value: Any) -> str:
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in PARAMETERS:
            return str(PARAMETERS[value["Ref"]]["Default"])
        if isinstance(value, dict):
            return f"resolved-{next(iter(value.values()))}"
        return str(value)

    Settings.from_env({name: resolve(value) for name, value in environment.items()})
    assert environment["POLICY_KEY"] == ref("PolicyKey")


def test_powertools_is_configured_for_both_functions() -> None:
    variables = GLOBAL_FUNCTION["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "modelrouter"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "ModelRouter"
    assert variables["POWERTOOLS_LOG_LEVEL"] == ref("LogLevel")
    assert RESOURCES["AuthorizerFunction"]["Properties"]["Environment"]["Variables"] == {
        "API_KEY_TABLE": ref("ApiKeyTable")
    }


# --- Storage ---------------------------------------------------------------------------------------


def test_policy_bucket_is_private_versioned_encrypted_and_tls_only() -> None:
    bucket = RESOURCES["PolicyBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    (policy,) = resources_of("AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == ref("PolicyBucket")
    deny_plain_http = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": False}}
    ]
    assert len(deny_plain_http) == 1
    (statement,) = deny_plain_http
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert sorted(map(str, statement["Resource"])) == sorted(
        map(str, [get_att("PolicyBucket"), {"Sub": "${PolicyBucket.Arn}/*"}])
    )


@pytest.mark.parametrize("table", sorted(TABLE_TTL))
def test_tables_are_on_demand_recoverable_encrypted_and_kept(table: str) -> None:
    resource = RESOURCES[table]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    properties = resource["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert "TableName" not in properties  # stack-generated, so stacks never collide
    ttl = TABLE_TTL[table]
    if ttl is None:
        assert "TimeToLiveSpecification" not in properties
    else:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}


def test_every_table_is_covered() -> None:
    assert set(resources_of("AWS::DynamoDB::Table")) == set(TABLE_TTL)


def test_provider_secret_is_per_stack() -> None:
    (secret,) = resources_of("AWS::SecretsManager::Secret").values()
    name = secret["Properties"].get("Name")
    assert name is None or "${AWS::StackName}" in name.get("Sub", ""), name


# --- Least privilege -------------------------------------------------------------------------------


def test_no_policy_grants_a_wildcard_resource_or_action() -> None:
    for function in FUNCTIONS:
        for statement in statements(function):
            for resource in as_list(statement["Resource"]):
                assert not any("*" in text for text in strings_in(resource)), f"{function}: {statement}"
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{function}: {statement}"


def test_router_invokes_only_the_listed_bedrock_models_and_guardrails() -> None:
    granted = grants("RouterFunction")
    bedrock = {action: resources for action, resources in granted.items() if action.startswith("bedrock:")}
    assert bedrock == {
        "bedrock:InvokeModel": [ref("BedrockModelArns")],
        "bedrock:InvokeModelWithResponseStream": [ref("BedrockModelArns")],
        "bedrock:ApplyGuardrail": [ref("BedrockGuardrailArns")],
    }
    (guardrails,) = (
        statement
        for statement in RESOURCES["RouterFunction"]["Properties"]["Policies"][0]["Statement"]
        if "If" in statement
    )
    assert guardrails["If"][0] == "HasGuardrails"  # no grant at all while the list is empty
    assert guardrails["If"][2] == ref("AWS::NoValue")


def test_router_reads_only_the_active_policy_object() -> None:
    granted = grants("RouterFunction")
    s3 = {action: resources for action, resources in granted.items() if action.startswith("s3:")}
    policy_object = {"Sub": "${PolicyBucket.Arn}/${PolicyKey}"}
    assert s3 == {"s3:GetObject": [policy_object], "s3:GetObjectVersion": [policy_object]}


def test_router_data_access_is_exactly_what_the_code_calls() -> None:
    granted = grants("RouterFunction")
    budget, provenance = get_att("BudgetTable"), get_att("ProvenanceTable")
    idempotency = get_att("IdempotencyTable")
    expected = {
        # reserve (conditional UpdateItem), settle (TransactWriteItems: Update + Put + Put, authorized per
        # item), usage (Query, GetItem)
        "dynamodb:GetItem": [budget, idempotency],
        "dynamodb:PutItem": [budget, provenance, idempotency],
        "dynamodb:UpdateItem": [budget, idempotency],
        "dynamodb:Query": [budget],
        "dynamodb:ConditionCheckItem": [budget],
        "dynamodb:DeleteItem": [idempotency],
        "secretsmanager:GetSecretValue": [ref("ProviderKeysSecret")],
    }
    data = {action: sorted(map(str, resources)) for action, resources in granted.items()}
    assert {
        action: resources
        for action, resources in data.items()
        if action.split(":")[0] not in {"s3", "bedrock"}
    } == {action: sorted(map(str, resources)) for action, resources in expected.items()}
    assert "cloudwatch:PutMetricData" not in granted  # metrics go out as EMF log lines


def test_authorizer_only_reads_api_keys() -> None:
    assert grants("AuthorizerFunction") == {"dynamodb:GetItem": [get_att("ApiKeyTable")]}


# --- API and logs ----------------------------------------------------------------------------------


def test_http_api_requires_the_key_authorizer_and_throttles() -> None:
    api = RESOURCES["HttpApi"]["Properties"]
    auth = api["Auth"]
    assert auth["DefaultAuthorizer"] == "ApiKeyAuthorizer"
    authorizer = auth["Authorizers"]["ApiKeyAuthorizer"]
    assert authorizer["FunctionArn"] == get_att("AuthorizerFunction")
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert authorizer["EnableSimpleResponses"] is True
    assert api["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": ref("ThrottlingBurstLimit"),
        "ThrottlingRateLimit": ref("ThrottlingRateLimit"),
    }
    assert api["AccessLogSettings"]["DestinationArn"] == get_att("HttpApiAccessLogGroup")


def test_every_route_is_on_the_api_behind_the_authorizer() -> None:
    routes = set()
    for function in FUNCTIONS:
        for event in RESOURCES[function]["Properties"].get("Events", {}).values():
            assert event["Type"] == "HttpApi"
            properties = event["Properties"]
            assert properties["ApiId"] == ref("HttpApi")
            assert "Auth" not in properties  # no route opts out of the default authorizer
            assert properties["TimeoutInMillis"] <= 30000
            routes.add((properties["Method"], properties["Path"]))
    assert routes == {("POST", "/v1/chat/completions"), ("POST", "/v1/route"), ("GET", "/v1/models")}


def test_every_log_group_has_retention_and_the_functions_use_theirs() -> None:
    groups = resources_of("AWS::Logs::LogGroup")
    assert set(groups) == {"RouterLogGroup", "AuthorizerLogGroup", "HttpApiAccessLogGroup"}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == ref("LogRetentionDays")
    for function in FUNCTIONS:
        log_group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]
        assert log_group == ref(function.replace("Function", "LogGroup"))


def test_outputs_include_the_api_url() -> None:
    outputs = TEMPLATE["Outputs"]
    assert "${HttpApi}.execute-api" in outputs["ApiUrl"]["Value"]["Sub"]
    for name in ("PolicyBucketName", "BudgetTableName", "ProviderKeysSecretArn"):
        assert name in outputs
