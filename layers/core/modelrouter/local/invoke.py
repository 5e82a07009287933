"""``modelrouter invoke``: one ``events/`` file through its handler on the embedded AWS.

The Docker-free twin of ``sam local invoke``: router events (payload 2.0 proxy events) go to the
router handler as they are, authorizer events (``type: REQUEST``) to the authorizer. An authorizer
event's ``{{api_key}}`` placeholder becomes a real key of the policy's first tenant.
"""

from __future__ import annotations

import json
from typing import Any

from modelrouter.local.stack import LocalStack

__all__ = ["API_KEY_PLACEHOLDER", "EventFileError", "event_kind", "invoke_event"]

API_KEY_PLACEHOLDER = "{{api_key}}"
"""Replaced by a real API key in authorizer events."""


class EventFileError(ValueError):
    """The file is not an API Gateway HTTP API (payload 2.0) event."""


def event_kind(event: Any) -> str:
    """``router`` or ``authorizer``.

    Raises:
        EventFileError: naming what is missing.
    """
    if not isinstance(event, dict):
        raise EventFileError("not an API Gateway event: expected a JSON object")
    if event.get("version") != "2.0":
        raise EventFileError(
            "not an API Gateway HTTP API event: 'version' must be \"2.0\" (payload format 2.0)"
        )
    context = event.get("requestContext")
    if not isinstance(context, dict) or not isinstance(context.get("http"), dict):
        raise EventFileError("not an API Gateway HTTP API event: no 'requestContext.http'")
    if not isinstance(event.get("rawPath"), str):
        raise EventFileError("not an API Gateway HTTP API event: no 'rawPath'")
    return "authorizer" if event.get("type") == "REQUEST" else "router"


def invoke_event(stack: LocalStack, event: Any) -> dict[str, Any]:
    """The handler's response to ``event``, with a JSON body parsed for reading."""
    if event_kind(event) == "authorizer":
        token = next(iter(stack.api_keys.values()), "")
        text = json.dumps(event).replace(API_KEY_PLACEHOLDER, token)
        return stack.invoke_authorizer(json.loads(text))
    response = stack.invoke_router(event)
    body = response.get("body")
    headers = {str(name).lower(): str(value) for name, value in (response.get("headers") or {}).items()}
    if isinstance(body, str) and "json" in headers.get("content-type", ""):
        response = {**response, "body": json.loads(body)}
    return response
