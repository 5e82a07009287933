"""A subsegment per AWS SDK call, through botocore's event hooks (no monkey-patching)."""

from __future__ import annotations

from typing import Any

from modelrouter.tracing.recorder import Recorder, recorder

__all__ = ["instrument_client"]

_CONTEXT_KEY = "modelrouter_subsegment"
"""Where a call's subsegment waits in botocore's per-call context between the hooks."""


def instrument_client(client: Any, traces: Recorder = recorder) -> None:
    """Trace every call of ``client``: service, operation, region, table, request id, retries, status."""
    if not traces.enabled:
        return  # outside Lambda: not even the hooks' cost
    region = client.meta.region_name
    events = client.meta.events

    def begin(params: Any = None, model: Any = None, context: Any = None, **_: Any) -> None:
        if context is None or model is None:
            return
        subsegment = traces.begin(model.service_model.service_id, namespace="aws")
        if subsegment is None:
            return
        subsegment.aws.update({"operation": model.name, "region": region})
        table = params.get("TableName") if isinstance(params, dict) else None
        if isinstance(table, str):
            subsegment.aws["table_name"] = table
        context[_CONTEXT_KEY] = subsegment

    def succeeded(parsed: Any = None, context: Any = None, **_: Any) -> None:
        subsegment = context.pop(_CONTEXT_KEY, None) if context is not None else None
        if subsegment is None:
            return
        metadata = parsed.get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
        if metadata.get("RequestId"):
            subsegment.aws["request_id"] = metadata["RequestId"]
        subsegment.aws["retries"] = metadata.get("RetryAttempts", 0)
        if isinstance(metadata.get("HTTPStatusCode"), int):
            subsegment.record_status(metadata["HTTPStatusCode"])
        traces.end(subsegment)

    def failed(exception: BaseException | None = None, context: Any = None, **_: Any) -> None:
        subsegment = context.pop(_CONTEXT_KEY, None) if context is not None else None
        if subsegment is None:
            return
        if exception is not None:
            subsegment.record_exception(exception)
        traces.end(subsegment)

    events.register("before-parameter-build", begin)
    events.register("after-call", succeeded)
    events.register("after-call-error", failed)
