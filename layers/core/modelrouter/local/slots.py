"""What the local gateway is bound to: a slot per function, filled once the function runs (and able to
watch each invocation), and the gateway whose own refusals are told to serve's request lines."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from modelrouter.local.container import ContainerError
from modelrouter.local.gateway import Gateway, Invoker
from modelrouter.local.gateway_template import GatewayReply
from modelrouter.local.request_lines import RequestLines
from modelrouter.local.streams import FunctionResult

__all__ = ["ReportingGateway", "Slot", "Watch"]

Watch = Callable[[dict[str, Any], float, float, FunctionResult], FunctionResult]
"""Sees each invocation's event, arrival (epoch), start (monotonic) and result; returns the result."""


class Slot:
    """A function the gateway can be bound to before the function itself is running."""

    def __init__(self) -> None:
        self.target: Invoker | None = None
        """The running function (None: not running)."""
        self.watch: Watch | None = None
        """Sees every invocation and its result (serve's request lines)."""

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> FunctionResult:
        """The function's answer to ``event``, seen by :attr:`watch`.

        Raises:
            ContainerError: the function is not running.
        """
        if self.target is None:
            raise ContainerError("the function is not running")
        arrived, started = time.time(), time.monotonic()
        result = self.target.invoke(event, timeout_s)
        return result if self.watch is None else self.watch(event, arrived, started, result)


class ReportingGateway(Gateway):
    """The gateway, its own refusals (bad key, unknown path, timeouts) also told to the request lines."""

    lines: RequestLines | None = None
    """Where refusals are told (None: nowhere)."""

    def refuse(self, response_type: str, method: str, path: str, **variables: str) -> GatewayReply:
        """API Gateway's own answer of ``response_type``, also told to :attr:`lines`."""
        reply = super().refuse(response_type, method, path, **variables)
        if self.lines is not None:
            self.lines.refused(method, path, reply)
        return reply
