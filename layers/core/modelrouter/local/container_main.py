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
``{"error": {"type": …, "message": …}}`` (Lambda's function error). End of input ends the process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import socket
import sys
import time
import traceback
from collections.abc import Sequence
from typing import IO, Any

from modelrouter.local.context import LocalLambdaContext
from modelrouter.local.logs import LogShipper, container_stream

__all__ = ["main", "send"]


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


def _invoke(module: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run the handler once, between Lambda's ``START`` and ``REPORT`` lines."""
    context = LocalLambdaContext(str(request.get("function_name", "")), float(request.get("timeout_s", 60)))
    print(f"START RequestId: {context.aws_request_id} Version: $LATEST")
    try:
        reply: dict[str, Any] = {"response": module.handler(request["event"], context)}
    except Exception as error:  # Lambda's function error: logged to the function's group, 500 upstream
        name = type(error).__name__
        print(
            json.dumps({"errorType": name, "errorMessage": str(error), "stackTrace": traceback.format_exc()})
        )
        reply = {"error": {"type": name, "message": str(error)}}
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
    connection = socket.socket(fileno=args.socket)
    reader, writer = connection.makefile("rb"), connection.makefile("wb")
    output = _output(args)
    sys.stdout = output  # print() (EMF metrics) goes where the logs go
    try:
        from modelrouter.local.functions import load_function

        module = load_function(args.function)
    except BaseException as error:  # told to the parent, which fails to start
        send(writer, {"error": {"type": type(error).__name__, "message": str(error)}})
        return 1
    registered = getattr(getattr(module, "logger", None), "registered_handler", None)
    if registered is not None:
        registered.stream = output  # Powertools' handler captured the stdout of its import time
    send(writer, {"ready": True, "pid": os.getpid()})
    try:
        for line in reader:
            reply = _invoke(module, json.loads(line))
            output.ship()
            send(writer, reply)
    except (OSError, ValueError):  # the parent went away mid-reply
        return 0
    finally:
        output.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
