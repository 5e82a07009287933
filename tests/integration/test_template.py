"""What ``template.yaml`` must keep: runtime and layer, parameters, storage safety, least privilege, API.

``make sam-validate`` checks that the template is valid (the SAM transform and cfn-lint); these tests
check the decisions that a valid template can still get wrong.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, INCOMING_PREFIX, POINTER_KEY
from modelrouter.policy.learned import ROUTER_KEY_PREFIX
from modelrouter.settings import Settings
from tests.aws import load_template
from tests.helpers import ROOT

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE.get("Globals", {}).get("Function", {})
FUNCTIONS = ("RouterFunction", "AuthorizerFunction", "PolicyActivatorFunction", "DriftDetectorFunction")
EXEC_WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
ROUTES = {
    ("post", "/v1/chat/completions"),
    ("post", "/v1/messages"),
    ("post", "/v1/messages/count_tokens"),
    ("post", "/v1/route"),
    ("post", "/v1/feedback"),
    ("get", "/v1/models"),
    ("get", "/v1/models/{model}"),
    ("get", "/v1/usage"),
    ("get", "/health"),
}
PUBLIC_ROUTES = {("get", "/health")}
"""Served without an API key: liveness for load balancers (it shows no secrets)."""
STREAM_URI = (
    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${Target}"
    "/response-streaming-invocations"
)
ROUTER_TARGET: dict[str, Any] = {
    "If": ["RouterSnapStartOn", {"Ref": "RouterFunctionAliaslive"}, {"GetAtt": "RouterFunction.Arn"}]
}
"""What API Gateway invokes: the function as before, or its alias "live" with SnapStart on (a SnapStart
function serves only published versions)."""
TABLE_TTL = {
    "BudgetTable": "expires_at",
    "ProvenanceTable": "expires_at",
    "LearningTable": "expires_at",  # a window's counts expire past the bandit route's horizon
    "IdempotencyTable": "expiration",  # Powertools' DynamoDBPersistenceLayer default
    "ApiKeyTable": None,  # keys are revoked, never expired away: the table is their audit trail
}
EPHEMERAL_TABLES = {
    "HealthTable": "expires_at",  # breakers, cooldowns and leases: minutes of state, rebuilt by traffic
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
    folder = re.sub(r"(?<!^)(?=[A-Z])", "_", function.removesuffix("Function")).lower()
    assert code_uri == f"functions/{folder}"
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
    environment = dict(RESOURCES["RouterFunction"]["Properties"]["Environment"]["Variables"])
    environment.pop(EXEC_WRAPPER)  # read by Lambda, not by modelrouter (see the streaming test below)
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
    assert environment["POLICY_POINTER_KEY"] == POINTER_KEY  # what the activator writes
    assert PARAMETERS["PolicyKey"]["Default"] == DEFAULT_UPLOAD_KEY


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
    assert set(resources_of("AWS::DynamoDB::Table")) == set(TABLE_TTL) | set(EPHEMERAL_TABLES)


@pytest.mark.parametrize("table", sorted(EPHEMERAL_TABLES))
def test_ephemeral_tables_expire_everything_and_go_with_the_stack(table: str) -> None:
    # Given a table whose items live minutes (shared health), When the stack goes, Then so does the table
    resource = RESOURCES[table]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Delete"
    properties = resource["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    ttl = {"AttributeName": EPHEMERAL_TABLES[table], "Enabled": True}
    assert properties["TimeToLiveSpecification"] == ttl
    assert "TableName" not in properties


def test_the_time_index_projects_what_the_module_reads_and_no_prompt() -> None:
    # Given the provenance table's by_time index, Then it is keyed and projected as provenance_index says
    from modelrouter.provenance_index import BY_TIME_INDEX, PROJECTED_ATTRIBUTES, TIME_BUCKET_ATTRIBUTE

    properties = RESOURCES["ProvenanceTable"]["Properties"]
    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    index = indexes[BY_TIME_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": TIME_BUCKET_ATTRIBUTE, "KeyType": "HASH"},
        {"AttributeName": "sort_key", "KeyType": "RANGE"},
    ]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert tuple(index["Projection"]["NonKeyAttributes"]) == PROJECTED_ATTRIBUTES
    assert "prompt" not in PROJECTED_ATTRIBUTES
    assert "metadata" not in PROJECTED_ATTRIBUTES


def test_provider_secret_is_per_stack() -> None:
    (secret,) = resources_of("AWS::SecretsManager::Secret").values()
    name = secret["Properties"].get("Name")
    assert name is None or "${AWS::StackName}" in name.get("Sub", ""), name


# --- Least privilege -------------------------------------------------------------------------------


# The one wildcard: the objects under routers/ in the policy bucket, which the policy names (a key prefix
# within one bucket; listing them in a parameter would mean a stack update per router artifact).
ROUTER_ARTIFACTS = {"Sub": f"${{PolicyBucket.Arn}}/{ROUTER_KEY_PREFIX}*"}
# Uploaded policy versions (any key under incoming/: operators name them) and the activator's control/
# objects (the pointer, the history records, one per attempt): each prefix only with these actions.
UPLOADS = {"Sub": f"${{PolicyBucket.Arn}}/{INCOMING_PREFIX}*"}
CONTROL = {"Sub": "${PolicyBucket.Arn}/control/*"}
POINTER = {"Sub": f"${{PolicyBucket.Arn}}/{POINTER_KEY}"}
PREFIX_ACTIONS = {
    str(ROUTER_ARTIFACTS): ["s3:GetObject", "s3:GetObjectVersion"],
    str(UPLOADS): ["s3:GetObject", "s3:GetObjectVersion"],
    str(CONTROL): ["s3:GetObject", "s3:PutObject"],
}


def test_no_policy_grants_a_wildcard_resource_or_action() -> None:
    for function in FUNCTIONS:
        for statement in statements(function):
            for resource in as_list(statement["Resource"]):
                if str(resource) in PREFIX_ACTIONS:
                    assert statement["Action"] == PREFIX_ACTIONS[str(resource)], (function, statement)
                    continue
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


def test_router_reads_only_the_active_pointer_the_versions_it_names_and_router_artifacts() -> None:
    # Given the router's S3 grants, Then it reads the pointer, uploaded versions and artifacts, and
    # writes nothing (only the activator writes the pointer)
    granted = grants("RouterFunction")
    s3 = {action: resources for action, resources in granted.items() if action.startswith("s3:")}
    read = [POINTER, UPLOADS, ROUTER_ARTIFACTS]
    assert s3 == {"s3:GetObject": read, "s3:GetObjectVersion": read}


def test_router_data_access_is_exactly_what_the_code_calls() -> None:
    granted = grants("RouterFunction")
    budget, provenance = get_att("BudgetTable"), get_att("ProvenanceTable")
    idempotency, learning = get_att("IdempotencyTable"), get_att("LearningTable")
    health = get_att("HealthTable")
    expected = {
        # reserve (conditional UpdateItem), settle (TransactWriteItems: Update + Put + Put, authorized per
        # item), usage (Query, GetItem); feedback (Query on the request id index, GetItem, and a
        # TransactWriteItems Update of the record)
        "dynamodb:GetItem": [budget, idempotency, provenance],
        "dynamodb:PutItem": [budget, provenance, idempotency],
        # bandit routes: the state cache's Query, the settle and feedback transactions' Update (ADD)
        # shared health: the cache's Query; failure counts (ADD), breaker transitions and leases (UpdateItem)
        "dynamodb:UpdateItem": [budget, idempotency, provenance, learning, health],
        # usage's breakdown: the month's ledger items (budget) and the tenant's records (provenance)
        "dynamodb:Query": [
            budget,
            provenance,
            {"Sub": "${ProvenanceTable.Arn}/index/by_request_id"},
            learning,
            health,
        ],
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


API: dict[str, Any] = RESOURCES["RouterApi"]["Properties"]
OPENAPI: dict[str, Any] = API["DefinitionBody"]


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(method, path, operation)`` of every operation of the OpenAPI definition."""
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def gateway_responses() -> dict[str, dict[str, Any]]:
    """The API's gateway responses by response type, with CloudFormation's property names.

    They live in the OpenAPI definition (``x-amazon-apigateway-gateway-responses``), never as separate
    resources: a separate resource only takes effect at the next deployment, which CloudFormation does
    not order after it, so a new stack could serve API Gateway's default bodies."""
    assert not resources_of("AWS::ApiGateway::GatewayResponse")
    names = {"statusCode": "StatusCode", "responseParameters": "ResponseParameters",
             "responseTemplates": "ResponseTemplates"}  # fmt: skip
    return {
        response_type: {"ResponseType": response_type, **{names[k]: v for k, v in spec.items()}}
        for response_type, spec in OPENAPI["x-amazon-apigateway-gateway-responses"].items()
    }


