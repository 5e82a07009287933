"""Policy activator Lambda: validates each policy uploaded under ``incoming/`` and activates it.

S3 sends ``Object Created`` events of the policy bucket to EventBridge; a rule on the bucket and the
``incoming/`` prefix invokes this function (asynchronously; one at a time: reserved concurrency 1). For
each upload it runs :meth:`modelrouter.activation.activator.Activator.activate_upload`: the checks a router
runs (schema, references, the router artifacts and topic classifier from the bucket) and a dry run of
every route over sample requests; a valid version newer than the active one becomes the active pointer
``control/active.json``, which every router follows. Each attempt is recorded under
``control/history/``; an activation counts ``PolicyActivated`` and puts a ``Policy Activated`` event, a
rejection ``PolicyActivationRejected`` and ``Policy Activation Rejected``.

Hostile or foreign events (another bucket or prefix, a key with ``..``, missing fields, an unversioned
object) are logged and ignored: the invocation succeeds, so nothing is retried. A redelivered event of
a processed upload changes nothing. S3 failing (or the pointer changing under every conditional write)
fails the invocation, which Lambda retries.

The runtime is module-level: built from the environment on first use (``POLICY_BUCKET``,
``POLICY_POINTER_KEY``; clients created once per container), or injected with :func:`set_runtime`
(tests, local mode, which runs this same handler in-process on each upload).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from modelrouter import env_names
from modelrouter.activation.layout import POINTER_KEY
from modelrouter.activation.s3_event import upload_from_event
from modelrouter.telemetry_names import Metric

if TYPE_CHECKING:
    from modelrouter.activation.activator import Activator

__all__ = [
    "BUCKET_ENV",
    "POINTER_ENV",
    "S3_CONNECT_TIMEOUT_S",
    "S3_READ_TIMEOUT_S",
    "ActivatorRuntime",
    "build_runtime",
    "handler",
    "logger",
    "metrics",
    "runtime",
    "set_runtime",
]

BUCKET_ENV: Final = env_names.POLICY_BUCKET
"""The policy bucket (the template's ``PolicyBucket``)."""
POINTER_ENV: Final = env_names.POLICY_POINTER_KEY
"""Key of the active pointer (default ``control/active.json``)."""
S3_CONNECT_TIMEOUT_S: Final = 2.0
"""Connect timeout of the activator's S3 and EventBridge clients."""
S3_READ_TIMEOUT_S: Final = 10.0
"""Read timeout of its clients (a policy and its artifacts are at most a few MB)."""

logger = Logger()
metrics = Metrics()
# An ignored event records no metric: expected, not news.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


@dataclass(frozen=True)
class ActivatorRuntime:
    """What an activator container keeps between invocations."""

    bucket: str
    """The policy bucket: events about any other are ignored."""
    activator: Activator
    """Activation over that bucket."""


class _Container:
    runtime: ActivatorRuntime | None = None


_container = _Container()


def build_runtime(bucket: str, s3: Any, events: Any, pointer_key: str = POINTER_KEY) -> ActivatorRuntime:
    """The runtime over ``bucket`` with these clients (``events``: EventBridge, or None for no events)."""
    from modelrouter.activation.activator import Activator
    from modelrouter.activation.control import ControlStore
    from modelrouter.activation.notify import EventBridgeNotifier

    notifier = EventBridgeNotifier(events) if events is not None else None
    store = ControlStore(s3, bucket, pointer_key)
    return ActivatorRuntime(bucket, Activator(store, notifier=notifier, log=_warn))


def set_runtime(runtime: ActivatorRuntime | None) -> None:
    """Use ``runtime`` instead of one built from the environment (tests, local mode); None: rebuild."""
    _container.runtime = runtime


def runtime() -> ActivatorRuntime:
    """The container's runtime, built from the environment on first use.

    Raises:
        ConfigurationError: ``POLICY_BUCKET`` is not set.
    """
    if _container.runtime is None:
        from modelrouter.aws import aws_client
        from modelrouter.settings import ConfigurationError

        bucket = os.environ.get(BUCKET_ENV)
        if not bucket:
            raise ConfigurationError(f"invalid or missing environment variables: {BUCKET_ENV}")
        s3, events = (
            aws_client(service, connect_timeout_s=S3_CONNECT_TIMEOUT_S, read_timeout_s=S3_READ_TIMEOUT_S)
            for service in ("s3", "events")
        )
        _container.runtime = build_runtime(bucket, s3, events, os.environ.get(POINTER_ENV) or POINTER_KEY)
    return _container.runtime


def _warn(message: str, fields: dict[str, Any]) -> None:
    logger.warning(message, extra=fields)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Handle one S3 ``Object Created`` event: what was done, as a small summary.

    Raises:
        ConfigurationError: the function has no bucket configured.
        ActivationConflictError, botocore errors: nothing was activated; Lambda retries the event.
    """
    current = runtime()
    upload = upload_from_event(event, current.bucket)
    if isinstance(upload, str):
        logger.warning("event ignored", extra={"reason": upload})
        return {"status": "ignored", "reason": upload}
    version = upload.version
    result = current.activator.activate_upload(version)
    fields = {"key": version.key, "version_id": version.version_id}
    if result.skipped is not None or result.record is None:
        logger.info("upload skipped", extra={**fields, "reason": result.skipped})
        return {"status": "skipped", "reason": result.skipped, **fields}
    record = result.record
    summary = {"status": record.outcome, **fields, "digest": record.digest, "problems": list(record.problems)}
    if record.outcome == "activated":
        metrics.add_metric(name=Metric.POLICY_ACTIVATED, unit=MetricUnit.Count, value=1)
        logger.info("policy activated", extra={**fields, "digest": record.digest})
    elif record.outcome == "rejected":
        metrics.add_metric(name=Metric.POLICY_ACTIVATION_REJECTED, unit=MetricUnit.Count, value=1)
        logger.error("policy upload rejected", extra={**fields, "problems": list(record.problems),
                                                       "problem_count": record.problem_count})  # fmt: skip
    else:
        logger.warning("policy upload not activated", extra={**fields, "outcome": record.outcome,
                                                              "problems": list(record.problems)})  # fmt: skip
    return summary
