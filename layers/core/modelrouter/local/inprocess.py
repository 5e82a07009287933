"""A Lambda handler run inside this process: for ``modelrouter invoke`` and ``containers=0`` stacks.

Simpler than a container process but not concurrent: ``sys.stdout`` is process-wide and every
Powertools ``Logger`` of one service shares one logging handler, so invocations of all in-process
functions take turns; during each, the handler's logs and stdout (EMF metrics) go to that function's
own log group.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.functions import load_function
from modelrouter.local.logs import LogShipper
from modelrouter.local.streams import FunctionResult, guarded

__all__ = ["InProcessFunction"]

_TURNS = threading.Lock()


class InProcessFunction:
    """The handler of ``functions/<name>/app.py``, loaded into this process."""

    def __init__(
        self, name: str, function_name: str, timeout_s: float, shipper: LogShipper | None = None
    ) -> None:
        self.module = load_function(name)
        """The handler module (``<name>_app``), loaded once per process and reset for this stack."""
        self.function_name, self.timeout_s, self.shipper = function_name, timeout_s, shipper
        _reset(self.module)

    def invoke(
        self, event: dict[str, Any], timeout_s: float | None = None, context: Any = None
    ) -> FunctionResult:
        """Run the handler on ``event`` (``timeout_s`` is not enforced in-process).

        A streamed response's body runs in this function's turns too, a step at a time, when it is
        read; whoever reads it must exhaust or close it.
        """
        context = context or LocalLambdaContext(self.function_name, self.timeout_s)
        with self._turn():
            response = self.module.handler(event, context)
        if isinstance(response, StreamingResponse):
            return guarded(response, self._turn)
        return dict(response)

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """This function's turn: its logs and stdout to its log group, shipped after."""
        registered = getattr(getattr(self.module, "logger", None), "registered_handler", None)
        with _TURNS:
            previous = registered.stream if registered is not None else None
            try:
                if registered is not None and self.shipper is not None:
                    registered.stream = self.shipper  # assigned: setStream() would flush the old one
                with contextlib.redirect_stdout(self.shipper or sys.stdout):
                    yield
            finally:
                if registered is not None:
                    registered.stream = previous
                if self.shipper is not None:
                    self.shipper.ship()

    def close(self) -> None:
        """Ship what is left of the logs; the module forgets this stack's runtime."""
        if self.shipper is not None:
            self.shipper.close()
        _reset(self.module)


def _reset(module: Any) -> None:
    """A cold start for the next invocation: the router's runtime, the authorizer's key store."""
    for setter in ("set_runtime", "set_key_store"):
        if hasattr(module, setter):
            getattr(module, setter)(None)
