"""Handler logs to the embedded CloudWatch Logs, as Lambda ships a function's stdout to its log group."""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

__all__ = ["LOG_STREAM", "LogShipper"]

LOG_STREAM = "local"
"""The log stream every local function writes to."""


class LogShipper:
    """A text stream: each complete line becomes a CloudWatch Logs event of ``group``.

    With ``echo``, lines are also written to the process's real stdout. Shipping failures are counted,
    never raised: logging must not break a request.
    """

    def __init__(self, logs_client: Any, group: str, *, echo: bool = False) -> None:
        self._client = logs_client
        self.group = group
        self._echo = echo
        self._pending = ""
        self._lock = threading.Lock()
        self.failures = 0
        """Lines that could not be shipped."""
        self.previous_stream: IO[str] | None = None
        """The stream this one replaced (restored on stop)."""
        logs_client.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)

    def write(self, text: str) -> int:
        """Buffer ``text``; ship every line it completes."""
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._ship(line)
        return len(text)

    def flush(self) -> None:
        """Lines are shipped as they complete; nothing to do."""

    def close(self) -> None:
        """Ship a last unterminated line, if any."""
        with self._lock:
            rest, self._pending = self._pending, ""
        if rest:
            self._ship(rest)

    def _ship(self, line: str) -> None:
        if not line:
            return
        if self._echo and sys.__stdout__ is not None:
            sys.__stdout__.write(line + "\n")
        event = {"timestamp": int(time.time() * 1000), "message": line}
        try:
            self._client.put_log_events(logGroupName=self.group, logStreamName=LOG_STREAM, logEvents=[event])
        except Exception:  # the embedded AWS may already be stopping
            self.failures += 1