def test_the_api_is_a_regional_rest_api_with_stage_api_and_tracing() -> None:
    assert RESOURCES["RouterApi"]["Type"] == "AWS::Serverless::Api"
    assert API["StageName"] == "api"
    assert API["EndpointConfiguration"] == {"Type": "REGIONAL"}  # edge endpoints idle out after 30 s
    assert API["TracingEnabled"] is True
    assert OPENAPI["openapi"].startswith("3.")
    assert not resources_of("AWS::Serverless::HttpApi")


def test_the_api_serves_exactly_the_router_functions_routes() -> None:
    assert {(method, path) for method, path, _ in operations()} == ROUTES
    for function in FUNCTIONS:  # no implicit API from function events
        events = RESOURCES[function]["Properties"].get("Events", {})
        assert not [event for event in events.values() if event["Type"] in {"Api", "HttpApi"}], function


def test_every_route_streams_from_the_router_function() -> None:
    for method, path, operation in operations():
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy", (method, path)
        assert integration["httpMethod"] == "POST"  # Lambda is always invoked with POST
        # InvokeWithResponseStream, of the function or (SnapStart) its alias
        assert integration["uri"] == {"Sub": [STREAM_URI, {"Target": ROUTER_TARGET}]}
        assert integration["responseTransferMode"] == "STREAM"
        # streamed integrations may run 15 minutes; longer than any router timeout
        assert integration["timeoutInMillis"] == 900_000
        assert integration["timeoutInMillis"] >= PARAMETERS["RouterTimeout"]["MaxValue"] * 1000


