"""Handler logs to the embedded CloudWatch Logs, as Lambda ships a function's stdout to its log group."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from typing import IO, Any

__all__ = ["LOG_STREAM", "LogShipper", "container_stream"]

LOG_STREAM = "local"
"""The log stream of functions run in-process (one stream per function)."""
_MAX_BATCH_EVENTS = 1_000
_MAX_BATCH_BYTES = 800_000
_MAX_EVENT_CHARS = 200_000
"""CloudWatch Logs takes events of up to 256 KB and batches of up to 1 MB; longer lines are cut."""


def container_stream() -> str:
    """A log stream name as Lambda gives each execution environment: ``YYYY/MM/DD/[$LATEST]<hex>``."""
    return time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"


class LogShipper:
    """A text stream: complete lines are buffered and shipped to ``group`` by :meth:`ship`.

    Lines are sent in batches (one ``PutLogEvents`` per invocation, not per line), since the embedded
    AWS serves one request at a time. With ``echo``, lines are also written to the process's real
    stdout. Shipping failures are counted, never raised: logging must not break a request.
    """

    def __init__(self, logs_client: Any, group: str, *, stream: str = LOG_STREAM, echo: bool = False) -> None:
        self._client = logs_client
        self.group = group
        """The log group lines go to."""
        self.stream = stream
        """The log stream lines go to."""
        self._echo = echo
        self._pending = ""
        self._lines: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self.failures = 0
        """Lines that could not be shipped."""
        self.previous_stream: IO[str] | None = None
        """The stream this one replaced (restored on stop)."""
        logs_client.create_log_stream(logGroupName=group, logStreamName=stream)

    def write(self, text: str) -> int:
        """Buffer ``text``; every line it completes waits for :meth:`ship`."""
        now = int(time.time() * 1000)
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            self._lines.extend((now, line[:_MAX_EVENT_CHARS]) for line in lines if line)
        if self._echo and sys.__stdout__ is not None:
            try:
                sys.__stdout__.write("".join(line + "\n" for line in lines))
                sys.__stdout__.flush()
            except (OSError, ValueError):  # a closed terminal, a lone surrogate: the log event still ships
                pass
        return len(text)

    def flush(self) -> None:
        """Nothing: ``logging`` calls this after every record; lines are shipped by :meth:`ship`."""

    def ship(self) -> None:
        """Send every complete line buffered so far, in as few ``PutLogEvents`` calls as fit."""
        with self._lock:
            lines, self._lines = self._lines, []
        while lines:
            batch: list[dict[str, Any]] = []
            size = 0
            while lines and len(batch) < _MAX_BATCH_EVENTS and size + len(lines[0][1]) * 4 < _MAX_BATCH_BYTES:
                timestamp, line = lines.pop(0)
                batch.append({"timestamp": timestamp, "message": line})
                size += len(line) * 4 + 26
            if not batch:  # a single line larger than a batch: cut further
                timestamp, line = lines.pop(0)
                batch, size = [{"timestamp": timestamp, "message": line[: _MAX_BATCH_BYTES // 8]}], 0
            try:
                self._client.put_log_events(
                    logGroupName=self.group, logStreamName=self.stream, logEvents=batch
                )
            except Exception:  # the embedded AWS may already be stopping
                self.failures += len(batch)

    def close(self) -> None:
        """Ship what is buffered, a last unterminated line included."""
        with self._lock:
            rest, self._pending = self._pending, ""
        if rest:
            self.write(rest + "\n")
        self.ship()
