"""Every environment variable modelrouter reads or sets, by name: the one table.

Readers use these constants, never the string (``tests/unit/test_env_names.py`` scans the package and
the functions for ``os.environ[…]``, ``os.environ.get(…)`` and ``os.getenv(…)`` with a literal name not
in this table, checks every variable ``template.yaml`` sets is here, and that the "Environment
variables" section of ``docs/architecture.md`` is this table). Grouped by who sets them; a variable is
listed once, under the group that defines it, and its docstring names who else reads it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ANTHROPIC_BASE_URL",
    "API_KEY_TABLE",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_PREFIX",
    "AWS_LAMBDA_EXEC_WRAPPER",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_XRAY_DAEMON_ADDRESS",
    "BEDROCK_ENDPOINT_URL",
    "BUDGET_TABLE",
    "DRIFT_BASELINE_WINDOW",
    "DRIFT_LAG",
    "DRIFT_MAX_RECORDS_PER_WINDOW",
    "DRIFT_RECENT_WINDOW",
    "GROUPS",
    "HANDLER",
    "HEALTH_TABLE",
    "HOLD_SECONDS",
    "IDEMPOTENCY_TABLE",
    "LAMBDA_TASK_ROOT",
    "LEARNING_TABLE",
    "LOG_LEVEL",
    "MAX_BODY_BYTES",
    "MODELROUTER_BASE_URL",
    "MODELROUTER_FUNCTIONS_DIR",
    "MODELROUTER_LOCAL_ENV",
    "NAMES",
    "OPENAI_BASE_URL",
    "POLICY_BUCKET",
    "POLICY_KEY",
    "POLICY_POINTER_KEY",
    "POLICY_REFRESH_SECONDS",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_TRACE_DISABLED",
    "PROVENANCE_TABLE",
    "PROVIDER_SECRET_ARN",
    "PYTHONPATH",
    "TRACE_ID",
]

# --- Router settings (template.yaml RouterFunction; modelrouter.settings.Settings) ---------------------

POLICY_BUCKET: Final = "POLICY_BUCKET"
"""S3 bucket of the policies (required); also the policy activator's and the CLI's."""
POLICY_KEY: Final = "POLICY_KEY"
"""Key operators upload policies to, under ``incoming/``; also the CLI's ``push`` default."""
POLICY_POINTER_KEY: Final = "POLICY_POINTER_KEY"
"""Key of the active pointer (``control/active.json``); also the policy activator's and the CLI's."""
POLICY_REFRESH_SECONDS: Final = "POLICY_REFRESH_SECONDS"
"""At most this often a container checks S3 for a new active policy."""
BUDGET_TABLE: Final = "BUDGET_TABLE"
"""DynamoDB table of budgets and the ledger (required); also the CLI's ``usage``."""
PROVENANCE_TABLE: Final = "PROVENANCE_TABLE"
"""DynamoDB table of provenance records (required); also the drift function's and the CLI's."""
IDEMPOTENCY_TABLE: Final = "IDEMPOTENCY_TABLE"
"""DynamoDB table of idempotency records (without it the ``Idempotency-Key`` header is refused)."""
LEARNING_TABLE: Final = "LEARNING_TABLE"
"""DynamoDB table of the bandit routes' learning state."""
HEALTH_TABLE: Final = "HEALTH_TABLE"
"""DynamoDB table of shared breakers, cooldowns and concurrency leases."""
PROVIDER_SECRET_ARN: Final = "PROVIDER_SECRET_ARN"
"""Secrets Manager secret holding the HTTP providers' API keys."""
MAX_BODY_BYTES: Final = "MAX_BODY_BYTES"
"""Larger request bodies get 413."""
BEDROCK_ENDPOINT_URL: Final = "BEDROCK_ENDPOINT_URL"
"""Bedrock endpoint override (the local stack's model server)."""
HOLD_SECONDS: Final = "HOLD_SECONDS"
"""How long a budget hold lasts before it may be returned as abandoned."""

# --- Authorizer (template.yaml AuthorizerFunction) -----------------------------------------------------

