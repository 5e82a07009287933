"""One simulated Lambda container: a child process that runs one function's handler, invocation after
invocation, as a Lambda execution environment does.

Started by :class:`modelrouter.local.container.Container` as ``python -m modelrouter.local.container_main
--function router --socket FD``, with the function's environment (the stack's names and endpoints). It
imports ``functions/<name>/app.py`` once, so breakers, caches and Powertools state live as long as the
process, like a warm container's. Its stdout (logs, EMF metrics) goes to the function's log group on
the embedded CloudWatch Logs, one log stream per container.

Protocol, JSON lines on the inherited socket: the container first sends ``{"ready": true, "pid": N}``
(or ``{"error": …}`` if the handler cannot be imported); then, for each ``{"event": …, "timeout_s": …,
"function_name": …}`` it reads, it sends ``{"response": …}`` or, when the handler raised,
``{"error": {"type": …, "message": …}}`` (Lambda's function error). A handler that returns a
:class:`~modelrouter.lambda_runtime.StreamingResponse` is streamed: ``{"head": {"statusCode",
"headers", "cookies"}}``, a ``{"chunk": "<base64>"}`` per body chunk as it is produced, then
``{"end": true}``, or ``{"error": …}`` when the body raised. Between chunks the container looks
(without waiting) for a ``{"cancel": true}`` from the gateway — its client went away — and then closes
the response (the body's ``finally`` runs here) and ends with ``{"end": true, "cancelled": true}``. A
cancel that arrives after the end is ignored. End of input ends the process.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Sequence
from typing import IO, Any

from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.logs import LogShipper, container_stream

__all__ = ["Channel", "main", "send"]


_RECEIVE_BYTES = 65536


class _Discard:
    """Where handler output goes without a log group: nowhere (or the real stdout with ``--echo``)."""

    def __init__(self, echo: bool) -> None:
        self._echo = echo

    def write(self, text: str) -> int:
        if self._echo and sys.__stdout__ is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.__stdout__.write(text)
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""

    def ship(self) -> None:
        """Nothing to ship."""

    def close(self) -> None:
        """Nothing to close."""


def send(writer: IO[bytes], message: dict[str, Any]) -> None:
    """Write ``message`` as one JSON line (ASCII only, so any string survives) and flush."""
    writer.write(json.dumps(message, default=str).encode("ascii") + b"\n")
    writer.flush()


class Channel:
    """The container's end of its socket: requests in, replies out, cancels polled without waiting."""

    def __init__(self, connection: socket.socket) -> None:
        self._socket = connection
        self._writer = connection.makefile("wb")
        self._buffer = b""
        self._cancelled = False
        self._closed = False

    def send(self, message: dict[str, Any]) -> None:
        """Write one message."""
        send(self._writer, message)

    def request(self) -> dict[str, Any] | None:
        """The next invocation request (stale cancels skipped); None at end of input."""
        self._cancelled = False
        while True:
            line = self._line()
            if line is None:
                return None
            message: dict[str, Any] = json.loads(line)
            if not message.get("cancel"):
                return message

    def cancelled(self) -> bool:
        """Whether the gateway asked to stop the current stream (or went away); never waits."""
        while not self._cancelled and not self._closed:
            readable, _, _ = select.select([self._socket], [], [], 0)
            if not readable:
                break
            self._receive()
        if b"\n" in self._buffer:  # a cancel is the only thing sent during a stream
            self._cancelled = True
        return self._cancelled or self._closed

    def _receive(self) -> None:
        data = self._socket.recv(_RECEIVE_BYTES)
        self._closed = not data
        self._buffer += data

    def _line(self) -> bytes | None:
        while b"\n" not in self._buffer:
            if self._closed:
                return None
            self._receive()
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="modelrouter.local.container_main")
    parser.add_argument("--function", required=True, help="functions/<name>/app.py to run")
    parser.add_argument("--socket", required=True, type=int, help="inherited socket file descriptor")
    parser.add_argument("--log-group", help="CloudWatch Logs group for the handler's stdout")
    parser.add_argument("--echo", action="store_true", help="handler output on the real stdout too")
    return parser.parse_args(argv)


def _output(args: argparse.Namespace) -> LogShipper | _Discard:
    if not args.log_group:
        return _Discard(args.echo)
    import boto3  # endpoint, region and credentials come from the environment, as in Lambda

    return LogShipper(boto3.client("logs"), args.log_group, stream=container_stream(), echo=args.echo)


def _failure(error: Exception) -> dict[str, Any]:
    """Lambda's function error: logged to the function's group, the gateway's 5xx upstream."""
    name = type(error).__name__
    print(json.dumps({"errorType": name, "errorMessage": str(error), "stackTrace": traceback.format_exc()}))
    return {"error": {"type": name, "message": str(error)}}


def _streamed(response: StreamingResponse, channel: Channel) -> dict[str, Any]:
    """Send the head and each chunk as it comes; the last message (end or error), not yet sent."""
    head = {"statusCode": response.status_code, "headers": response.headers, "cookies": response.cookies}
    channel.send({"head": head})
    try:
        for chunk in response.chunks():
            channel.send({"chunk": base64.b64encode(chunk).decode("ascii")})
            if channel.cancelled():
                response.close()
                return {"end": True, "cancelled": True}
    except Exception as error:
        return _failure(error)
    finally:
        response.close()
    return {"end": True}


def _invoke(module: Any, request: dict[str, Any], channel: Channel) -> dict[str, Any]:
    """Run the handler once, between Lambda's ``START`` and ``REPORT`` lines; the last message."""
    context = LocalLambdaContext(str(request.get("function_name", "")), float(request.get("timeout_s", 60)))
    print(f"START RequestId: {context.aws_request_id} Version: $LATEST")
    try:
        response = module.handler(request["event"], context)
        if isinstance(response, StreamingResponse):
            reply = _streamed(response, channel)
        else:
            reply = {"response": response}
    except Exception as error:
        reply = _failure(error)
    duration_ms = (time.monotonic() - context.started) * 1000
    memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"END RequestId: {context.aws_request_id}")
    print(
        f"REPORT RequestId: {context.aws_request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Memory Size: {context.memory_limit_in_mb} MB\tMax Memory Used: {memory_mb} MB"
    )
    return reply


def main(argv: Sequence[str] | None = None) -> int:
    """Serve invocations on the inherited socket until it closes; the exit status."""
    args = _arguments(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops containers; Ctrl-C is its to handle
    channel = Channel(socket.socket(fileno=args.socket))
    output = _output(args)
    sys.stdout = output  # print() (EMF metrics) goes where the logs go
    try:
        from modelrouter.local.functions import load_function

        module = load_function(args.function)
    except BaseException as error:  # told to the parent, which fails to start
        channel.send({"error": {"type": type(error).__name__, "message": str(error)}})
        return 1
    registered = getattr(getattr(module, "logger", None), "registered_handler", None)
    if registered is not None:
        registered.stream = output  # Powertools' handler captured the stdout of its import time
    channel.send({"ready": True, "pid": os.getpid()})
    try:
        while (request := channel.request()) is not None:
            reply = _invoke(module, request, channel)
            output.ship()
            channel.send(reply)
    except (OSError, ValueError):  # the parent went away mid-reply
        return 0
    finally:
        output.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
