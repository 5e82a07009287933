"""How a failure is reported to Lambda: the ``{"errorMessage", "errorType", "stackTrace"}`` document."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass

__all__ = ["HANDLER_NOT_FOUND", "IMPORT_MODULE_ERROR", "ErrorReport", "report_of"]

IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
"""Error type of a handler module that does not import (as the managed runtime names it)."""
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
"""Error type of a handler name the module does not define."""
MAX_MESSAGE_CHARS = 4096
"""``errorMessage`` is cut to this many characters."""


@dataclass(frozen=True)
class ErrorReport:
    """What Lambda records of a failed invocation (``errorMessage``, ``errorType``, ``stackTrace``)."""

    error_type: str
    """``errorType`` (also the error type header)."""
    message: str
    """``errorMessage``."""
    stack_trace: tuple[str, ...] = ()
    """Formatted stack frames."""

    def document(self) -> bytes:
        """The JSON error document."""
        body = {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "stackTrace": list(self.stack_trace),
        }
        return json.dumps(body).encode()


def report_of(error: BaseException, error_type: str | None = None) -> ErrorReport:
    """The report of ``error``: its class name (or ``error_type``), message and formatted frames."""
    frames = traceback.format_tb(error.__traceback__)
    name = error_type or type(error).__name__
    return ErrorReport(
        error_type="".join(char for char in name if char.isprintable()),
        message=str(error)[:MAX_MESSAGE_CHARS],
        stack_trace=tuple(frame.rstrip("\n") for frame in frames),
    )
