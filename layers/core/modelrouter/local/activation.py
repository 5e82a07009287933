"""The policy activator in local mode: the deployed handler (``functions/policy_activator``), run in the
``serve`` process on the embedded AWS (moto cannot invoke a function from an S3 event without Docker).

It activates the policy the stack provisions, synchronously, from the same ``Object Created`` event S3
would send; then a watcher (:mod:`modelrouter.local.activation_watch`) hands it every new upload under
``incoming/``, so ``modelrouter policy push --local`` is activated or rejected within seconds and its
history record appears as in AWS. Its logs and EMF metrics go to its own log group; its events go to
the embedded AWS's EventBridge (moto's default bus), where nothing subscribes.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final

from modelrouter.local.activation_watch import UploadWatcher
from modelrouter.local.inprocess import InProcessFunction
from modelrouter.local.logs import LogShipper

if TYPE_CHECKING:
    from modelrouter.local.aws import EmbeddedAws, StackResources

__all__ = ["ACTIVATOR", "LOCAL_NAMESPACE", "LocalActivator"]

ACTIVATOR: Final = ("policy_activator", "PolicyActivatorFunction", 60.0)
"""The activator's handler folder, ``template.yaml`` logical id and timeout (seconds)."""
LOCAL_NAMESPACE: Final = "ModelRouterLocal"
"""The metrics namespace of local mode (the functions' ``POWERTOOLS_METRICS_NAMESPACE`` there)."""
SERVICE: Final = "modelrouter"
"""``POWERTOOLS_SERVICE_NAME``, as the template sets it."""


class LocalActivator:
    """The activator handler in this process over one local stack's bucket."""

    def __init__(
        self, aws: EmbeddedAws, resources: StackResources, stack_name: str, *, pointer_key: str, verbose: bool
    ) -> None:
        name, logical_id, timeout_s = ACTIVATOR
        group = next(group for group in resources.log_groups if group.endswith(f"-{logical_id}"))
        shipper = LogShipper(aws.client("logs"), group, echo=verbose)
        self.function = InProcessFunction(name, f"{stack_name}-{logical_id}", timeout_s, shipper)
        """The handler, with its log group."""
        module = self.function.module
        # This process is not a function's: it has no Powertools environment, so set what Lambda's has
        module.metrics.namespace, module.metrics.service = LOCAL_NAMESPACE, SERVICE
        module.set_runtime(
            module.build_runtime(resources.bucket, aws.client("s3"), aws.client("events"), pointer_key)
        )
        self._aws, self._bucket = aws, resources.bucket
        self.watcher: UploadWatcher | None = None
        """Hands new uploads to the handler, once :meth:`watch` started it."""

    def activate_now(self, key: str, body: bytes, source: str) -> str:
        """Upload ``body`` to ``key`` and activate it now, as its upload event would; its version id.

        Raises:
            PolicyError: the activator did not activate it (its problems, naming ``source``).
        """
        from modelrouter.activation.s3_event import object_created_event
        from modelrouter.errors import PolicyError
        from modelrouter.problems import Problem

        s3 = self._aws.client("s3")
        version = str(s3.put_object(Bucket=self._bucket, Key=key, Body=body)["VersionId"])
        answer: Any = self.function.invoke(object_created_event(self._bucket, key, version, len(body)))
        if not isinstance(answer, dict) or answer.get("status") != "activated":
            problems = answer.get("problems") if isinstance(answer, dict) else None
            found = [Problem("", str(problem)) for problem in problems or [f"not activated: {answer!r}"]]
            raise PolicyError(found, f"{source} (s3://{self._bucket}/{key}@{version})")
        return version

    def watch(self, interval_s: float | None) -> None:
        """From now on, hand each new upload to the handler every ``interval_s`` (None: never)."""
        if interval_s is None:
            return
        self.watcher = UploadWatcher(
            self._aws.client("s3"),
            self._bucket,
            self.function.invoke,
            interval_s=interval_s,
            log=lambda message: print(f"policy activation: {message}", file=sys.stderr),
        )
        self.watcher.mark_seen()
        self.watcher.start()

    def stop(self) -> None:
        """Stop watching (an activation in progress finishes) and ship the last logs."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        self.function.close()
