"""``modelrouter route``: the decision for one request, without calling any model.

``--request`` is a chat request body (OpenAI JSON) or an API Gateway REST proxy event such as those in
``events/``: from an event, the body is read (base64-decoded when ``isBase64Encoded``), and the tenant
the authorizer resolved and the gateway's request id are the defaults of ``--tenant`` and
``--request-id``. What was read from an event is said on stderr, so ``--json`` output stays JSON.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrouter.cli.exits import EXIT_OK, EXIT_REJECTED
from modelrouter.errors import NoEligibleModelError

__all__ = ["EventFileError", "RequestFile", "add_parser", "read_request_file", "run"]


@dataclass(frozen=True, slots=True)
class RequestFile:
    """What ``--request`` held: the chat request body, and what an API Gateway event adds."""

    body: bytes
    """The chat request body."""
    tenant: str | None = None
    """The tenant the event's authorizer resolved (``requestContext.authorizer.tenant_id``)."""
    request_id: str | None = None
    """The event's ``requestContext.requestId``."""
    event: str | None = None
    """``METHOD /resource`` of the event it came from; ``None`` for a bare request."""


class EventFileError(Exception):
    """An API Gateway event without a usable body."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``route`` command to ``commands``."""
    route = commands.add_parser("route", help="decide a route for a request without calling any model")
    route.add_argument("--policy", required=True, type=Path, help="policy file (YAML or JSON)")
    route.add_argument(
        "--request",
        required=True,
        type=Path,
        help="chat request body (OpenAI JSON), or an API Gateway REST proxy event (events/*.json)",
    )
    route.add_argument("--tenant", help="tenant id (default: the event's tenant, else the policy's first)")
    route.add_argument(
        "--request-id",
        help="request id (default: the event's, else a new UUID); same id, same decision",
    )
    route.add_argument("--explain", action="store_true", help="show features, left-out models and notes")
    route.add_argument("--json", action="store_true", help="print the decision as JSON")
    return route


def read_request_file(raw: bytes) -> RequestFile:
    """The chat request in ``raw``: itself, or the body of the API Gateway event it is.

    Raises:
        EventFileError: an event without a body, or with a body that is not valid base64.
    """
    try:
        document: Any = json.loads(raw)
    except ValueError:  # not JSON: the request parser says so, with its own words
        return RequestFile(raw)
    if not isinstance(document, dict) or "httpMethod" not in document or "requestContext" not in document:
        return RequestFile(raw)
    event = f"{document['httpMethod']} {document.get('resource') or document.get('path') or '/'}"
    body = document.get("body")
    if not isinstance(body, str):
        raise EventFileError(f"the API Gateway event ({event}) has no body to route")
    data = body.encode("utf-8", "surrogatepass")
    if document.get("isBase64Encoded") is True:
        try:
            data = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise EventFileError(f"the API Gateway event's body ({event}) is not valid base64") from None
    tenant = _text(document, "requestContext", "authorizer", "tenant_id")
    return RequestFile(data, tenant, _text(document, "requestContext", "requestId"), event)


def _text(document: Any, *keys: str) -> str | None:
    """The string at ``keys`` in nested mappings, or ``None``."""
    for key in keys:
        document = document.get(key) if isinstance(document, dict) else None
    return document if isinstance(document, str) else None


def run(args: argparse.Namespace) -> int:
    """Decide and print the route for ``args.request``; returns the exit code.

    Raises:
        PolicyError: the policy is invalid.
        InvalidRequestError: the request is invalid.
        ModelRouterError: the request is refused (unknown tenant, a model it may not pin, ...).
    """
    from modelrouter.cli.render import render_decision, table
    from modelrouter.policy.artifacts import load_local_routers, load_local_topics
    from modelrouter.policy.loader import load_policy_file
    from modelrouter.request import parse_chat_request
    from modelrouter.selection import RequestContext, decide

    loaded = load_policy_file(args.policy)
    routers = load_local_routers(loaded.policy, args.policy)
    topics = load_local_topics(loaded.policy, args.policy)
    try:
        read = read_request_file(args.request.read_bytes())
    except OSError as error:
        print(f"{args.request}: cannot read request: {error.strerror or error}", file=sys.stderr)
        return EXIT_REJECTED
    except EventFileError as error:
        print(f"error: {args.request}: {error}", file=sys.stderr)
        return EXIT_REJECTED
    request = parse_chat_request(read.body)
    tenant = args.tenant or read.tenant or loaded.policy.tenants[0].id
    request_id = args.request_id or read.request_id or str(uuid.uuid4())
    if read.event is not None:
        print(_what_was_read(read, args), file=sys.stderr)
    context = RequestContext.from_metadata(request_id, tenant, request.metadata)
    try:
        decision = decide(
            loaded.policy,
            request,
            context,
            policy_version=loaded.digest,
            routers=routers,
            topics=topics,
            explain=args.explain,
        )
    except NoEligibleModelError as error:
        print(
            f"error: no_eligible_model: no model of route '{error.route}' may serve this request",
            file=sys.stderr,
        )
        rows = [(item.model, item.reason, item.detail) for item in error.exclusions]
        print(table(["model", "reason", "detail"], rows), file=sys.stderr)
        return EXIT_REJECTED
    if args.json:
        print(json.dumps(decision.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(render_decision(decision, explain=args.explain))
    return EXIT_OK


def _what_was_read(read: RequestFile, args: argparse.Namespace) -> str:
    """One line on what came from the event: its body, and the tenant and request id where used."""
    taken = []
    if args.tenant is None and read.tenant is not None:
        taken.append(f"tenant {read.tenant}")
    if args.request_id is None and read.request_id is not None:
        taken.append(f"request id {read.request_id}")
    also = f"; {' and '.join(taken)} from its requestContext" if taken else ""
    return f"read the body of an API Gateway event ({read.event}){also}"
