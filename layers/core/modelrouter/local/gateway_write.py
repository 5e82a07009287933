"""Writing the local API Gateway's answers to its HTTP client: a complete body with its length, or a
Lambda stream as HTTP/1.1 chunks, each flushed as it comes, the function told to stop (``close()``)
when the client goes away."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.gateway_template import GatewayReply
from modelrouter.local.http_chunks import hung_up, write_chunked

__all__ = ["write_response"]


def write_response(handler: BaseHTTPRequestHandler, reply: GatewayReply | StreamingResponse) -> bool:
    """Write ``reply``; False when the connection must be closed (the client left, or a stream broke)."""
    if not isinstance(reply, StreamingResponse):
        status, headers, body = reply
        try:
            _head(handler, status, {**headers, "content-length": str(len(body))})
            handler.wfile.write(body)
        except OSError:
            return False
        return True
    try:
        return _stream(handler, reply)
    finally:
        reply.close()  # harmless after the end; stops the function when the client left or it broke


def _head(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], cookies: list[str] | None = None
) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    for cookie in cookies or ():
        handler.send_header("set-cookie", cookie)
    handler.end_headers()


def _stream(handler: BaseHTTPRequestHandler, response: StreamingResponse) -> bool:
    headers = {str(name).lower(): str(value) for name, value in response.headers.items()}
    headers.pop("content-length", None)
    headers.setdefault("content-type", "application/json")
    headers["transfer-encoding"] = "chunked"
    try:
        _head(handler, response.status_code, headers, response.cookies)
        handler.wfile.flush()
    except OSError:
        return False
    return write_chunked(handler.wfile, response.chunks(), lambda: hung_up(handler.connection))