API_KEY_TABLE: Final = "API_KEY_TABLE"
"""DynamoDB table of API keys (required); also the CLI's ``keys``."""

# --- Drift detector (template.yaml DriftDetectorFunction; modelrouter.drift.settings) -----------------

DRIFT_RECENT_WINDOW: Final = "DRIFT_RECENT_WINDOW"
"""Length of the recent window (``1h``)."""
DRIFT_BASELINE_WINDOW: Final = "DRIFT_BASELINE_WINDOW"
"""Length of the baseline window just before it (``24h``)."""
DRIFT_LAG: Final = "DRIFT_LAG"
"""The recent window ends this long before the run (``5m``)."""
DRIFT_MAX_RECORDS_PER_WINDOW: Final = "DRIFT_MAX_RECORDS_PER_WINDOW"
"""Records read per window at most (``100000``)."""

# --- Logging, metrics and tracing (template.yaml Globals; read by Powertools and modelrouter.tracing) --

POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
"""The ``service`` of every log line and metric dimension."""
POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
"""CloudWatch namespace of the EMF metrics."""
POWERTOOLS_LOG_LEVEL: Final = "POWERTOOLS_LOG_LEVEL"
"""Powertools' log level."""
LOG_LEVEL: Final = "LOG_LEVEL"
"""Log level (Powertools falls back to it)."""
POWERTOOLS_TRACE_DISABLED: Final = "POWERTOOLS_TRACE_DISABLED"
"""``true``: no X-Ray traces (the local stack sets it)."""

# --- Local stack (modelrouter.local; set for the simulated functions, or read by serve and tests) ------

MODELROUTER_LOCAL_ENV: Final = "MODELROUTER_LOCAL_ENV"
"""Path of the local stack's ``local.env`` instead of ``.modelrouter/local.env`` (tests use it)."""
MODELROUTER_FUNCTIONS_DIR: Final = "MODELROUTER_FUNCTIONS_DIR"
"""Folder of the functions' handlers the local stack loads instead of the checkout's ``functions/``."""
MODELROUTER_BASE_URL: Final = "MODELROUTER_BASE_URL"
"""The local router API's ``/v1`` URL, written to ``local.env`` for shells and SDK examples."""
OPENAI_BASE_URL: Final = "OPENAI_BASE_URL"
"""The same URL for OpenAI's SDKs (written to ``local.env``)."""
ANTHROPIC_BASE_URL: Final = "ANTHROPIC_BASE_URL"
"""The local router API's URL for Anthropic's SDK, which appends ``/v1/messages`` (``local.env``)."""
AWS_ENDPOINT_URL_PREFIX: Final = "AWS_ENDPOINT_URL_"
"""Prefix of boto3's per-service endpoint variables (``AWS_ENDPOINT_URL_DYNAMODB``, …), set to the
embedded AWS for the local stack's functions."""
PYTHONPATH: Final = "PYTHONPATH"
"""Python's module path, extended for the local stack's container processes."""

# --- CLI (modelrouter.cli) ------------------------------------------------------------------------------
# The CLI reads the functions' names (POLICY_BUCKET, POLICY_KEY, POLICY_POINTER_KEY, BUDGET_TABLE,
# PROVENANCE_TABLE, API_KEY_TABLE): from the environment, or from local.env with --local.

AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"
"""boto3's endpoint for every service: the CLI's ``--local`` reads it from ``local.env``."""

# --- AWS and Lambda (set by Lambda, boto3's configuration, or the template for Lambda itself) -----------

