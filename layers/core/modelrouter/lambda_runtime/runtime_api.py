"""A client of the Lambda Runtime API (``AWS_LAMBDA_RUNTIME_API``), stdlib only.

The documented calls: ``GET /2018-06-01/runtime/invocation/next`` (long poll), the streamed
``POST …/invocation/{id}/response`` (chunked, with error trailers), ``POST …/invocation/{id}/error``
and ``POST /2018-06-01/runtime/init/error``. One HTTP connection per call: the API is on the same host.
"""

from __future__ import annotations

import base64
import http.client
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from modelrouter import timeouts
from modelrouter.lambda_runtime.errors import ErrorReport, report_of
from modelrouter.lambda_runtime.response import HTTP_INTEGRATION_CONTENT_TYPE

__all__ = [
    "API_VERSION",
    "ERROR_BODY_TRAILER",
    "ERROR_TYPE_HEADER",
    "Invocation",
    "RuntimeApiClient",
    "RuntimeApiError",
]

API_VERSION = "2018-06-01"
"""Path prefix of the Runtime API."""
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
"""Header (and trailer) naming the error type."""
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
"""Trailer holding the base64 of the error document of a stream that failed."""
RESPONSE_MODE_HEADER = "Lambda-Runtime-Function-Response-Mode"
"""Request header announcing a streamed response."""
CONNECT_TIMEOUT_S = timeouts.RUNTIME_API_CONNECT_TIMEOUT_S
"""Timeout of the posts' connections (the next-invocation poll waits without limit)."""


class RuntimeApiError(Exception):
    """The Runtime API answered an unexpected status, or could not be reached."""


@dataclass(frozen=True)
class Invocation:
    """One invocation, as ``/invocation/next`` hands it out."""

    request_id: str
    """``Lambda-Runtime-Aws-Request-Id``."""
    headers: Mapping[str, str]
    """Every response header (deadline, function ARN, trace id, client context, identity)."""
    event: bytes
    """The event document (JSON)."""

    @property
    def trace_id(self) -> str | None:
        """``Lambda-Runtime-Trace-Id``: becomes ``_X_AMZN_TRACE_ID`` for the invocation."""
        return next((v for k, v in self.headers.items() if k.lower() == "lambda-runtime-trace-id"), None)


class RuntimeApiClient:
    """Calls the Runtime API at ``host:port`` (the value of ``AWS_LAMBDA_RUNTIME_API``)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._host = host or address
        self._port = int(port) if host and port else 80

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        connection.connect()
        if connection.sock is not None:  # every chunk leaves at once, not after the last one's ACK
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def next_invocation(self) -> Invocation:
        """Wait for the next invocation.

        Raises:
            RuntimeApiError: an answer other than 200, or no request id.
        """
        connection = self._connection(None)
        try:
            connection.request("GET", f"/{API_VERSION}/runtime/invocation/next")
            response = connection.getresponse()
            body = response.read()
            headers = dict(response.getheaders())
        finally:
            connection.close()
        request_id = next((v for k, v in headers.items() if k.lower() == "lambda-runtime-aws-request-id"), "")
        if response.status != 200 or not request_id:
            raise RuntimeApiError(f"invocation/next answered {response.status} without a usable invocation")
        return Invocation(request_id, headers, body)

    def post_error(self, request_id: str, report: ErrorReport) -> None:
        """Report an invocation that failed before its response began."""
        self._post(f"/{API_VERSION}/runtime/invocation/{request_id}/error", report)

    def post_init_error(self, report: ErrorReport) -> None:
        """Report a function that could not start (its handler does not import)."""
        self._post(f"/{API_VERSION}/runtime/init/error", report)

    def _post(self, path: str, report: ErrorReport) -> None:
        connection = self._connection(CONNECT_TIMEOUT_S)
        headers = {ERROR_TYPE_HEADER: report.error_type, "Content-Type": "application/json"}
        try:
            connection.request("POST", path, body=report.document(), headers=headers)
        except BaseException:
            connection.close()
            raise
        _accepted(connection, f"POST {path}")

    def stream_response(self, request_id: str, chunks: Iterator[bytes]) -> ErrorReport | None:
        """Send ``chunks`` (prelude first) as the invocation's streamed response, each as it comes.

        An exception raised by ``chunks`` ends the stream with the error trailers and is returned as
        a report (the invocation failed mid-stream).

        Raises:
            OSError: the connection to the Runtime API broke (the caller treats it as the client gone).
            RuntimeApiError: the Runtime API refused the response.
        """
        connection = self._connection(CONNECT_TIMEOUT_S)
        try:
            if connection.sock is not None:
                connection.sock.settimeout(None)  # a stream may be quiet for minutes between chunks
            connection.putrequest("POST", f"/{API_VERSION}/runtime/invocation/{request_id}/response")
            for name, value in {
                RESPONSE_MODE_HEADER: "streaming",
                "Transfer-Encoding": "chunked",
                "Content-Type": HTTP_INTEGRATION_CONTENT_TYPE,
                "Trailer": f"{ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}",
            }.items():
                connection.putheader(name, value)
            connection.endheaders()
            failure = _send_chunks(connection, chunks)
            connection.send(_last_chunk(failure))
        except BaseException:
            connection.close()
            raise
        _accepted(connection, f"the streamed response of {request_id}")
        return failure


def _accepted(connection: http.client.HTTPConnection, what: str) -> None:
    """Read the Runtime API's answer and close the connection.

    Raises:
        RuntimeApiError: an answer other than 202 Accepted.
    """
    try:
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 202:
        raise RuntimeApiError(f"{what} was answered {response.status}")


def _send_chunks(connection: http.client.HTTPConnection, chunks: Iterator[bytes]) -> ErrorReport | None:
    """Write each chunk as one HTTP chunk; an exception of ``chunks`` becomes the returned report."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return None
        except Exception as error:  # the handler's body failed: trailers, not a broken connection
            return report_of(error)
        if chunk:
            connection.send(b"%X\r\n%b\r\n" % (len(chunk), chunk))


def _last_chunk(failure: ErrorReport | None) -> bytes:
    """The terminating chunk, with the error trailers when the body failed."""
    if failure is None:
        return b"0\r\n\r\n"
    trailers: dict[str, Any] = {
        ERROR_TYPE_HEADER: failure.error_type,
        ERROR_BODY_TRAILER: base64.b64encode(failure.document()).decode("ascii"),
    }
    lines = "".join(f"{name}: {value}\r\n" for name, value in trailers.items())
    return b"0\r\n" + lines.encode("latin-1") + b"\r\n"