def test_every_route_but_health_requires_the_request_authorizer() -> None:
    schemes = OPENAPI["components"]["securitySchemes"]
    assert set(schemes) == {"ApiKeyAuthorizer", "AnyKeyHeaderAuthorizer"}
    for scheme in schemes.values():  # the same function behind both
        assert (scheme["type"], scheme["in"]) == ("apiKey", "header")
        assert scheme["x-amazon-apigateway-authtype"] == "custom"
        authorizer = scheme["x-amazon-apigateway-authorizer"]
        assert authorizer["type"] == "request"
        assert authorizer["authorizerUri"] == {
            "Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            "${AuthorizerFunction.Arn}/invocations"
        }
    # OpenAI's clients: the key in Authorization, which is the identity source, so results are cached
    bearer = schemes["ApiKeyAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert schemes["ApiKeyAuthorizer"]["name"] == "Authorization"
    assert bearer["identitySource"] == "method.request.header.Authorization"
    assert bearer["authorizerResultTtlInSeconds"] == 300
    # Anthropic's clients: Authorization or x-api-key; identity sources would all be required, so there
    # are none, and with none API Gateway may not cache (the function keeps accepted keys itself)
    either = schemes["AnyKeyHeaderAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert "identitySource" not in either
    assert either["authorizerResultTtlInSeconds"] == 0
    for method, path, operation in operations():
        if (method, path) in PUBLIC_ROUTES:
            expected = []
        elif path.startswith("/v1/messages") or path == "/v1/feedback":  # rated from either API's clients
            expected = [{"AnyKeyHeaderAuthorizer": []}]
        else:
            expected = [{"ApiKeyAuthorizer": []}]
        assert operation["security"] == expected, (method, path)


def _permitted_function(name: dict[str, Any]) -> str:
    """The function a permission is for; the router's names its alias instead when SnapStart is on."""
    if set(name) == {"If"}:
        assert name == ROUTER_TARGET
        return str(ROUTER_TARGET["If"][2]["GetAtt"])
    return name["GetAtt"]


def test_api_gateway_may_invoke_each_function_only_from_this_api() -> None:
    permissions = {
        _permitted_function(permission["Properties"]["FunctionName"]): permission["Properties"]
        for permission in resources_of("AWS::Lambda::Permission").values()
    }
    assert set(permissions) == {"RouterFunction.Arn", "AuthorizerFunction.Arn"}
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RouterApi}/"
    expected_sources = {
        "RouterFunction.Arn": prefix + "*/*/*",
        "AuthorizerFunction.Arn": prefix + "authorizers/*",
    }
    for function, properties in permissions.items():
        assert properties["Action"] == "lambda:InvokeFunction"  # also authorizes InvokeWithResponseStream
        assert properties["Principal"] == "apigateway.amazonaws.com"
        assert properties["SourceAccount"] == ref("AWS::AccountId")
        assert properties["SourceArn"] == {"Sub": expected_sources[function]}


def test_the_stage_throttles_every_method() -> None:
    assert API["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingBurstLimit": ref("ThrottlingBurstLimit"),
            "ThrottlingRateLimit": ref("ThrottlingRateLimit"),
            "MetricsEnabled": True,
        }
    ]


