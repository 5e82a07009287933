"""Timeouts, retries and jitter, in one place: what each bounds and why it has its value.

The modules that use them import them from here (most keep their own public name for the value, bound
to the constant, so their callers and tests are unchanged). Policy-configurable settings
(``execution:`` in a policy) take their defaults from here; a policy overrides them.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AWS_CONNECT_TIMEOUT_S",
    "AWS_MAX_ATTEMPTS",
    "AWS_READ_TIMEOUT_S",
    "BACKOFF_BASE_MS",
    "BACKOFF_MAX_MS",
    "BEDROCK_CONNECT_TIMEOUT_S",
    "BEDROCK_MAX_ATTEMPTS",
    "BEDROCK_READ_TIMEOUT_S",
    "BUDGET_PAUSE_JITTER_BASE_S",
    "BUDGET_PAUSE_JITTER_MAX_S",
    "BUDGET_PAUSE_MIN_S",
    "BUDGET_TRANSACTION_ATTEMPTS",
    "DEFAULT_DEADLINE_MS",
    "FEEDBACK_MAX_RETRIES",
    "GUARDRAIL_READ_TIMEOUT_S",
    "HEALTH_CONNECT_TIMEOUT_S",
    "HEALTH_MAX_ATTEMPTS",
    "HEALTH_PROBING_WAIT_S",
    "HEALTH_READ_TIMEOUT_S",
    "HEALTH_READ_WAIT_S",
    "HTTP_CONNECT_TIMEOUT_S",
    "HTTP_KEEPALIVE_EXPIRY_S",
    "KEY_CREATE_ATTEMPTS",
    "MIN_ATTEMPT_MS",
    "PATTERN_TIMEOUT_S",
    "POINTER_WRITE_ATTEMPTS",
    "POLICY_CONNECT_TIMEOUT_S",
    "POLICY_MAX_ATTEMPTS",
    "POLICY_READ_TIMEOUT_S",
    "RUNTIME_API_CONNECT_TIMEOUT_S",
    "SETTLEMENT_ATTEMPTS",
    "VALIDATION_PATTERN_BUDGET_S",
]

# --- The router's own AWS calls (modelrouter.aws: S3, DynamoDB on a request's path) ------------------

AWS_CONNECT_TIMEOUT_S: Final = 2.0
"""Connect timeout of the router's AWS clients: a request's path fails fast rather than hang."""
AWS_READ_TIMEOUT_S: Final = 3.0
"""Read timeout of the router's AWS clients (a DynamoDB or S3 answer takes milliseconds)."""
AWS_MAX_ATTEMPTS: Final = 3
"""Attempts in botocore's standard retry mode, the first included (throttling and 5xx retried twice)."""

# --- The policy (modelrouter.policy.store: a conditional GET, every refresh) ---------------------------

POLICY_CONNECT_TIMEOUT_S: Final = 1.0
"""Connect timeout of a policy refresh: a slow S3 keeps the policy in hand, so no request waits long."""
POLICY_READ_TIMEOUT_S: Final = 2.0
"""Read timeout of a policy refresh."""
POLICY_MAX_ATTEMPTS: Final = 1
"""No botocore retries: the next refresh is the retry, and the request keeps the current policy."""

# --- Shared health (modelrouter.health: breakers, cooldowns, leases in DynamoDB) -----------------------

HEALTH_CONNECT_TIMEOUT_S: Final = 1.0
"""Connect timeout of the health table's client: its calls sit on requests' paths."""
HEALTH_READ_TIMEOUT_S: Final = 1.0
"""Read timeout of the health table's client."""
HEALTH_MAX_ATTEMPTS: Final = 2
"""Attempts per health call (one retry): a failure falls back to the container's own breakers."""
HEALTH_READ_WAIT_S: Final = 0.15
"""Longest a request waits for a stale health cache's read (then decides on what it has)."""
HEALTH_PROBING_WAIT_S: Final = 1.0
"""``cooling()``'s wait for a model some container is probing: its answer decides, a second is the soonest."""

# --- Budgets (modelrouter.accounting: DynamoDB transactions that conflict under contention) ----------

BUDGET_TRANSACTION_ATTEMPTS: Final = 8
"""Attempts of a budget transaction that conflicts or is throttled, before the store is unavailable."""
SETTLEMENT_ATTEMPTS: Final = 6
"""Attempts of a settlement transaction that conflicts or is throttled."""
BUDGET_PAUSE_MIN_S: Final = 0.005
"""The least pause before a budget transaction is retried."""
BUDGET_PAUSE_JITTER_BASE_S: Final = 0.01
"""Jitter of the first retry's pause (uniform, up to this); doubles with each retry."""
BUDGET_PAUSE_JITTER_MAX_S: Final = 0.4
"""Jitter of a retry's pause at most: contention clears in well under a second."""

# --- Feedback, keys and activation (DynamoDB and S3 writes that may race) -----------------------------

FEEDBACK_MAX_RETRIES: Final = 3
"""Retries of a feedback update whose record changed under it (another feedback or a settle)."""
KEY_CREATE_ATTEMPTS: Final = 3
"""Attempts to create a key: key ids are 60 random bits, so a collision is improbable but retried."""
POINTER_WRITE_ATTEMPTS: Final = 2
"""Attempts of the activator's conditional pointer write (a rollback may move it between read and write)."""

# --- Providers ------------------------------------------------------------------------------------------

HTTP_CONNECT_TIMEOUT_S: Final = 3.0
"""Connect timeout of the HTTP providers: a provider that cannot be reached moves on to the next
candidate quickly (the read timeout is the call's time budget)."""
HTTP_KEEPALIVE_EXPIRY_S: Final = 60.0
"""An idle pooled connection to an HTTP provider is closed after this long."""
BEDROCK_CONNECT_TIMEOUT_S: Final = 5.0
"""Connect timeout of Bedrock's runtime client."""
BEDROCK_READ_TIMEOUT_S: Final = 300.0
"""Read timeout of Bedrock's runtime client: long generations (the call's budget cuts it shorter)."""
BEDROCK_MAX_ATTEMPTS: Final = 1
"""botocore's total attempts for Bedrock: the executor retries (with backoff, the deadline and the
breakers); botocore retrying too would multiply attempts behind its back."""
GUARDRAIL_READ_TIMEOUT_S: Final = 30.0
"""Read timeout of a Bedrock ``ApplyGuardrail`` call."""

# --- Checks -------------------------------------------------------------------------------------------

PATTERN_TIMEOUT_S: Final = 0.05
"""One regular expression's match at most (the ``regex`` module's timeout): a pathological pattern
cannot hold a request."""
VALIDATION_PATTERN_BUDGET_S: Final = 0.25
"""All of a JSON schema's patterns in one validation at most."""

# --- The streaming runtime's loop --------------------------------------------------------------------

RUNTIME_API_CONNECT_TIMEOUT_S: Final = 10.0
"""Connect timeout to Lambda's Runtime API (local to the sandbox; waiting for the next event has none)."""

# --- Execution defaults (a policy's ``execution:`` overrides them) --------------------------------------

BACKOFF_BASE_MS: Final = 200
"""First retry waits up to this long (full jitter); each further retry doubles it."""
BACKOFF_MAX_MS: Final = 4_000
"""No single backoff waits longer (a longer ``Retry-After`` moves on to the next candidate)."""
MIN_ATTEMPT_MS: Final = 300
"""No attempt starts with less time left than this before the deadline."""
DEFAULT_DEADLINE_MS: Final = 30_000
"""Deadline of routes without ``limits.latency_budget_ms``."""
