"""A stand-in for the Lambda context object, for local mode, tests and benchmarks."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

__all__ = ["LocalLambdaContext"]


@dataclass
class LocalLambdaContext:
    """The Lambda context, as far as the handlers and Powertools read it; the clock starts at creation."""

    function_name: str = "modelrouter-router"
    timeout_s: float = 60.0
    """The function's timeout; :meth:`get_remaining_time_in_millis` counts down from it."""
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN (local account)."""
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """What is left of the function's timeout."""
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))