def test_access_logs_are_json_with_status_latencies_and_authorizer_outcome() -> None:
    settings = API["AccessLogSetting"]
    assert settings["DestinationArn"] == get_att("ApiAccessLogGroup")
    fields = json.loads(settings["Format"])
    for name, variable in {
        "requestId": "$context.requestId",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integration.latency",
        "integrationError": "$context.integration.error",
        "authorizerLatencyMs": "$context.authorizer.latency",
        "authorizerError": "$context.authorizer.error",
        "tenant": "$context.authorizer.tenant_id",
        "denyReason": "$context.authorizer.reason",
        "errorType": "$context.error.responseType",
    }.items():
        assert fields[name] == variable
    assert "Authorization" not in settings["Format"]  # never the key
    # REST APIs log with the account's CloudWatch role, set before the stage is created
    assert RESOURCES["RouterApi"]["DependsOn"] == "ApiGatewayAccount"
    account = RESOURCES["ApiGatewayAccount"]
    assert account["Properties"]["CloudWatchRoleArn"] == get_att("ApiGatewayCloudWatchRole")
    assert account["DeletionPolicy"] == RESOURCES["ApiGatewayCloudWatchRole"]["DeletionPolicy"] == "Retain"


def _body(properties: dict[str, Any], **substitutions: str) -> dict[str, Any]:
    """The response template as API Gateway would fill it, parsed."""
    text = properties["ResponseTemplates"]["application/json"]
    for variable, value in substitutions.items():
        text = text.replace(variable, value)
    document: dict[str, Any] = json.loads(text)
    return document


@pytest.mark.parametrize(
    ("response_type", "status", "error_type", "code"),
    [
        ("UNAUTHORIZED", "401", "authentication_error", "invalid_api_key"),
        ("ACCESS_DENIED", "401", "authentication_error", "invalid_api_key"),
        ("AUTHORIZER_FAILURE", "503", "server_error", "server_error"),
        ("MISSING_AUTHENTICATION_TOKEN", "404", "not_found_error", "not_found"),
        ("THROTTLED", "429", "rate_limit_error", "rate_limit_exceeded"),
        ("REQUEST_TOO_LARGE", "413", "invalid_request_error", "request_too_large"),
        ("INTEGRATION_TIMEOUT", "504", "timeout_error", "timeout"),
        ("DEFAULT_4XX", None, "invalid_request_error", "invalid_request"),
        ("DEFAULT_5XX", None, "server_error", "server_error"),
    ],
)
def test_gateway_refusals_are_openai_errors(
    response_type: str, status: str | None, error_type: str, code: str
) -> None:
    properties = gateway_responses()[response_type]
    assert properties.get("StatusCode") == status  # the DEFAULT_* keep the status of what they stand for
    body = _body(
        properties,
        **{
            "$context.authorizer.message": "Incorrect API key provided.",
            "$context.httpMethod": "GET",
            "$context.path": "/api/v2/models",
            "$context.error.messageString": json.dumps("Unsupported Media Type"),
        },
    )
    assert set(body) == {"error"}
    assert body["error"]["type"] == error_type
    assert body["error"]["code"] == code
    assert body["error"]["param"] is None
    assert body["error"]["message"]


