"""HTTP requests as API Gateway REST API events (Lambda proxy, payload 1.0), the way API Gateway builds
them.

Local mode turns each HTTP request into a REQUEST authorizer event, then, once authorized, into the
method's proxy event whose ``requestContext.authorizer`` is the authorizer's ``principalId`` and
context — so the Lambda handlers see what they would see behind the REST API. Headers keep the case the
client sent (``headers`` holds each one's last value, ``multiValueHeaders`` all of them); ``path`` and
``resource`` are the resource path without the stage, ``requestContext.path`` the full one.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["ACCOUNT_ID", "API_ID", "REGION", "STAGE", "authorizer_event", "method_arn", "proxy_event"]

API_ID = "local"
"""The API id local events carry."""
ACCOUNT_ID = "000000000000"
"""The account id local events carry."""
REGION = "us-east-1"
"""The region of local ARNs."""
STAGE = "api"
"""The stage: clients call ``<url>/api/v1/…``."""
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")

Headers = Mapping[str, str] | Sequence[tuple[str, str]]
"""Request headers: a mapping, or ``(name, value)`` pairs (a name may repeat)."""


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _multi(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return multi


def _header(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in reversed(pairs) if key.lower() == name), None)


def method_arn(method: str, resource_path: str) -> str:
    """The ARN of one method of the local API's stage (what an authorizer's policy allows or denies)."""
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{resource_path}"


def _context(
    method: str, path: str, pairs: Sequence[tuple[str, str]], source_ip: str, request_id: str
) -> dict[str, Any]:
    now = time.time()
    return {
        "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, path).hex[:6],
        "resourcePath": path,
        "httpMethod": method,
        "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode(),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "path": f"/{STAGE}{path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": STAGE,
        "domainPrefix": API_ID,
        "requestTimeEpoch": int(now * 1000),
        "requestId": request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": _header(pairs, "user-agent") or "",
            "user": None,
        },
        "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "apiId": API_ID,
    }


def proxy_event(
    method: str,
    resource_path: str,
    headers: Headers,
    body: bytes,
    *,
    query: str = "",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    authorizer: dict[str, Any] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The proxy event of one request to ``resource_path`` (the path without the stage).

    ``authorizer``: what goes into ``requestContext.authorizer`` (``principalId`` and the context).
    ``resource``: the template's resource path when it has parameters (``/v1/models/{model}``), whose
    values are ``path_parameters``; by default the path itself.
    """
    pairs = _pairs(headers)
    parameters = parse_qsl(query, keep_blank_values=True)
    context = _context(method, resource_path, pairs, source_ip, request_id or str(uuid.uuid4()))
    context["resourcePath"] = resource or resource_path
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "resource": resource or resource_path,
        "path": resource_path,
        "httpMethod": method,
        "headers": dict(pairs),
        "multiValueHeaders": _multi(pairs),
        "queryStringParameters": dict(parameters) if parameters else None,
        "multiValueQueryStringParameters": _multi(parameters) if parameters else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": context,
        "body": None,
        "isBase64Encoded": False,
    }
    if body:
        event["body"], event["isBase64Encoded"] = _encoded_body(body, _header(pairs, "content-type") or "")
    return event


def _encoded_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """Text bodies as text, anything else base64."""
    if not content_type or content_type.startswith(_TEXT_TYPES):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def authorizer_event(proxy: dict[str, Any]) -> dict[str, Any]:
    """The REQUEST authorizer event API Gateway sends before ``proxy``."""
    context = dict(proxy["requestContext"])
    context.pop("authorizer", None)
    return {
        "type": "REQUEST",
        "methodArn": method_arn(proxy["httpMethod"], proxy["resource"]),
        "resource": proxy["resource"],
        "path": proxy["path"],
        "httpMethod": proxy["httpMethod"],
        "headers": dict(proxy["headers"]),
        "multiValueHeaders": dict(proxy["multiValueHeaders"]),
        "queryStringParameters": dict(proxy["queryStringParameters"] or {}),
        "multiValueQueryStringParameters": dict(proxy["multiValueQueryStringParameters"] or {}),
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": context,
    }
