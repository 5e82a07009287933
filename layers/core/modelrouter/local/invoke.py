"""``modelrouter invoke``: one ``events/`` file through its handler on the embedded AWS.

The Docker-free twin of ``sam local invoke``: REST API proxy events (payload 1.0) go to the router
handler as they are, REQUEST authorizer events (``type: REQUEST`` with a ``methodArn``) to the
authorizer. An authorizer event's ``{{api_key}}`` placeholder becomes a real key of the policy's first
tenant — one revoked just before for an event file named ``*revoked*`` (``events/authorizer/
revoked-key.json``), so that it shows the ``Deny``. A streamed router response is read to its end:
its prelude's status and headers, and its body (JSON parsed for reading, anything else, such as
server-sent events, as text).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from modelrouter.lambda_runtime import StreamingResponse
from modelrouter.local.stack import LocalStack

__all__ = ["API_KEY_PLACEHOLDER", "EventFileError", "event_kind", "invoke_event"]

API_KEY_PLACEHOLDER = "{{api_key}}"
"""Replaced by a real API key in authorizer events."""


class EventFileError(ValueError):
    """The file is not an API Gateway REST API event (proxy or REQUEST authorizer)."""


def event_kind(event: Any) -> str:
    """``router`` or ``authorizer``.

    Raises:
        EventFileError: naming what is missing.
    """
    if not isinstance(event, dict):
        raise EventFileError("not an API Gateway event: expected a JSON object")
    if event.get("type") == "REQUEST":
        if not isinstance(event.get("methodArn"), str):
            raise EventFileError("not a REST API REQUEST authorizer event: no 'methodArn'")
        return "authorizer"
    if event.get("version") == "2.0":
        raise EventFileError(
            "an HTTP API (payload 2.0) event: the router is behind a REST API now; "
            "events are Lambda proxy events (payload 1.0) with 'httpMethod', 'path' and 'requestContext'"
        )
    for name in ("httpMethod", "path"):
        if not isinstance(event.get(name), str):
            raise EventFileError(f"not an API Gateway REST API proxy event: no '{name}'")
    if not isinstance(event.get("requestContext"), dict):
        raise EventFileError("not an API Gateway REST API proxy event: no 'requestContext'")
    return "router"


def invoke_event(stack: LocalStack, event: Any, *, revoked_key: bool = False) -> dict[str, Any]:
    """The handler's response to ``event``: a router's as ``{statusCode, headers, body}`` with a JSON
    body parsed for reading; ``revoked_key``: an authorizer event gets a key that was revoked."""
    if event_kind(event) == "authorizer":
        token = next(iter(stack.api_keys.values()), "")
        if revoked_key:
            token = _revoked_key(stack)
        text = json.dumps(event).replace(API_KEY_PLACEHOLDER, token)
        return stack.invoke_authorizer(json.loads(text))
    response = _read(stack.invoke_router(event))
    body = response.get("body")
    headers = {str(name).lower(): str(value) for name, value in (response.get("headers") or {}).items()}
    if isinstance(body, str) and "json" in headers.get("content-type", "") and body:
        response = {**response, "body": json.loads(body)}
    return response


def _revoked_key(stack: LocalStack) -> str:
    """A new key of the policy's first tenant, revoked at once (to show a refusal)."""
    from modelrouter.keys import KeyStore

    assert stack.resources is not None
    keys = KeyStore(stack.resources.tables["ApiKeyTable"], client=stack.client("dynamodb"))
    created = keys.create(next(iter(stack.api_keys), "local"), "revoked by modelrouter invoke")
    keys.revoke(created.key_id)
    return created.token


def _read(response: dict[str, Any] | StreamingResponse) -> dict[str, Any]:
    """A streamed response read whole, as a buffered one (the body as text)."""
    if not isinstance(response, StreamingResponse):
        if response.get("isBase64Encoded") and isinstance(response.get("body"), str):
            return {**response, "body": base64.b64decode(response["body"]).decode("utf-8", "replace")}
        return response
    body = response.read_all().decode("utf-8", "replace")
    return {"statusCode": response.status_code, "headers": dict(response.headers), "body": body}
