"""The environment the local stack's functions run with, as ``template.yaml`` gives it in AWS, plus
endpoint overrides that send every AWS call to the embedded AWS (and Bedrock to the model server)."""

from __future__ import annotations

import os

from modelrouter import env_names
from modelrouter.activation.layout import DEFAULT_UPLOAD_KEY, POINTER_KEY
from modelrouter.local.aws import StackResources

__all__ = ["POLICY_KEY", "POLICY_POINTER_KEY", "function_environment"]

POLICY_KEY = DEFAULT_UPLOAD_KEY
"""Key policies are uploaded to in the local bucket (the template's ``PolicyKey`` default)."""
POLICY_POINTER_KEY = POINTER_KEY
"""The active pointer the activator writes and the routers follow."""
_AWS_SERVICES = ("S3", "DYNAMODB", "SECRETS_MANAGER", "CLOUDWATCH_LOGS", "EVENTBRIDGE")


def function_environment(
    resources: StackResources, aws_url: str, models_url: str | None, policy_refresh_seconds: int
) -> dict[str, str]:
    """Names, endpoints and (unless the user has their own) moto's placeholder credentials."""
    environment = {
        "POLICY_BUCKET": resources.bucket,
        "POLICY_KEY": POLICY_KEY,
        "POLICY_POINTER_KEY": POLICY_POINTER_KEY,
        "POLICY_REFRESH_SECONDS": str(policy_refresh_seconds),
        "BUDGET_TABLE": resources.tables["BudgetTable"],
        "PROVENANCE_TABLE": resources.tables["ProvenanceTable"],
        "IDEMPOTENCY_TABLE": resources.tables["IdempotencyTable"],
        "LEARNING_TABLE": resources.tables["LearningTable"],
        "HEALTH_TABLE": resources.tables["HealthTable"],
        "API_KEY_TABLE": resources.tables["ApiKeyTable"],
        "PROVIDER_SECRET_ARN": resources.secret_name,
        "POWERTOOLS_SERVICE_NAME": "modelrouter",
        "POWERTOOLS_METRICS_NAMESPACE": "ModelRouterLocal",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": os.environ.get(env_names.AWS_DEFAULT_REGION) or "us-east-1",
        **{f"AWS_ENDPOINT_URL_{service}": aws_url for service in _AWS_SERVICES},
    }
    if models_url is not None:
        environment["BEDROCK_ENDPOINT_URL"] = models_url
    if not (os.environ.get(env_names.AWS_ACCESS_KEY_ID) or os.environ.get(env_names.AWS_PROFILE)):
        # moto accepts any credentials; real Bedrock (no local models) needs the user's own.
        environment |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    return environment
