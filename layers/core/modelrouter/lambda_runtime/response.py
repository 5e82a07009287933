"""What a streaming Lambda handler returns, and the bytes Lambda expects for it.

API Gateway REST APIs with ``responseTransferMode: STREAM`` (and Lambda function URLs in
``RESPONSE_STREAM`` mode) invoke the function with ``InvokeWithResponseStream`` and read its response as
an *HTTP integration response*: a JSON prelude (``statusCode``, ``headers``, ``multiValueHeaders``,
``cookies``), eight NUL bytes, then the body bytes as the function writes them. The content type of the
whole thing, as sent to the Runtime API, is :data:`HTTP_INTEGRATION_CONTENT_TYPE`.

A handler returns a :class:`StreamingResponse`; whoever runs it (the Lambda runtime loop in
:mod:`modelrouter.lambda_runtime.loop`, local mode's containers, tests) writes :meth:`prelude` and then
each body chunk as it is produced, and calls :meth:`close` when it stops early (the client went away):
the body generator's ``finally`` then stops the model call and settles the request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HTTP_INTEGRATION_CONTENT_TYPE",
    "PRELUDE_DELIMITER",
    "StreamingResponse",
    "split_prelude",
]

HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
"""Content type of a streamed HTTP integration response (prelude, delimiter, body)."""
PRELUDE_DELIMITER = b"\x00" * 8
"""Separates the JSON prelude from the body."""


@dataclass
class StreamingResponse:
    """An HTTP response whose body is produced while it is being sent."""

    status_code: int
    """HTTP status."""
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers (content type included)."""
    body: Iterable[bytes] = ()
    """The body, chunk by chunk: a ``bytes`` tuple for a complete body, a generator for a stream."""
    cookies: list[str] = field(default_factory=list)
    """``Set-Cookie`` values (none today; part of the prelude format)."""

    @classmethod
    def from_proxy(cls, response: dict[str, Any]) -> StreamingResponse:
        """A buffered Lambda proxy response (``statusCode``, ``headers``, ``multiValueHeaders``,
        ``body``, ``isBase64Encoded``) as a one-chunk streaming response.

        Multi-value headers are joined with ``", "``, except ``Set-Cookie`` which becomes ``cookies``.
        """
        headers = {str(name): str(value) for name, value in (response.get("headers") or {}).items()}
        cookies = [str(value) for value in response.get("cookies") or []]
        for name, values in (response.get("multiValueHeaders") or {}).items():
            if str(name).lower() == "set-cookie":
                cookies.extend(str(value) for value in values)
            else:
                headers[str(name)] = ", ".join(str(value) for value in values)
        body = response.get("body") or ""
        if isinstance(body, str):
            data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
        else:
            data = bytes(body)
        return cls(int(response["statusCode"]), headers, (data,) if data else (), cookies)

    def prelude(self) -> bytes:
        """The JSON prelude and its delimiter: the first bytes written."""
        document: dict[str, Any] = {"statusCode": self.status_code, "headers": self.headers}
        if self.cookies:
            document["cookies"] = self.cookies
        return json.dumps(document, separators=(",", ":")).encode() + PRELUDE_DELIMITER

    def chunks(self) -> Iterator[bytes]:
        """The body's non-empty chunks, in order."""
        for chunk in self.body:
            if chunk:
                yield chunk

    def close(self) -> None:
        """Stop producing the body (the client went away); harmless when it already ended."""
        closer = getattr(self.body, "close", None)
        if callable(closer):
            closer()

    def read_all(self) -> bytes:
        """The whole body (tests, buffered callers); the body is consumed."""
        try:
            return b"".join(self.chunks())
        finally:
            self.close()


def split_prelude(data: bytes) -> tuple[dict[str, Any], bytes]:
    """``(prelude, rest)`` of a streamed HTTP integration response's bytes.

    Raises:
        ValueError: no delimiter, or a prelude that is not a JSON object.
    """
    head, found, rest = data.partition(PRELUDE_DELIMITER)
    if not found:
        raise ValueError("no prelude delimiter (8 NUL bytes) in the response")
    prelude = json.loads(head)
    if not isinstance(prelude, dict):
        raise ValueError("the prelude is not a JSON object")
    return prelude, rest
