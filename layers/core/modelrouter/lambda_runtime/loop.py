"""The runtime loop: take an invocation, run the handler, stream its response, again.

It replaces Lambda's managed Python runtime for the router function (the managed one buffers). Per
invocation: ``_X_AMZN_TRACE_ID`` is set from the trace header, the handler gets the event and a
:class:`~modelrouter.lambda_runtime.context.LambdaContext`; what it returns (a
:class:`~modelrouter.lambda_runtime.response.StreamingResponse`, or a buffered proxy response dict) is
sent as a streamed HTTP integration response, each body chunk as soon as it is produced.

Failures: the handler raising, or its body raising before its first chunk → ``/error`` (API Gateway
answers a 5xx); the body raising later → the stream ends with error trailers; the connection to the
Runtime API breaking while writing → the response is closed (its ``finally`` settles the request), the
loop goes on with the next invocation.
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from modelrouter import env_names
from modelrouter.lambda_runtime.context import LambdaContext
from modelrouter.lambda_runtime.errors import HANDLER_NOT_FOUND, IMPORT_MODULE_ERROR, report_of
from modelrouter.lambda_runtime.response import StreamingResponse
from modelrouter.lambda_runtime.runtime_api import Invocation, RuntimeApiClient, RuntimeApiError
from modelrouter.lambda_runtime.snapstart import checkpoint

__all__ = ["TRACE_ENV", "Handler", "HandlerLoadError", "as_streaming", "load_handler", "main", "run", "serve"]

TRACE_ENV = env_names.TRACE_ID
"""Environment variable the X-Ray SDK reads the invocation's trace header from."""
DEFAULT_TASK_ROOT = "/var/task"
"""Where Lambda unpacks the function's code when ``LAMBDA_TASK_ROOT`` is not set."""

Handler = Callable[[Any, LambdaContext], Any]
"""A Lambda handler: ``handler(event, context)``."""

logger = logging.getLogger(__name__)


class HandlerLoadError(Exception):
    """The handler named by ``_HANDLER`` could not be loaded; ``error_type`` is Lambda's name for why."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def load_handler(environ: Mapping[str, str]) -> Handler:
    """The function ``_HANDLER`` names (``module.function``), imported from ``LAMBDA_TASK_ROOT``.

    Raises:
        HandlerLoadError: no or a bad handler name, a module that does not import, a missing function.
    """
    task_root = environ.get(env_names.LAMBDA_TASK_ROOT, DEFAULT_TASK_ROOT)
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    name = environ.get(env_names.HANDLER, "")
    module_name, _, function_name = name.rpartition(".")
    if not module_name or not function_name:
        raise HandlerLoadError(f"bad handler name {name!r}: expected module.function", HANDLER_NOT_FOUND)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as error:
        raise HandlerLoadError(
            f"Unable to import module {module_name!r}: {type(error).__name__}: {error}", IMPORT_MODULE_ERROR
        ) from error
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise HandlerLoadError(
            f"Handler {function_name!r} missing on module {module_name!r}", HANDLER_NOT_FOUND
        )
    return handler  # type: ignore[no-any-return]


def as_streaming(result: Any) -> StreamingResponse:
    """The handler's result as a streaming response (a proxy response dict is converted).

    Raises:
        TypeError: neither a :class:`StreamingResponse` nor a proxy response dict.
    """
    if isinstance(result, StreamingResponse):
        return result
    if isinstance(result, dict) and "statusCode" in result:
        return StreamingResponse.from_proxy(result)
    raise TypeError(
        f"the handler returned {type(result).__name__}, not a StreamingResponse or proxy response"
    )


def serve(client: RuntimeApiClient, handler: Handler, invocation: Invocation) -> None:
    """Run one invocation to its end (its failures are reported to Lambda, not raised)."""
    if invocation.trace_id:
        os.environ[TRACE_ENV] = invocation.trace_id
    else:
        os.environ.pop(TRACE_ENV, None)
    response: StreamingResponse | None = None
    try:
        context = LambdaContext.from_invocation(invocation.headers)
        response = as_streaming(handler(json.loads(invocation.event), context))
        body = response.chunks()
        first = next(body, None)  # a body failing before any byte is a failed invocation, not a stream
    except Exception as error:
        logger.exception("invocation %s failed before its response", invocation.request_id)
        if response is not None:
            response.close()
        client.post_error(invocation.request_id, report_of(error))
        return
    stream: Iterator[bytes] = itertools.chain([response.prelude()], [first] if first else [], body)
    try:
        failure = client.stream_response(invocation.request_id, stream)
    except (OSError, RuntimeApiError) as error:  # the client is gone, or Lambda refused the response
        logger.warning(
            "the response stream of %s broke (%s: %s); closing the response",
            invocation.request_id,
            type(error).__name__,
            error,
        )
        return
    finally:
        response.close()  # harmless when the body ended; stops and settles it when it did not
    if failure is not None:
        logger.error(
            "invocation %s failed mid-stream: %s: %s",
            invocation.request_id,
            failure.error_type,
            failure.message,
        )


def run(client: RuntimeApiClient, handler: Handler, *, invocations: int | None = None) -> None:
    """Serve invocations forever (or ``invocations`` of them: tests)."""
    for _ in itertools.count() if invocations is None else range(invocations):
        serve(client, handler, client.next_invocation())


def main(environ: Mapping[str, str] | None = None) -> int:
    """Load the handler (reporting an init error if it fails) and serve; returns an exit status."""
    environ = os.environ if environ is None else environ
    if hasattr(sys.stdout, "reconfigure"):  # one log line reaches CloudWatch as soon as it is written
        sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    address = environ.get(env_names.AWS_LAMBDA_RUNTIME_API)
    if not address:
        logger.error("AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda")
        return 2
    client = RuntimeApiClient(address)
    try:
        handler = load_handler(environ)
    except HandlerLoadError as error:
        logger.exception("the handler could not be loaded")
        client.post_init_error(report_of(error, error.error_type))
        return 1
    try:  # with SnapStart: the snapshot is taken here, between the hooks (else nothing happens)
        if not checkpoint(address, environ):
            return 1
    except Exception as error:
        logger.exception("SnapStart's before-snapshot hooks or restore failed")
        client.post_init_error(report_of(error))
        return 1
    try:
        run(client, handler)
    except RuntimeApiError:
        logger.exception("the Runtime API failed")
        return 1
    return 0
