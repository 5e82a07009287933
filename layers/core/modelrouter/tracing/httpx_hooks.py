"""A subsegment per HTTP provider call, through httpx's event hooks.

It spans the request until the answer's headers arrive (a streamed answer's body is the model
generating, which the attempt's own timings record), or until the transport failed
(:func:`end_failed`, called where the provider maps httpx's errors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelrouter.tracing.recorder import Recorder, recorder

if TYPE_CHECKING:
    import httpx

__all__ = ["end_failed", "event_hooks"]

_EXTENSION = "modelrouter_subsegment"
"""Where a request's (recorder, subsegment) waits in ``request.extensions`` until its answer or failure."""


def event_hooks(traces: Recorder = recorder) -> dict[str, list[Any]]:
    """httpx ``event_hooks`` for a client: empty outside Lambda (no per-call cost)."""
    if not traces.enabled:
        return {}

    def on_request(request: httpx.Request) -> None:
        subsegment = traces.begin(request.url.host, namespace="remote")
        if subsegment is not None:
            # The URL without its query: a provider's query string may carry a key.
            subsegment.http["request"] = {
                "method": request.method,
                "url": str(request.url.copy_with(query=None)),
            }
            request.extensions[_EXTENSION] = (traces, subsegment)

    def on_response(response: httpx.Response) -> None:
        begun = response.request.extensions.pop(_EXTENSION, None)
        if begun is not None:
            begun[1].record_status(response.status_code)
            traces.end(begun[1])

    return {"request": [on_request], "response": [on_response]}


def end_failed(error: BaseException) -> None:
    """End the subsegment of the request ``error`` (an httpx transport error) failed, if any."""
    try:
        request = getattr(error, "request", None)  # httpx raises RuntimeError when it has none
    except RuntimeError:
        return
    extensions = getattr(request, "extensions", None)
    begun = extensions.pop(_EXTENSION, None) if isinstance(extensions, dict) else None
    if begun is not None:
        traces, subsegment = begun
        subsegment.record_exception(error)
        traces.end(subsegment)
