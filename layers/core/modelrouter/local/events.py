"""HTTP requests as API Gateway HTTP API (payload 2.0) events, the way API Gateway builds them.

Local mode turns each HTTP request into a request-authorizer event, then, once authorized, into the
route's proxy event carrying the authorizer's context — so the Lambda handlers see what they would see
behind API Gateway.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["API_ID", "authorizer_event", "proxy_event"]

API_ID = "local"
"""The API id local events carry."""
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


def _context(method: str, path: str, source_ip: str, user_agent: str, request_id: str) -> dict[str, Any]:
    now = time.time()
    return {
        "accountId": "000000000000",
        "apiId": API_ID,
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": user_agent,
        },
        "requestId": request_id,
        "routeKey": f"{method} {path}",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }


def proxy_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    authorizer_context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The proxy event of one request (header names lower-cased, text bodies as text)."""
    path, _, query = raw_path.partition("?")
    lowered = {name.lower(): value for name, value in headers.items()}
    request_id = request_id or uuid.uuid4().hex
    context = _context(method, path, source_ip, lowered.get("user-agent", ""), request_id)
    if authorizer_context is not None:
        context["authorizer"] = {"lambda": authorizer_context}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        event["body"], event["isBase64Encoded"] = _encoded_body(body, lowered.get("content-type", ""))
    return event


def _encoded_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """Text bodies as text, anything else base64 (as API Gateway does)."""
    if not content_type or content_type.startswith(_TEXT_TYPES):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _route_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:us-east-1:000000000000:{API_ID}/$default/{method}{path}"


def authorizer_event(proxy: dict[str, Any], identity_header: str = "authorization") -> dict[str, Any]:
    """The request-authorizer event API Gateway sends before ``proxy`` (payload 2.0)."""
    context = dict(proxy["requestContext"])
    context.pop("authorizer", None)
    identity = proxy["headers"].get(identity_header)
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": _route_arn(context["http"]["method"], proxy["rawPath"]),
        "identitySource": [identity] if identity else [],
        "routeKey": proxy["routeKey"],
        "rawPath": proxy["rawPath"],
        "rawQueryString": proxy["rawQueryString"],
        "headers": dict(proxy["headers"]),
        "requestContext": context,
    }