def test_every_gateway_refusal_is_covered() -> None:
    assert set(gateway_responses()) == {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "AUTHORIZER_FAILURE",
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
        "REQUEST_TOO_LARGE",
        "INTEGRATION_TIMEOUT",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    }


def test_key_refusals_say_what_to_do_and_where_the_key_goes() -> None:
    responses = gateway_responses()
    missing = _body(responses["UNAUTHORIZED"])["error"]["message"]
    assert "Authorization: Bearer <key>" in missing
    assert "x-api-key: <key>" in missing
    denied = responses["ACCESS_DENIED"]["ResponseTemplates"]["application/json"]
    assert '"message": "$context.authorizer.message"' in denied  # the authorizer's JSON-safe hint
    for response_type in ("UNAUTHORIZED", "ACCESS_DENIED"):
        parameters = responses[response_type]["ResponseParameters"]
        assert parameters["gatewayresponse.header.WWW-Authenticate"] == "'Bearer'"


def test_unknown_routes_name_the_method_and_path_and_throttling_says_when_to_retry() -> None:
    responses = gateway_responses()
    message = _body(
        responses["MISSING_AUTHENTICATION_TOKEN"],
        **{"$context.httpMethod": "GET", "$context.path": "/api/v2"},
    )["error"]["message"]
    assert "GET /api/v2" in message
    assert responses["THROTTLED"]["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_the_router_runs_the_streaming_runtime_through_the_layer_wrapper() -> None:
    variables = RESOURCES["RouterFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[EXEC_WRAPPER] == "/opt/modelrouter-streaming"  # the layer's root is /opt
    assert EXEC_WRAPPER not in RESOURCES["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    wrapper = ROOT / "layers/core/modelrouter-streaming"
    assert wrapper.read_text().startswith("#!/bin/sh")
    makefile = (ROOT / "layers/core/Makefile").read_text()
    assert "modelrouter-streaming" in makefile


def test_router_timeout_allows_long_generations_within_holds_and_streams() -> None:
    timeout = PARAMETERS["RouterTimeout"]
    assert timeout["Default"] >= 300
    assert timeout["MaxValue"] == 900  # Lambda's and a streamed integration's limit
    assert "15 minutes" in timeout["Description"]
    assert "5 minutes" in timeout["Description"]
    hold = int(RESOURCES["RouterFunction"]["Properties"]["Environment"]["Variables"]["HOLD_SECONDS"])
    assert hold > timeout["MaxValue"] + 60  # budget holds outlive any invocation


def test_every_log_group_has_retention_and_the_functions_use_theirs() -> None:
    groups = resources_of("AWS::Logs::LogGroup")
    assert set(groups) == {
        "RouterLogGroup",
        "AuthorizerLogGroup",
        "ApiAccessLogGroup",
        "PolicyActivatorLogGroup",
        "DriftDetectorLogGroup",
    }
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == ref("LogRetentionDays")
    for function in FUNCTIONS:
        log_group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]
        assert log_group == ref(function.replace("Function", "LogGroup"))


def test_outputs_include_the_api_url_with_its_stage() -> None:
    outputs = TEMPLATE["Outputs"]
    assert (
        outputs["ApiUrl"]["Value"]["Sub"]
        == "https://${RouterApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"
    )
    for name in ("PolicyBucketName", "BudgetTableName", "ProviderKeysSecretArn"):
        assert name in outputs


# --- Policy activation -----------------------------------------------------------------------------


ACTIVATOR: dict[str, Any] = RESOURCES["PolicyActivatorFunction"]["Properties"]


def test_the_activator_runs_alone_sized_and_configured_as_the_code_reads() -> None:
    # Given the activator function, Then one invocation at a time, 512 MB, 60 s, its bucket and pointer
    assert ACTIVATOR["ReservedConcurrentExecutions"] == 1
    assert (ACTIVATOR["MemorySize"], ACTIVATOR["Timeout"]) == (512, 60)
    assert ACTIVATOR["Environment"]["Variables"] == {
        "POLICY_BUCKET": ref("PolicyBucket"),
        "POLICY_POINTER_KEY": POINTER_KEY,
    }


def test_uploads_under_incoming_of_the_policy_bucket_invoke_the_activator() -> None:
    # Given the bucket's events on EventBridge and the activator's rule
    bucket = RESOURCES["PolicyBucket"]["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    (event,) = ACTIVATOR["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    # Then the rule matches objects created under incoming/ of this bucket only
    assert event["Properties"]["Pattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [ref("PolicyBucket")]},
            "object": {"key": [{"prefix": INCOMING_PREFIX}]},
        },
    }
    assert DEFAULT_UPLOAD_KEY.startswith(INCOMING_PREFIX)
    assert re.fullmatch(PARAMETERS["PolicyKey"]["AllowedPattern"], DEFAULT_UPLOAD_KEY)
    assert not re.fullmatch(PARAMETERS["PolicyKey"]["AllowedPattern"], "policies/active.yaml")


def test_the_activator_reads_uploads_and_artifacts_writes_only_control_and_puts_events() -> None:
    # Given the activator's grants, Then they are exactly what activation calls
    bus = {"Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}
    expected = {
        "s3:GetObject": [UPLOADS, ROUTER_ARTIFACTS, CONTROL],
        "s3:GetObjectVersion": [UPLOADS, ROUTER_ARTIFACTS],
        "s3:PutObject": [CONTROL],
        "s3:ListBucket": [get_att("PolicyBucket")],
        "s3:ListBucketVersions": [get_att("PolicyBucket")],
        "events:PutEvents": [bus],
    }
    granted = grants("PolicyActivatorFunction")
    assert {action: sorted(map(str, resources)) for action, resources in granted.items()} == {
        action: sorted(map(str, resources)) for action, resources in expected.items()
    }


# --- Drift detection -------------------------------------------------------------------------------


DRIFT: dict[str, Any] = RESOURCES["DriftDetectorFunction"]["Properties"]


def test_the_drift_detector_runs_on_its_schedule_sized_for_its_capped_reads() -> None:
    # Given the drift function, Then it runs on the DriftSchedule (hourly by default), one EventBridge rule
    (event,) = DRIFT["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == ref("DriftSchedule")
    assert PARAMETERS["DriftSchedule"]["Default"] == "rate(1 hour)"
    # And it has the time to read its two capped windows, and retries a failed run within the hour
    assert (DRIFT["MemorySize"], DRIFT["Timeout"]) == (512, 300)
    assert DRIFT["EventInvokeConfig"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}


def test_the_drift_detector_environment_is_what_its_settings_read() -> None:
    from modelrouter.drift.settings import ENVIRONMENT, DriftSettings

    # Given the function's environment, Then it names only variables the settings read, and the defaults
    # of the parameters behind them are valid settings
    environment = DRIFT["Environment"]["Variables"]
    assert set(environment) <= set(ENVIRONMENT.values())
    assert environment["PROVENANCE_TABLE"] == ref("ProvenanceTable")
    resolved = {
        name: str(PARAMETERS[value["Ref"]]["Default"]) if value["Ref"] in PARAMETERS else "a-table"
        for name, value in environment.items()
    }
    settings = DriftSettings.from_env(resolved)
    assert (settings.recent.total_seconds(), settings.baseline.total_seconds()) == (3600, 86400)
    for name in ("DriftRecentWindow", "DriftBaselineWindow"):
        assert re.fullmatch(PARAMETERS[name]["AllowedPattern"], PARAMETERS[name]["Default"])


def test_the_drift_detector_only_queries_the_time_index_and_puts_events_on_the_default_bus() -> None:
    # Given its grants, Then exactly a Query of the by_time index (no Scan, no base table, no prompt: the
    # index projects none) and PutEvents on the default bus
    assert grants("DriftDetectorFunction") == {
        "dynamodb:Query": [{"Sub": "${ProvenanceTable.Arn}/index/by_time"}],
        "events:PutEvents": [
            {"Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}
        ],
    }