AWS_REGION: Final = "AWS_REGION"
"""The function's region (Lambda sets it)."""
AWS_DEFAULT_REGION: Final = "AWS_DEFAULT_REGION"
"""boto3's default region (Lambda sets it; the local stack passes it on)."""
AWS_ACCESS_KEY_ID: Final = "AWS_ACCESS_KEY_ID"
"""boto3's credentials (the local stack sets placeholders unless the user has their own)."""
AWS_SECRET_ACCESS_KEY: Final = "AWS_SECRET_ACCESS_KEY"
"""boto3's credentials, with ``AWS_ACCESS_KEY_ID``."""
AWS_PROFILE: Final = "AWS_PROFILE"
"""boto3's named profile (the local stack keeps the user's credentials when set)."""
AWS_LAMBDA_FUNCTION_NAME: Final = "AWS_LAMBDA_FUNCTION_NAME"
"""The function's name: set only in Lambda (the router loads its policy at init there)."""
AWS_LAMBDA_FUNCTION_VERSION: Final = "AWS_LAMBDA_FUNCTION_VERSION"
"""The function's version (the streaming runtime's context)."""
AWS_LAMBDA_FUNCTION_MEMORY_SIZE: Final = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
"""The function's memory in MB (the streaming runtime's context)."""
AWS_LAMBDA_LOG_GROUP_NAME: Final = "AWS_LAMBDA_LOG_GROUP_NAME"
"""The function's log group (the streaming runtime's context)."""
AWS_LAMBDA_LOG_STREAM_NAME: Final = "AWS_LAMBDA_LOG_STREAM_NAME"
"""The container's log stream (the streaming runtime's context)."""
AWS_LAMBDA_RUNTIME_API: Final = "AWS_LAMBDA_RUNTIME_API"
"""Host and port of Lambda's Runtime API (the streaming runtime's loop)."""
AWS_LAMBDA_INITIALIZATION_TYPE: Final = "AWS_LAMBDA_INITIALIZATION_TYPE"
"""``snap-start`` when the container was restored from a SnapStart snapshot."""
AWS_LAMBDA_EXEC_WRAPPER: Final = "AWS_LAMBDA_EXEC_WRAPPER"
"""The router's exec wrapper (``/opt/modelrouter-streaming``; the template sets it, Lambda runs it)."""
HANDLER: Final = "_HANDLER"
"""The handler, ``module.function`` (the streaming runtime's loop imports it)."""
LAMBDA_TASK_ROOT: Final = "LAMBDA_TASK_ROOT"
"""The function's code folder (the streaming runtime's loop; tracing is on only under Lambda)."""
TRACE_ID: Final = "_X_AMZN_TRACE_ID"
"""The invocation's X-Ray trace header (the streaming runtime sets it per invocation)."""
AWS_XRAY_DAEMON_ADDRESS: Final = "AWS_XRAY_DAEMON_ADDRESS"
"""Where trace segments are sent (Lambda sets it)."""

GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "Router settings": (
        POLICY_BUCKET, POLICY_KEY, POLICY_POINTER_KEY, POLICY_REFRESH_SECONDS, BUDGET_TABLE, PROVENANCE_TABLE,
        IDEMPOTENCY_TABLE, LEARNING_TABLE, HEALTH_TABLE, PROVIDER_SECRET_ARN, MAX_BODY_BYTES,
        BEDROCK_ENDPOINT_URL, HOLD_SECONDS,
    ),
    "Authorizer": (API_KEY_TABLE,),
    "Drift detector": (DRIFT_RECENT_WINDOW, DRIFT_BASELINE_WINDOW, DRIFT_LAG, DRIFT_MAX_RECORDS_PER_WINDOW),
    "Logging, metrics and tracing": (
        POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL, LOG_LEVEL,
        POWERTOOLS_TRACE_DISABLED,
    ),
    "Local stack": (
        MODELROUTER_LOCAL_ENV, MODELROUTER_FUNCTIONS_DIR, MODELROUTER_BASE_URL, OPENAI_BASE_URL,
        ANTHROPIC_BASE_URL, AWS_ENDPOINT_URL_PREFIX, PYTHONPATH,
    ),
    "CLI": (AWS_ENDPOINT_URL,),
    "AWS and Lambda": (
        AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
        AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME, AWS_LAMBDA_RUNTIME_API,
        AWS_LAMBDA_INITIALIZATION_TYPE, AWS_LAMBDA_EXEC_WRAPPER, HANDLER, LAMBDA_TASK_ROOT, TRACE_ID,
        AWS_XRAY_DAEMON_ADDRESS,
    ),
}  # fmt: skip
"""Group → its variables, in the order above (the documentation's table)."""
NAMES: Final = frozenset(name for names in GROUPS.values() for name in names)
"""Every variable in the table."""
